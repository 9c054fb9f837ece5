package graph_test

import (
	"slices"
	"testing"

	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestDeviceAttributes writes attributes through createDevice and
// updateDevice (which replaces them; null clears), refuses bad ones with
// BAD_USER_INPUT pointing at input.attributes.KEY, and filters by them,
// on both databases.
func TestDeviceAttributes(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		me := e.me(e.a)
		create := func(t *testing.T, name string, attrs any) string {
			t.Helper()
			d := e.query(t, me, `mutation($in: CreateDeviceInput!) { createDevice(input: $in) { device { id attributes } } }`,
				map[string]any{"in": map[string]any{"name": name, "imei": storagetest.NewIMEI(), "attributes": attrs}}).ok(t)
			return get(d, "createDevice.device.id").(string)
		}
		id := create(t, "Reefer", map[string]any{"fleet": "north", "axles": 3, "cold": true})
		t.Run("Read", func(t *testing.T) {
			d := e.query(t, me, `query($id: ID!) { device(id: $id) { attributes } }`, map[string]any{"id": id}).ok(t)
			a, _ := get(d, "device.attributes").(map[string]any)
			if len(a) != 3 || a["fleet"] != "north" || a["axles"] != 3.0 || a["cold"] != true {
				t.Fatalf("attributes %v", get(d, "device.attributes"))
			}
			d = e.query(t, me, `query($id: ID!) { device(id: $id) { attributes } }`, map[string]any{"id": e.a.device.ID}).ok(t)
			if a, ok := get(d, "device.attributes").(map[string]any); !ok || len(a) != 0 {
				t.Fatalf("no attributes read as %#v, want {}", get(d, "device.attributes"))
			}
		})
		t.Run("UpdateReplaces", func(t *testing.T) {
			d := e.query(t, me, `mutation { updateDevice(input: {id: "`+id+`", attributes: {fleet: "south"}}) { device { attributes } } }`, nil).ok(t)
			if a := get(d, "updateDevice.device.attributes").(map[string]any); len(a) != 1 || a["fleet"] != "south" {
				t.Fatalf("attributes %v", a)
			}
			d = e.query(t, me, `mutation { updateDevice(input: {id: "`+id+`", name: "Reefer 2"}) { device { attributes } } }`, nil).ok(t)
			if a := get(d, "updateDevice.device.attributes").(map[string]any); len(a) != 1 {
				t.Fatalf("an update without attributes changed them: %v", a)
			}
		})
		for _, c := range []struct {
			name  string
			attrs any
			field string
		}{
			{"NotAnObject", []any{1}, "input.attributes"},
			{"Nested", map[string]any{"deep": map[string]any{"a": 1}}, "input.attributes.deep"},
			{"BadKey", map[string]any{"a b": 1}, "input.attributes.a b"},
			{"SnakeKeyVerbatim", map[string]any{"fw_version": nil}, "input.attributes.fw_version"},
		} {
			t.Run("Err"+c.name, func(t *testing.T) {
				r := e.query(t, me, `mutation($in: UpdateDeviceInput!) { updateDevice(input: $in) { device { id } } }`,
					map[string]any{"in": map[string]any{"id": id, "name": "Changed", "attributes": c.attrs}})
				if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != c.field {
					t.Fatalf("error %+v, want field %s", err, c.field)
				}
				d := e.query(t, me, `query($id: ID!) { device(id: $id) { name } }`, map[string]any{"id": id}).ok(t)
				if get(d, "device.name") != "Reefer 2" {
					t.Fatalf("a refused update wrote: %v", d)
				}
			})
		}
		a := create(t, "a", map[string]any{"fleet": "west", "axles": 2})
		b := create(t, "b", map[string]any{"fleet": "west", "axles": "2", "cold": "true"})
		list := func(t *testing.T, matches []any) []string {
			t.Helper()
			d := e.query(t, me, `query($m: [AttributeMatch!]) { devices(filter: {attributes: $m}, orderBy: [{field: NAME}]) { edges { node { id } } } }`,
				map[string]any{"m": matches}).ok(t)
			return nodeIDs(d["devices"])
		}
		for _, c := range []struct {
			name    string
			matches []any
			want    []string
		}{
			{"String", []any{map[string]any{"key": "fleet", "value": "west"}}, []string{a, b}},
			{"Number", []any{map[string]any{"key": "axles", "value": 2}}, []string{a, b}},
			{"NumberAsString", []any{map[string]any{"key": "axles", "value": "2.0"}}, []string{a}},
			{"Bool", []any{map[string]any{"key": "cold", "value": true}}, []string{b}},
			{"Two", []any{map[string]any{"key": "fleet", "value": "west"}, map[string]any{"key": "cold", "value": "true"}}, []string{b}},
		} {
			t.Run("Filter"+c.name, func(t *testing.T) {
				if got := list(t, c.matches); !slices.Equal(got, c.want) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			})
		}
		t.Run("FilterErrValue", func(t *testing.T) {
			r := e.query(t, me, `{ devices(filter: {attributes: [{key: "fleet", value: {a: 1}}]}) { totalCount } }`, nil)
			if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "filter.attributes" {
				t.Fatalf("error %+v", err)
			}
			r = e.query(t, me, `{ devices(filter: {attributes: [{key: "a b", value: 1}]}) { totalCount } }`, nil)
			if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "filter.attributes" {
				t.Fatalf("error %+v", err)
			}
		})
	})
}
