package jsonapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestDevices(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			testDeviceCRUD(t, f)
			testDeviceGroupRelationship(t, f)
			testDeviceBodies(t, f)
		})
	}
}

func testDeviceCRUD(t *testing.T, f *fixture) {
	var id string
	t.Run("Create", func(t *testing.T) {
		imei := storagetest.NewIMEI()
		res := f.do(t, "POST", "/api/v1/devices?include=group", f.a.app, resourceDoc("devices", "", map[string]any{
			"name": "Pump 1", "imei": imei, "mac": "aa:bb:cc:dd:ee:ff", "latitude": 52.5, "longitude": 13.4, "fault": true,
		}, map[string]any{"group": linkage("device-groups", f.a.group.ID)}))
		doc := res.doc(t, http.StatusCreated)
		d := data(t, doc)
		id = d["id"].(string)
		self := "https://api.example.com/api/v1/devices/" + id
		if res.header.Get("Location") != self || d["links"].(map[string]any)["self"] != self {
			t.Fatalf("Location %q, links %v; want %s", res.header.Get("Location"), d["links"], self)
		}
		a := attrs(d)
		if a["mac"] != "AA:BB:CC:DD:EE:FF" || a["imei"] != imei || a["fault"] != true || a["last_event_at"] != nil {
			t.Fatalf("attributes %v", a)
		}
		if !strings.HasSuffix(a["created_at"].(string), "Z") {
			t.Fatalf("created_at %v is not RFC 3339 UTC", a["created_at"])
		}
		rel := d["relationships"].(map[string]any)["group"].(map[string]any)
		if rel["data"].(map[string]any)["id"] != f.a.group.ID {
			t.Fatalf("group linkage %v", rel)
		}
		if inc := doc["included"].([]any); len(inc) != 1 || inc[0].(map[string]any)["id"] != f.a.group.ID {
			t.Fatalf("included %v", doc["included"])
		}
	})
	t.Run("Read", func(t *testing.T) {
		doc := f.do(t, "GET", "/api/v1/devices/"+id, f.a.basic, nil).doc(t, http.StatusOK)
		if data(t, doc)["id"] != id || doc["included"] != nil {
			t.Fatalf("read %v", doc)
		}
	})
	t.Run("PatchOmittedStays", func(t *testing.T) {
		doc := f.do(t, "PATCH", "/api/v1/devices/"+id, f.a.me, resourceDoc("devices", id, map[string]any{"name": "Pump 2"}, nil)).doc(t, http.StatusOK)
		a := attrs(data(t, doc))
		if a["name"] != "Pump 2" || a["mac"] != "AA:BB:CC:DD:EE:FF" || a["latitude"] != 52.5 {
			t.Fatalf("attributes %v", a)
		}
	})
	t.Run("PatchNullClears", func(t *testing.T) {
		doc := f.do(t, "PATCH", "/api/v1/devices/"+id, f.a.me, resourceDoc("devices", id,
			map[string]any{"mac": nil, "latitude": nil, "longitude": nil}, map[string]any{"group": linkage("", "")})).doc(t, http.StatusOK)
		d := data(t, doc)
		a := attrs(d)
		if a["mac"] != nil || a["latitude"] != nil || a["name"] != "Pump 2" {
			t.Fatalf("attributes %v", a)
		}
		if rel := d["relationships"].(map[string]any)["group"].(map[string]any); rel["data"] != nil || rel["links"] == nil {
			t.Fatalf("group relationship %v: want null data with links", rel)
		}
	})
	t.Run("ErrNullName", func(t *testing.T) {
		e := f.do(t, "PATCH", "/api/v1/devices/"+id, f.a.me, resourceDoc("devices", id, map[string]any{"name": nil}, nil)).errorOf(t, 422)
		if source(e, "pointer") != "/data/attributes/name" {
			t.Fatalf("error %v", e)
		}
	})
	t.Run("ErrDuplicateIMEI", func(t *testing.T) {
		res := f.do(t, "POST", "/api/v1/devices", f.a.app, resourceDoc("devices", "", map[string]any{"name": "Twin", "imei": f.a.device.IMEI}, nil))
		if e := res.errorOf(t, http.StatusConflict); source(e, "pointer") != "/data/attributes/imei" {
			t.Fatalf("error %v", e)
		}
	})
	t.Run("ErrBadIMEI", func(t *testing.T) {
		res := f.do(t, "POST", "/api/v1/devices", f.a.app, resourceDoc("devices", "", map[string]any{"name": "X", "imei": "123456789012345"}, nil))
		if e := res.errorOf(t, 422); source(e, "pointer") != "/data/attributes/imei" || e["code"] != "Invalid" {
			t.Fatalf("error %v", e)
		}
	})
	t.Run("ErrUnknownGroup", func(t *testing.T) {
		res := f.do(t, "POST", "/api/v1/devices", f.a.app, resourceDoc("devices", "", map[string]any{"name": "X", "imei": storagetest.NewIMEI()},
			map[string]any{"group": linkage("device-groups", f.b.group.ID)}))
		if e := res.errorOf(t, http.StatusNotFound); source(e, "pointer") != "/data/relationships/group" {
			t.Fatalf("error %v", e)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if res := f.do(t, "DELETE", "/api/v1/devices/"+id, f.a.app, nil); res.status != http.StatusNoContent || len(res.body) != 0 {
			t.Fatalf("delete: %d %s", res.status, res.body)
		}
		f.do(t, "GET", "/api/v1/devices/"+id, f.a.app, nil).errorOf(t, http.StatusNotFound)
	})
	t.Run("DeviceTokenSeesItself", func(t *testing.T) {
		doc := f.do(t, "GET", "/api/v1/devices", f.a.dev, nil).doc(t, http.StatusOK)
		list := doc["data"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["id"] != f.a.device.ID || doc["meta"].(map[string]any)["total"] != 1.0 {
			t.Fatalf("device token list %v", doc)
		}
		f.do(t, "GET", "/api/v1/devices/"+f.a.device.ID, f.a.dev, nil).doc(t, http.StatusOK)
	})
}

func testDeviceGroupRelationship(t *testing.T, f *fixture) {
	dev := f.a.device
	rel := "/api/v1/devices/" + dev.ID + "/relationships/group"
	t.Run("GetLinkage", func(t *testing.T) {
		doc := f.do(t, "GET", rel, f.a.basic, nil).doc(t, http.StatusOK)
		d := data(t, doc)
		if d["type"] != "device-groups" || d["id"] != f.a.group.ID || d["attributes"] != nil {
			t.Fatalf("linkage %v", doc)
		}
		links := doc["links"].(map[string]any)
		if links["self"] != "https://api.example.com"+rel || links["related"] != "https://api.example.com/api/v1/devices/"+dev.ID+"/group" {
			t.Fatalf("links %v", links)
		}
	})
	t.Run("Related", func(t *testing.T) {
		doc := f.do(t, "GET", "/api/v1/devices/"+dev.ID+"/group?include=configuration", f.a.basic, nil).doc(t, http.StatusOK)
		if data(t, doc)["id"] != f.a.group.ID || len(doc["included"].([]any)) != 1 {
			t.Fatalf("related group %v", doc)
		}
	})
	t.Run("Unset", func(t *testing.T) {
		doc := f.do(t, "PATCH", rel, f.a.app, map[string]any{"data": nil}).doc(t, http.StatusOK)
		if doc["data"] != nil {
			t.Fatalf("linkage after unset %v", doc)
		}
		doc = f.do(t, "GET", "/api/v1/devices/"+dev.ID+"/group", f.a.app, nil).doc(t, http.StatusOK)
		if _, has := doc["data"]; !has || doc["data"] != nil {
			t.Fatalf("related group after unset %v", doc)
		}
	})
	t.Run("Set", func(t *testing.T) {
		doc := f.do(t, "PATCH", rel, f.a.app, linkage("device-groups", f.a.group.ID)).doc(t, http.StatusOK)
		if data(t, doc)["id"] != f.a.group.ID {
			t.Fatalf("linkage after set %v", doc)
		}
	})
	t.Run("ErrOtherTenantsGroup", func(t *testing.T) {
		e := f.do(t, "PATCH", rel, f.a.app, linkage("device-groups", f.b.group.ID)).errorOf(t, http.StatusNotFound)
		if source(e, "pointer") != "/data" {
			t.Fatalf("error %v", e)
		}
	})
	t.Run("ErrWrongType", func(t *testing.T) {
		e := f.do(t, "PATCH", rel, f.a.app, linkage("configurations", f.a.config.ID)).errorOf(t, http.StatusConflict)
		if source(e, "pointer") != "/data/type" {
			t.Fatalf("error %v", e)
		}
	})
	t.Run("ErrDeviceTokenCannotReadGroup", func(t *testing.T) {
		res := f.do(t, "GET", "/api/v1/devices/"+dev.ID+"/group", f.a.dev, nil)
		res.errorOf(t, http.StatusForbidden)
		if h := res.header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) {
			t.Fatalf("WWW-Authenticate %q", h)
		}
	})
}

func testDeviceBodies(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		name    string
		body    any
		status  int
		pointer string
	}{
		{"ErrSyntax", `{"data": {`, 400, ""},
		{"ErrNotObject", `[]`, 400, ""},
		{"ErrTrailing", `{"data": {"type": "devices"}} {}`, 400, ""},
		{"ErrNoData", `{"meta": {}}`, 400, "/data"},
		{"ErrDataNotObject", `{"data": []}`, 400, "/data"},
		{"ErrTopLevelMember", `{"data": {"type": "devices"}, "included": []}`, 400, "/included"},
		{"ErrNoType", `{"data": {"attributes": {}}}`, 400, "/data/type"},
		{"ErrWrongType", `{"data": {"type": "device-groups"}}`, 409, "/data/type"},
		{"ErrClientID", `{"data": {"type": "devices", "id": "0190f5a0-0000-7000-8000-000000000000", "attributes": {"name": "x"}}}`, 403, "/data/id"},
		{"ErrUnknownAttribute", `{"data": {"type": "devices", "attributes": {"name": "x", "colour": "red"}}}`, 400, "/data/attributes/colour"},
		{"ErrReadOnlyAttribute", `{"data": {"type": "devices", "attributes": {"created_at": "2020-01-01T00:00:00Z"}}}`, 400, "/data/attributes/created_at"},
		{"ErrAttributeType", `{"data": {"type": "devices", "attributes": {"name": 5}}}`, 400, "/data/attributes/name"},
		{"ErrFaultType", `{"data": {"type": "devices", "attributes": {"fault": "yes"}}}`, 400, "/data/attributes/fault"},
		{"ErrUnknownRelationship", `{"data": {"type": "devices", "relationships": {"owner": {"data": null}}}}`, 400, "/data/relationships/owner"},
		{"ErrRelationshipWithoutData", `{"data": {"type": "devices", "relationships": {"group": {}}}}`, 400, "/data/relationships/group/data"},
		{"ErrRelationshipType", `{"data": {"type": "devices", "relationships": {"group": {"data": {"type": "devices", "id": "x"}}}}}`, 409, "/data/relationships/group/data/type"},
		{"ErrMissingName", `{"data": {"type": "devices", "attributes": {"imei": "490154203237518"}}}`, 422, "/data/attributes/name"},
	} {
		t.Run("Create"+tc.name, func(t *testing.T) {
			before := countDevices(t, f)
			e := f.do(t, "POST", "/api/v1/devices", f.a.app, tc.body).errorOf(t, tc.status)
			if got := source(e, "pointer"); got != tc.pointer {
				t.Fatalf("pointer %v, want %q (%v)", got, tc.pointer, e)
			}
			if after := countDevices(t, f); after != before {
				t.Fatalf("a failed create changed the device count from %v to %v", before, after)
			}
		})
	}
	id := f.a.device.ID
	for _, tc := range []struct {
		name    string
		body    string
		status  int
		pointer string
	}{
		{"ErrNoID", `{"data": {"type": "devices", "attributes": {"name": "x"}}}`, 400, "/data/id"},
		{"ErrIDMismatch", `{"data": {"type": "devices", "id": "` + f.b.device.ID + `", "attributes": {"name": "x"}}}`, 409, "/data/id"},
		{"ErrLatitudeRange", `{"data": {"type": "devices", "id": "` + id + `", "attributes": {"latitude": 91, "longitude": 0}}}`, 422, "/data/attributes/latitude"},
	} {
		t.Run("Patch"+tc.name, func(t *testing.T) {
			before := f.do(t, "GET", "/api/v1/devices/"+id, f.a.app, nil).body
			e := f.do(t, "PATCH", "/api/v1/devices/"+id, f.a.app, tc.body).errorOf(t, tc.status)
			if got := source(e, "pointer"); got != tc.pointer {
				t.Fatalf("pointer %v, want %q (%v)", got, tc.pointer, e)
			}
			if after := f.do(t, "GET", "/api/v1/devices/"+id, f.a.app, nil).body; string(after) != string(before) {
				t.Fatalf("a failed patch changed the device:\n%s\n%s", before, after)
			}
		})
	}
}

// countDevices returns meta.total of customer A's device list.
func countDevices(t *testing.T, f *fixture) float64 {
	t.Helper()
	doc := f.do(t, "GET", "/api/v1/devices", f.a.app, nil).doc(t, http.StatusOK)
	return doc["meta"].(map[string]any)["total"].(float64)
}

// ids returns the ids of a list document's primary data.
func ids(doc map[string]any) []string {
	var out []string
	for _, o := range doc["data"].([]any) {
		out = append(out, o.(map[string]any)["id"].(string))
	}
	return out
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
