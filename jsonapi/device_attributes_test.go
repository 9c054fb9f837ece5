package jsonapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestDeviceAttributes writes and reads device attributes, refuses bad
// ones with a pointer at the key (nothing written), and filters by
// strings, numbers and booleans, on both databases.
func TestDeviceAttributes(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			create := func(t *testing.T, name string, a map[string]any) string {
				t.Helper()
				doc := f.do(t, "POST", "/api/v1/devices", f.a.app, resourceDoc("devices", "", map[string]any{
					"name": name, "imei": storagetest.NewIMEI(), "attributes": a}, nil)).doc(t, http.StatusCreated)
				return data(t, doc)["id"].(string)
			}
			var id string
			t.Run("CreateAndRead", func(t *testing.T) {
				id = create(t, "Reefer 1", map[string]any{"fleet": "north", "axles": 3, "cold": true, "fw.version": "1.2"})
				a := attrs(data(t, f.do(t, "GET", "/api/v1/devices/"+id, f.a.basic, nil).doc(t, http.StatusOK)))
				got := a["attributes"].(map[string]any)
				if len(got) != 4 || got["fleet"] != "north" || got["axles"] != 3.0 || got["cold"] != true || got["fw.version"] != "1.2" {
					t.Fatalf("attributes %v", got)
				}
			})
			t.Run("NoneIsEmptyObject", func(t *testing.T) {
				a := attrs(data(t, f.do(t, "GET", "/api/v1/devices/"+f.a.device.ID, f.a.basic, nil).doc(t, http.StatusOK)))
				if got, ok := a["attributes"].(map[string]any); !ok || len(got) != 0 {
					t.Fatalf("attributes %#v, want {}", a["attributes"])
				}
			})
			t.Run("PatchReplaces", func(t *testing.T) {
				doc := f.do(t, "PATCH", "/api/v1/devices/"+id, f.a.me, resourceDoc("devices", id,
					map[string]any{"attributes": map[string]any{"fleet": "south"}}, nil)).doc(t, http.StatusOK)
				if got := attrs(data(t, doc))["attributes"].(map[string]any); len(got) != 1 || got["fleet"] != "south" {
					t.Fatalf("attributes %v, want only fleet=south", got)
				}
				doc = f.do(t, "PATCH", "/api/v1/devices/"+id, f.a.me, resourceDoc("devices", id, map[string]any{"name": "Reefer 1b"}, nil)).doc(t, http.StatusOK)
				if got := attrs(data(t, doc))["attributes"].(map[string]any); len(got) != 1 {
					t.Fatalf("a PATCH without attributes changed them: %v", got)
				}
				doc = f.do(t, "PATCH", "/api/v1/devices/"+id, f.a.me, resourceDoc("devices", id, map[string]any{"attributes": nil}, nil)).doc(t, http.StatusOK)
				if got := attrs(data(t, doc))["attributes"].(map[string]any); len(got) != 0 {
					t.Fatalf("attributes: null left %v", got)
				}
			})
			many := map[string]any{}
			for i := range 65 {
				many["k"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26))] = i
			}
			for _, tc := range []struct {
				name    string
				attrs   any
				status  int
				pointer string
			}{
				{"NotAnObject", []any{1, 2}, 400, "/data/attributes/attributes"},
				{"Nested", map[string]any{"ok": "x", "deep": map[string]any{"a": 1}}, 422, "/data/attributes/attributes/deep"},
				{"Array", map[string]any{"list": []any{1}}, 422, "/data/attributes/attributes/list"},
				{"NullValue", map[string]any{"gone": nil}, 422, "/data/attributes/attributes/gone"},
				{"BadKey", map[string]any{"a b": "x"}, 422, "/data/attributes/attributes/a b"},
				{"SlashKeyEscaped", map[string]any{"a/b": "x"}, 422, "/data/attributes/attributes/a~1b"},
				{"EmptyKey", map[string]any{"": "x"}, 422, "/data/attributes/attributes/"},
				{"LongKey", map[string]any{strings.Repeat("k", 65): "x"}, 422, "/data/attributes/attributes/" + strings.Repeat("k", 65)},
				{"TooMany", many, 422, "/data/attributes/attributes"},
				{"TooLarge", map[string]any{"a": strings.Repeat("x", 2100), "b": strings.Repeat("y", 2100)}, 422, "/data/attributes/attributes"},
			} {
				t.Run("Err"+tc.name, func(t *testing.T) {
					imei := storagetest.NewIMEI()
					e := f.do(t, "POST", "/api/v1/devices", f.a.app, resourceDoc("devices", "", map[string]any{
						"name": "Bad", "imei": imei, "attributes": tc.attrs}, nil)).errorOf(t, tc.status)
					if source(e, "pointer") != tc.pointer {
						t.Fatalf("error %v, want pointer %s", e, tc.pointer)
					}
					list := f.do(t, "GET", "/api/v1/devices?filter[imei]="+imei, f.a.app, nil).doc(t, http.StatusOK)
					if n := len(list["data"].([]any)); n != 0 {
						t.Fatalf("a refused device was written")
					}
				})
			}
			t.Run("ErrPatchWritesNothing", func(t *testing.T) {
				f.do(t, "PATCH", "/api/v1/devices/"+id, f.a.me, resourceDoc("devices", id,
					map[string]any{"name": "Renamed", "attributes": map[string]any{"x": map[string]any{}}}, nil)).errorOf(t, 422)
				a := attrs(data(t, f.do(t, "GET", "/api/v1/devices/"+id, f.a.basic, nil).doc(t, http.StatusOK)))
				if a["name"] != "Reefer 1b" {
					t.Fatalf("a refused PATCH renamed the device: %v", a["name"])
				}
			})

			// The filters.
			n1 := create(t, "n1", map[string]any{"fleet": "north", "axles": 3, "cold": true})
			n2 := create(t, "n2", map[string]any{"fleet": "north", "axles": "3", "cold": "true", "code": 12.5})
			s1 := create(t, "s1", map[string]any{"fleet": "south", "axles": 2, "cold": false, "fw.version": "2.0"})
			// Another tenant's device with the same attributes is invisible.
			f.do(t, "POST", "/api/v1/devices", f.b.app, resourceDoc("devices", "", map[string]any{
				"name": "theirs", "imei": storagetest.NewIMEI(), "attributes": map[string]any{"fleet": "north"}}, nil)).doc(t, http.StatusCreated)
			list := func(t *testing.T, query string) []string {
				t.Helper()
				doc := f.do(t, "GET", "/api/v1/devices?sort=created_at&"+query, f.a.app, nil).doc(t, http.StatusOK)
				ids := []string{}
				for _, d := range doc["data"].([]any) {
					ids = append(ids, d.(map[string]any)["id"].(string))
				}
				if total := doc["meta"].(map[string]any)["total"]; total != float64(len(ids)) {
					t.Fatalf("meta.total %v, %d listed", total, len(ids))
				}
				return ids
			}
			for _, tc := range []struct {
				name, query string
				want        []string
			}{
				{"String", "filter[attributes.fleet]=north", []string{n1, n2}},
				{"NumberMatchesNumberAndString", "filter[attributes.axles]=3", []string{n1, n2}},
				{"NumberDecimal", "filter[attributes.axles]=2.0", []string{s1}},
				{"Fraction", "filter[attributes.code]=12.5", []string{n2}},
				{"BoolMatchesBoolAndString", "filter[attributes.cold]=true", []string{n1, n2}},
				{"False", "filter[attributes.cold]=false", []string{s1}},
				{"DottedKey", "filter[attributes.fw.version]=2.0", []string{s1}},
				{"Two", "filter[attributes.fleet]=north&filter[attributes.axles]=3&filter[attributes.cold]=true", []string{n1, n2}},
				{"WithOtherFilter", "filter[attributes.fleet]=north&filter[search]=n2", []string{n2}},
				{"Escaped", "filter%5Battributes.fleet%5D=" + url.QueryEscape("north"), []string{n1, n2}},
				{"NoMatch", "filter[attributes.fleet]=west", []string{}},
			} {
				t.Run("Filter"+tc.name, func(t *testing.T) {
					if got := list(t, tc.query); !slices.Equal(got, tc.want) {
						t.Fatalf("got %v, want %v", got, tc.want)
					}
				})
			}
			t.Run("FilterErrBadKey", func(t *testing.T) {
				e := f.do(t, "GET", "/api/v1/devices?filter[attributes.a%20b]=1", f.a.app, nil).errorOf(t, 400)
				if source(e, "parameter") != "filter[attributes.a b]" {
					t.Fatalf("error %v", e)
				}
				e = f.do(t, "GET", "/api/v1/devices?filter[attributes.]=1", f.a.app, nil).errorOf(t, 400)
				if source(e, "parameter") != "filter[attributes.]" {
					t.Fatalf("error %v", e)
				}
			})
		})
	}
}
