package jsonapi_test

import (
	"net/http"
	"testing"

	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestConfigurationSettingsMergePatch checks that PATCH treats settings as
// a JSON merge patch (RFC 7396): absent keys stay, null removes a key, a
// value sets it.
func TestConfigurationSettingsMergePatch(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			d := data(t, f.do(t, "POST", "/api/v1/configurations", f.a.me, resourceDoc("configurations", "", map[string]any{
				"name": "Merge", "settings": map[string]any{"reporting_interval_s": 60, "temperature_log_interval_s": 300, "shock_threshold_g": 1.5},
			}, nil)).doc(t, http.StatusCreated))
			id := d["id"].(string)
			patch := func(settings any) response {
				return f.do(t, "PATCH", "/api/v1/configurations/"+id, f.a.me, resourceDoc("configurations", id,
					map[string]any{"settings": settings}, nil))
			}
			t.Run("OK", func(t *testing.T) {
				s := attrs(data(t, patch(map[string]any{"shock_threshold_g": 2.5, "temperature_log_interval_s": nil}).doc(t, http.StatusOK)))["settings"].(map[string]any)
				if len(s) != 2 || s["reporting_interval_s"] != 60.0 || s["shock_threshold_g"] != 2.5 {
					t.Fatalf("settings after merge %v", s)
				}
				got := attrs(data(t, f.do(t, "GET", "/api/v1/configurations/"+id, f.a.me, nil).doc(t, http.StatusOK)))["settings"].(map[string]any)
				if len(got) != 2 || got["reporting_interval_s"] != 60.0 || got["shock_threshold_g"] != 2.5 {
					t.Fatalf("stored settings %v", got)
				}
			})
			t.Run("EmptyKeepsAll", func(t *testing.T) {
				s := attrs(data(t, patch(map[string]any{}).doc(t, http.StatusOK)))["settings"].(map[string]any)
				if len(s) != 2 {
					t.Fatalf("settings after {} %v", s)
				}
			})
			t.Run("ErrInvalid", func(t *testing.T) {
				e := patch(map[string]any{"reporting_interval_s": 5}).errorOf(t, 422)
				if source(e, "pointer") != "/data/attributes/settings/reporting_interval_s" {
					t.Fatalf("error %v", e)
				}
				e = patch(map[string]any{"shock_threshold_g": "high"}).errorOf(t, 422)
				if source(e, "pointer") != "/data/attributes/settings/shock_threshold_g" {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("ErrConflict", func(t *testing.T) {
				f.do(t, "POST", "/api/v1/configurations/"+id+"/publish", f.a.me, nil).doc(t, http.StatusOK)
				patch(map[string]any{"shock_threshold_g": nil}).errorOf(t, 409)
			})
		})
	}
}
