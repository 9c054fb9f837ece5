package jsonapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestGeogroupsAndFilters creates geogroups, refuses invalid geometry with
// a pointer into it, and filters devices by a geogroup.
func TestGeogroupsAndFilters(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			d := data(t, f.do(t, "POST", "/api/v1/geogroups", f.a.app, resourceDoc("geogroups", "",
				map[string]any{"name": "Square", "geometry": json.RawMessage(storagetest.SquareGeometry)}, nil)).doc(t, http.StatusCreated))
			id := d["id"].(string)
			if g := attrs(d)["geometry"].(map[string]any); g["type"] != "Polygon" || len(g["coordinates"].([]any)) != 2 {
				t.Fatalf("geometry %v", g)
			}
			for _, c := range []struct {
				name, geometry, pointer string
				status                  int
			}{
				{"SelfCrossing", `{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}`, "/data/attributes/geometry/coordinates/0/3", 422},
				{"NotClosed", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0.5]]]}`, "/data/attributes/geometry/coordinates/0/4", 422},
				{"Latitude", `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,95],[0,0]]]]}`, "/data/attributes/geometry/coordinates/0/0/2/1", 422},
				{"NoRadius", `{"type":"Point","coordinates":[0,0]}`, "/data/attributes/geometry/radius", 422},
				{"NotAnObject", `"POLYGON((0 0, 1 0, 1 1, 0 0))"`, "/data/attributes/geometry", 400},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := f.do(t, "PATCH", "/api/v1/geogroups/"+id, f.a.app, resourceDoc("geogroups", id,
						map[string]any{"geometry": json.RawMessage(c.geometry)}, nil)).errorOf(t, c.status)
					if source(e, "pointer") != c.pointer {
						t.Fatalf("error %v, want pointer %s", e, c.pointer)
					}
				})
			}
			e := f.do(t, "POST", "/api/v1/geogroups", f.a.app, resourceDoc("geogroups", "", map[string]any{"name": "No area"}, nil)).errorOf(t, 422)
			if source(e, "pointer") != "/data/attributes/geometry" {
				t.Fatalf("error %v", e)
			}

			now := time.Now()
			in := storagetest.NewDevice(f.a.customer.ID, now)
			in.Latitude, in.Longitude = ptrTo(52.2), ptrTo(13.8)
			near := storagetest.NewDevice(f.a.customer.ID, now)
			near.Latitude, near.Longitude = ptrTo(52.5), ptrTo(12.9) // 6.77 km west of the square
			storagetest.MustCreateDevice(t, f.devices, in)
			storagetest.MustCreateDevice(t, f.devices, near)
			ids := func(query string) []string {
				t.Helper()
				doc := f.do(t, "GET", "/api/v1/devices?"+query, f.a.basic, nil).doc(t, http.StatusOK)
				var out []string
				for _, o := range doc["data"].([]any) {
					out = append(out, o.(map[string]any)["id"].(string))
				}
				if total := doc["meta"].(map[string]any)["total"]; total != float64(len(out)) {
					t.Fatalf("%s: total %v for %d devices", query, total, len(out))
				}
				slices.Sort(out)
				return out
			}
			both := []string{in.ID, near.ID}
			slices.Sort(both)
			for _, c := range []struct {
				query string
				want  []string
			}{
				{"filter[geogroup_inside]=" + id, []string{in.ID}},
				{"filter[geogroup_inside]=" + id + "&filter[geogroup_distance]=7000", both},
				{"filter[geogroup_inside]=" + id + "&filter[geogroup_distance]=6500", []string{in.ID}},
				{"filter[geogroup_outside]=" + id, []string{near.ID}},
				{"filter[geogroup_outside]=" + id + "&filter[geogroup_distance]=7000", nil},
			} {
				if got := ids(c.query); !slices.Equal(got, c.want) {
					t.Errorf("%s: %v, want %v", c.query, got, c.want)
				}
			}
			for _, c := range []struct {
				query, parameter string
				status           int
			}{
				{"filter[geogroup_inside]=" + f.b.geogroup.ID, "filter[geogroup_inside]", 404},
				{"filter[geogroup_outside]=nope", "filter[geogroup_outside]", 404},
				{"filter[geogroup_distance]=100", "filter[geogroup_distance]", 400},
				{"filter[geogroup_inside]=" + id + "&filter[geogroup_distance]=-1", "filter[geogroup_distance]", 400},
				{"filter[geogroup_inside]=" + id + "&filter[geogroup_distance]=far", "filter[geogroup_distance]", 400},
				{"filter[geogroup_inside]=" + id + "&filter[geogroup_outside]=" + id, "filter[geogroup_outside]", 400},
			} {
				e := f.do(t, "GET", "/api/v1/devices?"+c.query, f.a.basic, nil).errorOf(t, c.status)
				if source(e, "parameter") != c.parameter {
					t.Errorf("%s: error %v, want parameter %s", c.query, e, c.parameter)
				}
			}
			f.do(t, "DELETE", "/api/v1/geogroups/"+id, f.a.basic, nil).errorOf(t, 403)
			if res := f.do(t, "DELETE", "/api/v1/geogroups/"+id, f.a.app, nil); res.status != http.StatusNoContent {
				t.Fatalf("delete: %d", res.status)
			}
			f.do(t, "GET", "/api/v1/geogroups/"+id, f.a.app, nil).errorOf(t, 404)
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
