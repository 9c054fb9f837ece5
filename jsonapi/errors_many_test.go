package jsonapi_test

import (
	"net/http"
	"testing"

	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestEveryInvalidAttribute checks that a body with several invalid
// attributes is answered with one error object per attribute, each with
// its own pointer.
func TestEveryInvalidAttribute(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			pointers := func(t *testing.T, r response) []string {
				t.Helper()
				doc := validateDocument(t, r.body)
				var out []string
				for _, e := range doc["errors"].([]any) {
					e := e.(map[string]any)
					if e["status"] != "422" || e["code"] != "Invalid" {
						t.Fatalf("error %v", e)
					}
					p, _ := source(e, "pointer").(string)
					out = append(out, p)
				}
				if r.status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return out
			}
			same := func(t *testing.T, got []string, want ...string) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("pointers %v, want %v", got, want)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("pointers %v, want %v", got, want)
					}
				}
			}
			t.Run("Device", func(t *testing.T) {
				r := f.do(t, "POST", "/api/v1/devices", f.a.app, resourceDoc("devices", "", map[string]any{
					"name": " ", "imei": "123", "mac": "zz", "latitude": 100.0, "longitude": 0.0}, nil))
				same(t, pointers(t, r), "/data/attributes/name", "/data/attributes/imei", "/data/attributes/mac", "/data/attributes/latitude")
			})
			t.Run("DeviceGroup", func(t *testing.T) {
				draft := data(t, f.do(t, "POST", "/api/v1/configurations", f.a.me, resourceDoc("configurations", "",
					map[string]any{"name": "Draft"}, nil)).doc(t, http.StatusCreated))["id"].(string)
				r := f.do(t, "PATCH", "/api/v1/device-groups/"+f.a.group.ID, f.a.app, resourceDoc("device-groups", f.a.group.ID, map[string]any{"name": ""},
					map[string]any{"configuration": linkage("configurations", draft)}))
				same(t, pointers(t, r), "/data/attributes/name", "/data/relationships/configuration")
				r = f.do(t, "PATCH", "/api/v1/device-groups/"+f.a.group.ID, f.a.app, resourceDoc("device-groups", f.a.group.ID, map[string]any{"name": ""},
					map[string]any{"configuration": linkage("configurations", f.a.config.ID)}))
				same(t, pointers(t, r), "/data/attributes/name")
			})
			t.Run("Configuration", func(t *testing.T) {
				r := f.do(t, "POST", "/api/v1/configurations", f.a.me, resourceDoc("configurations", "", map[string]any{
					"name": "", "settings": map[string]any{"reporting_interval_s": 5, "shock_threshold_g": 500}}, nil))
				same(t, pointers(t, r), "/data/attributes/name", "/data/attributes/settings/reporting_interval_s", "/data/attributes/settings/shock_threshold_g")
			})
			t.Run("Settings", func(t *testing.T) {
				r := f.do(t, "POST", "/api/v1/configurations", f.a.me, resourceDoc("configurations", "", map[string]any{
					"name": "x", "settings": map[string]any{"reporting_interval_s": "often", "colour": 1}}, nil))
				same(t, pointers(t, r), "/data/attributes/settings/colour", "/data/attributes/settings/reporting_interval_s")
			})
			t.Run("Application", func(t *testing.T) {
				r := f.do(t, "POST", "/api/v1/applications", f.a.me, resourceDoc("applications", "", map[string]any{
					"name": "", "redirect_uris": []any{"not a uri"}}, nil))
				if got := pointers(t, r); len(got) < 2 {
					t.Fatalf("pointers %v, want at least 2", got)
				}
			})
		})
	}
}
