package jsonapi_test

import (
	"net/http"
	"testing"

	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestDeviceGroupsAndConfigurations(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			var draft, group string
			t.Run("CreateDraft", func(t *testing.T) {
				res := f.do(t, "POST", "/api/v1/configurations", f.a.me, resourceDoc("configurations", "", map[string]any{
					"name": "Cold chain", "settings": map[string]any{"reporting_interval_s": 60, "shock_threshold_g": 1.5},
				}, nil))
				d := data(t, res.doc(t, http.StatusCreated))
				draft = d["id"].(string)
				a := attrs(d)
				s := a["settings"].(map[string]any)
				if a["state"] != "draft" || a["published_at"] != nil || s["reporting_interval_s"] != 60.0 || s["shock_threshold_g"] != 1.5 {
					t.Fatalf("draft %v", a)
				}
			})
			t.Run("ErrSettingOutOfRange", func(t *testing.T) {
				e := f.do(t, "PATCH", "/api/v1/configurations/"+draft, f.a.me, resourceDoc("configurations", draft,
					map[string]any{"settings": map[string]any{"reporting_interval_s": 5}}, nil)).errorOf(t, 422)
				if source(e, "pointer") != "/data/attributes/settings/reporting_interval_s" {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("ErrUnknownSetting", func(t *testing.T) {
				e := f.do(t, "PATCH", "/api/v1/configurations/"+draft, f.a.me, resourceDoc("configurations", draft,
					map[string]any{"settings": map[string]any{"colour": 5}}, nil)).errorOf(t, 422)
				if source(e, "pointer") != "/data/attributes/settings/colour" {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("PatchSettingsNullClears", func(t *testing.T) {
				d := data(t, f.do(t, "PATCH", "/api/v1/configurations/"+draft, f.a.me, resourceDoc("configurations", draft,
					map[string]any{"settings": nil}, nil)).doc(t, http.StatusOK))
				if s := attrs(d)["settings"].(map[string]any); len(s) != 0 || attrs(d)["name"] != "Cold chain" {
					t.Fatalf("after null settings %v", attrs(d))
				}
			})
			t.Run("CreateGroup", func(t *testing.T) {
				d := data(t, f.do(t, "POST", "/api/v1/device-groups", f.a.app, resourceDoc("device-groups", "",
					map[string]any{"name": "Trucks"}, nil)).doc(t, http.StatusCreated))
				group = d["id"].(string)
			})
			rel := "/api/v1/device-groups/" + "%s" + "/relationships/configuration"
			relOf := func(id string) string { return sprintf(rel, id) }
			t.Run("ErrAssignDraft", func(t *testing.T) {
				e := f.do(t, "PATCH", relOf(group), f.a.app, linkage("configurations", draft)).errorOf(t, 422)
				if source(e, "pointer") != "/data" {
					t.Fatalf("error %v", e)
				}
				doc := f.do(t, "GET", relOf(group), f.a.basic, nil).doc(t, http.StatusOK)
				if doc["data"] != nil {
					t.Fatalf("a refused assignment was written: %v", doc)
				}
			})
			t.Run("ErrCreateGroupWithDraft", func(t *testing.T) {
				before := groupTotal(t, f)
				e := f.do(t, "POST", "/api/v1/device-groups", f.a.app, resourceDoc("device-groups", "", map[string]any{"name": "X"},
					map[string]any{"configuration": linkage("configurations", draft)})).errorOf(t, 422)
				if source(e, "pointer") != "/data/relationships/configuration" || groupTotal(t, f) != before {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("Publish", func(t *testing.T) {
				d := data(t, f.do(t, "POST", "/api/v1/configurations/"+draft+"/publish", f.a.app, nil).doc(t, http.StatusOK))
				if attrs(d)["state"] != "published" || attrs(d)["published_at"] == nil {
					t.Fatalf("published %v", attrs(d))
				}
				f.do(t, "POST", "/api/v1/configurations/"+draft+"/publish", f.a.app, nil).errorOf(t, http.StatusConflict)
			})
			t.Run("ErrPublishedReadOnly", func(t *testing.T) {
				f.do(t, "PATCH", "/api/v1/configurations/"+draft, f.a.app, resourceDoc("configurations", draft,
					map[string]any{"name": "Renamed"}, nil)).errorOf(t, http.StatusConflict)
				f.do(t, "DELETE", "/api/v1/configurations/"+draft, f.a.app, nil).errorOf(t, http.StatusConflict)
			})
			t.Run("Assign", func(t *testing.T) {
				doc := f.do(t, "PATCH", relOf(group), f.a.app, linkage("configurations", draft)).doc(t, http.StatusOK)
				if data(t, doc)["id"] != draft || doc["links"].(map[string]any)["related"] == nil {
					t.Fatalf("assigned %v", doc)
				}
				doc = f.do(t, "GET", "/api/v1/device-groups/"+group+"?include=configuration", f.a.basic, nil).doc(t, http.StatusOK)
				if keys := includedKeys(doc); len(keys) != 1 || keys[0] != "configurations/"+draft {
					t.Fatalf("included %v", keys)
				}
			})
			t.Run("ListFiltersAndIncludes", func(t *testing.T) {
				doc := f.do(t, "GET", "/api/v1/device-groups?filter[name]=Trucks&include=configuration", f.a.basic, nil).doc(t, http.StatusOK)
				if got := ids(doc); len(got) != 1 || got[0] != group || len(includedKeys(doc)) != 1 {
					t.Fatalf("filtered groups %v", doc)
				}
				doc = f.do(t, "GET", "/api/v1/configurations?filter[state]=published&sort=-name", f.a.basic, nil).doc(t, http.StatusOK)
				if got := ids(doc); !sameSet(got, []string{draft, f.a.config.ID}) {
					t.Fatalf("published configurations %v", got)
				}
				e := f.do(t, "GET", "/api/v1/configurations?filter[state]=gone", f.a.basic, nil).errorOf(t, 400)
				if source(e, "parameter") != "filter[state]" {
					t.Fatalf("error %v", e)
				}
				e = f.do(t, "GET", "/api/v1/configurations?include=groups", f.a.basic, nil).errorOf(t, 400)
				if source(e, "parameter") != "include" {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("ErrDeleteAssigned", func(t *testing.T) {
				f.do(t, "DELETE", "/api/v1/configurations/"+draft, f.a.app, nil).errorOf(t, http.StatusConflict)
			})
			t.Run("Unassign", func(t *testing.T) {
				d := data(t, f.do(t, "PATCH", "/api/v1/device-groups/"+group, f.a.me, resourceDoc("device-groups", group, nil,
					map[string]any{"configuration": linkage("", "")})).doc(t, http.StatusOK))
				if d["relationships"].(map[string]any)["configuration"].(map[string]any)["data"] != nil {
					t.Fatalf("unassigned %v", d)
				}
			})
			t.Run("ErrBasicCannotWrite", func(t *testing.T) {
				res := f.do(t, "DELETE", "/api/v1/device-groups/"+group, f.a.basic, nil)
				res.errorOf(t, http.StatusForbidden)
				if h := res.header.Get("WWW-Authenticate"); h == "" {
					t.Fatal("no insufficient_scope challenge")
				}
			})
			t.Run("Delete", func(t *testing.T) {
				if res := f.do(t, "DELETE", "/api/v1/device-groups/"+group, f.a.app, nil); res.status != http.StatusNoContent {
					t.Fatalf("delete: %d %s", res.status, res.body)
				}
				f.do(t, "GET", "/api/v1/device-groups/"+group, f.a.app, nil).errorOf(t, http.StatusNotFound)
			})
		})
	}
}
