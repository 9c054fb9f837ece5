package graph_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestGeogroups creates, reads, lists, changes and deletes a geogroup
// through GraphQL, and filters devices by it.
func TestGeogroups(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		tok := e.app(e.a, "app")
		circle := `{"type":"Point","coordinates":[13.405,52.52],"radius":30000}`
		d := e.query(t, tok, `mutation($g: JSON!) { createGeogroup(input: {name: " Berlin ", geometry: $g}) { geogroup { id name geometry } } }`,
			map[string]any{"g": json.RawMessage(circle)}).ok(t)
		id := get(d, "createGeogroup.geogroup.id").(string)
		if get(d, "createGeogroup.geogroup.name") != "Berlin" || get(d, "createGeogroup.geogroup.geometry.radius") != 30000.0 ||
			get(d, "createGeogroup.geogroup.geometry.type") != "Point" {
			t.Fatalf("created %+v", d)
		}
		// A device in the circle and one outside it.
		now := time.Now()
		in, out := storagetest.NewDevice(e.a.customer.ID, now), storagetest.NewDevice(e.a.customer.ID, now)
		in.Latitude, in.Longitude = ptr(52.3906), ptr(13.0645) // 27.19 km from the centre
		out.Latitude, out.Longitude = ptr(53.5511), ptr(9.9937)
		storagetest.MustCreateDevice(t, e.stores.devices, in)
		storagetest.MustCreateDevice(t, e.stores.devices, out)
		list := func(filter string) []string {
			t.Helper()
			d := e.query(t, tok, `query($id: ID!) { devices(filter: `+filter+`) { totalCount edges { node { id } } } }`, map[string]any{"id": id}).ok(t)
			ids := nodeIDs(d["devices"])
			if get(d, "devices.totalCount") != float64(len(ids)) {
				t.Fatalf("totalCount %v for %d devices", get(d, "devices.totalCount"), len(ids))
			}
			slices.Sort(ids)
			return ids
		}
		if got := list(`{geogroupInside: $id}`); !slices.Equal(got, []string{in.ID}) {
			t.Errorf("inside: %v, want %v", got, in.ID)
		}
		if got := list(`{geogroupOutside: $id}`); !slices.Equal(got, []string{out.ID}) {
			t.Errorf("outside: %v, want %v", got, out.ID)
		}
		// The fixture device has no position: it matches neither.
		if got := list(`{geogroupOutside: $id, geogroupDistance: 1e6}`); len(got) != 0 {
			t.Errorf("outside beyond 1000 km: %v", got)
		}
		e.query(t, tok, `{ devices(filter: {geogroupDistance: 5}) { totalCount } }`, nil).fails(t, "BAD_USER_INPUT")

		bad := e.query(t, tok, `mutation($id: ID!, $g: JSON) { updateGeogroup(input: {id: $id, geometry: $g}) { geogroup { id } } }`,
			map[string]any{"id": id, "g": json.RawMessage(`{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}`)}).fails(t, "BAD_USER_INPUT")
		if f, _ := bad.Extensions["field"].(string); f != "input.geometry.coordinates.0.3" {
			t.Errorf("a self-crossing ring points at %q", f)
		}
		d = e.query(t, tok, `mutation($id: ID!, $g: JSON) { updateGeogroup(input: {id: $id, name: "Square", geometry: $g}) { geogroup { name geometry } } }`,
			map[string]any{"id": id, "g": json.RawMessage(storagetest.SquareGeometry)}).ok(t)
		if get(d, "updateGeogroup.geogroup.name") != "Square" || get(d, "updateGeogroup.geogroup.geometry.type") != "Polygon" {
			t.Fatalf("updated %+v", d)
		}
		e.query(t, tok, `mutation($id: ID!) { updateGeogroup(input: {id: $id, geometry: null}) { geogroup { id } } }`,
			map[string]any{"id": id}).fails(t, "BAD_USER_INPUT")
		d = e.query(t, e.app(e.a, "basic"), `{ geogroups(orderBy: [{field: NAME}]) { totalCount edges { node { name } } } }`, nil).ok(t)
		if get(d, "geogroups.totalCount") != 2.0 || get(d, "geogroups.edges.1.node.name") != "Square" {
			t.Fatalf("list %+v", d)
		}
		e.query(t, e.app(e.a, "basic"), `mutation($id: ID!) { deleteGeogroup(input: {id: $id}) { deletedId } }`, map[string]any{"id": id}).fails(t, "FORBIDDEN")
		e.query(t, tok, `mutation($id: ID!) { deleteGeogroup(input: {id: $id}) { deletedId } }`, map[string]any{"id": id}).ok(t)
		e.query(t, tok, `query($id: ID!) { devices(filter: {geogroupInside: $id}) { totalCount } }`, map[string]any{"id": id}).fails(t, "NOT_FOUND")
	})
}

func ptr[T any](v T) *T { return &v }
