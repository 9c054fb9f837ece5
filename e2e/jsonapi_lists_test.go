package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// place is a device position of the geo tests.
type place struct {
	name     string
	lat, lon float64
}

// geoPlaces are known positions. Great-circle distances from Berlin
// (52.5200, 13.4050): Potsdam ≈ 27.2 km, Hamburg ≈ 255.3 km, Munich ≈
// 504.4 km, Sydney ≈ 16,095 km.
var geoPlaces = []place{
	{"Berlin", 52.5200, 13.4050}, {"Potsdam", 52.3906, 13.0645}, {"Hamburg", 53.5511, 9.9937},
	{"Munich", 48.1351, 11.5820}, {"Sydney", -33.8688, 151.2093},
}

// TestJSONAPIDeviceLists checks filters, sorts, includes, sparse
// fieldsets, pagination at its edges and the geo radius, over HTTP on both
// databases.
func TestJSONAPIDeviceLists(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			tn := newAPITenant(t, env, c, "Lists")
			ids := map[string]string{"Fixture": tn.deviceID}
			imeis := map[string]string{}
			for i, p := range geoPlaces {
				imeis[p.name] = testIMEI()
				attrs := map[string]any{"name": p.name + " tracker", "imei": imeis[p.name], "latitude": p.lat, "longitude": p.lon,
					"fault": i%2 == 1, "mac": "02:00:00:00:00:0" + string(rune('1'+i))}
				rels := map[string][2]string{}
				if p.name != "Sydney" {
					rels["group"] = [2]string{"device-groups", tn.groupID}
				}
				ids[p.name] = c.call(t, "POST", "/api/v1/devices", tn.app, apiDoc("devices", "", attrs, rels)).id(t)
			}
			ids["Unplaced"] = c.call(t, "POST", "/api/v1/devices", tn.app, apiDoc("devices", "", map[string]any{"name": "unplaced", "imei": testIMEI()}, nil)).id(t)
			all := func() []string {
				var out []string
				for _, id := range ids {
					out = append(out, id)
				}
				return out
			}
			list := func(t *testing.T, query string) map[string]any {
				t.Helper()
				return c.call(t, "GET", "/api/v1/devices?"+query, tn.basic, nil).want(t, http.StatusOK)
			}
			pick := func(names ...string) []string {
				var out []string
				for _, n := range names {
					out = append(out, ids[n])
				}
				return out
			}
			sameSet := func(t *testing.T, got, want []string) {
				t.Helper()
				g, w := slices.Clone(got), slices.Clone(want)
				slices.Sort(g)
				slices.Sort(w)
				if !slices.Equal(g, w) {
					t.Fatalf("got %v, want %v", got, want)
				}
			}

			t.Run("Filters", func(t *testing.T) {
				for _, tc := range []struct {
					query string
					want  []string
				}{
					{"filter[search]=TRACKER", pick("Berlin", "Potsdam", "Hamburg", "Munich", "Sydney")},
					{"filter[search]=" + imeis["Hamburg"][3:12], pick("Hamburg")},
					{"filter[search]=02:00:00:00:00:03", pick("Hamburg")},
					{"filter[imei]=" + imeis["Munich"], pick("Munich")},
					{"filter[mac]=02:00:00:00:00:01", pick("Berlin")},
					// The forms a device's MAC may be written in match alike.
					{"filter[mac]=02-00-00-00-00-01", pick("Berlin")},
					{"filter[mac]=0200.0000.0001", pick("Berlin")},
					{"filter[mac]=020000000001", pick("Berlin")},
					{"filter[fault]=true", pick("Potsdam", "Munich")},
					{"filter[fault]=false&filter[search]=tracker", pick("Berlin", "Hamburg", "Sydney")},
					{"filter[group]=" + tn.groupID, pick("Fixture", "Berlin", "Potsdam", "Hamburg", "Munich")},
					{"filter[group]=none", pick("Sydney", "Unplaced")},
					{"filter[search]=no%20such%20device", nil},
				} {
					t.Run(tc.query, func(t *testing.T) {
						doc := list(t, tc.query)
						sameSet(t, listIDs(doc), tc.want)
						if total := doc["meta"].(map[string]any)["total"]; total != float64(len(tc.want)) {
							t.Fatalf("meta.total %v, want %d", total, len(tc.want))
						}
					})
				}
			})
			t.Run("GeoRadius", func(t *testing.T) {
				centre := "filter[latitude]=52.52&filter[longitude]=13.405"
				for _, tc := range []struct {
					query string
					want  []string
				}{
					{"filter[radius_lte]=1000", pick("Berlin")},
					{"filter[radius_lte]=30000", pick("Berlin", "Potsdam")},
					{"filter[radius_lte]=26000", pick("Berlin")},
					{"filter[radius_lte]=300000", pick("Berlin", "Potsdam", "Hamburg")},
					{"filter[radius_gte]=100000&filter[radius_lte]=300000", pick("Hamburg")},
					{"filter[radius_gte]=300000", pick("Munich", "Sydney")},
					{"filter[radius_gte]=20000000", nil},
				} {
					t.Run(tc.query, func(t *testing.T) {
						sameSet(t, listIDs(list(t, centre+"&"+tc.query)), tc.want)
					})
				}
				for _, bad := range []string{"filter[latitude]=52.52&filter[radius_lte]=10", "filter[latitude]=91&filter[longitude]=0&filter[radius_lte]=1",
					"filter[latitude]=x&filter[longitude]=0&filter[radius_lte]=1", centre} {
					res := c.callInvalid(t, "GET", "/api/v1/devices?"+bad, tn.basic, nil)
					if res.want(t, http.StatusBadRequest); !strings.Contains(string(res.body), `"parameter":"filter[`) {
						t.Fatalf("%s: %s", bad, res.body)
					}
				}
			})
			t.Run("Sorts", func(t *testing.T) {
				names := func(doc map[string]any) []string {
					var out []string
					for _, o := range doc["data"].([]any) {
						out = append(out, o.(map[string]any)["attributes"].(map[string]any)["name"].(string))
					}
					return out
				}
				got := names(list(t, "sort=name&filter[search]=tracker&fields[devices]=name"))
				if !slices.IsSorted(got) || len(got) != 5 {
					t.Fatalf("sort=name gave %v", got)
				}
				desc := names(list(t, "sort=-name&filter[search]=tracker"))
				if slices.Reverse(desc); !slices.Equal(desc, got) {
					t.Fatalf("sort=-name gave %v", desc)
				}
				created := listIDs(list(t, "sort=created_at"))
				newest := listIDs(list(t, "sort=-created_at"))
				if slices.Reverse(newest); !slices.Equal(created, newest) || created[0] != tn.deviceID {
					t.Fatalf("created_at order %v vs %v", created, newest)
				}
				list(t, "sort=-last_event_at,imei")
				res := c.callInvalid(t, "GET", "/api/v1/devices?sort=colour", tn.basic, nil)
				if res.want(t, 400); !strings.Contains(string(res.body), `"parameter":"sort"`) {
					t.Fatalf("unknown sort: %s", res.body)
				}
			})
			t.Run("IncludesAndFieldsets", func(t *testing.T) {
				doc := list(t, "include=group.configuration&fields[devices]=name,group&fields[device-groups]=name&fields[configurations]=state")
				inc := doc["included"].([]any)
				if len(inc) != 2 {
					t.Fatalf("included %v", inc)
				}
				for _, o := range inc {
					m := o.(map[string]any)
					if a := m["attributes"].(map[string]any); len(a) != 1 {
						t.Fatalf("included attributes %v", a)
					}
				}
				for _, o := range doc["data"].([]any) {
					if a := o.(map[string]any)["attributes"].(map[string]any); len(a) != 1 || a["name"] == nil {
						t.Fatalf("device attributes %v", a)
					}
				}
				if doc := list(t, "filter[group]=none&include=group"); doc["included"] != nil {
					t.Fatalf("devices without a group included %v", doc["included"])
				}
				res := c.callInvalid(t, "GET", "/api/v1/devices?include=owner", tn.basic, nil)
				if res.want(t, 400); !strings.Contains(string(res.body), `"parameter":"include"`) {
					t.Fatalf("unknown include: %s", res.body)
				}
				// A device token may read its device but not groups.
				res = c.call(t, "GET", "/api/v1/devices?include=group", tn.device, nil)
				if res.want(t, http.StatusForbidden); !strings.Contains(res.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
					t.Fatalf("include=group with a device token: %q", res.header.Get("WWW-Authenticate"))
				}
			})
			t.Run("Pagination", func(t *testing.T) {
				total := len(all()) // 7
				page := func(t *testing.T, n int) map[string]any {
					return list(t, "sort=created_at&page[size]=3&page[number]="+string(rune('0'+n)))
				}
				var seen []string
				for n := 1; n <= 3; n++ {
					doc := page(t, n)
					seen = append(seen, listIDs(doc)...)
					links := doc["links"].(map[string]any)
					if doc["meta"].(map[string]any)["total"] != float64(total) || !strings.Contains(links["last"].(string), "page%5Bnumber%5D=3") {
						t.Fatalf("page %d: meta %v links %v", n, doc["meta"], links)
					}
					if (n == 1) != (links["prev"] == nil) || (n == 3) != (links["next"] == nil) {
						t.Fatalf("page %d: prev %v next %v", n, links["prev"], links["next"])
					}
				}
				if len(seen) != total || len(listIDs(page(t, 3))) != 1 {
					t.Fatalf("pages gave %d ids, want %d", len(seen), total)
				}
				sameSet(t, seen, all())
				past := page(t, 5)
				if ids := listIDs(past); len(ids) != 0 || past["links"].(map[string]any)["next"] != nil ||
					!strings.Contains(past["links"].(map[string]any)["prev"].(string), "page%5Bnumber%5D=3") {
					t.Fatalf("past the end: %v", past)
				}
				empty := list(t, "filter[search]=nothing-here&page[size]=10")
				if listIDs(empty) != nil || empty["data"] == nil || empty["meta"].(map[string]any)["total"] != 0.0 ||
					!strings.Contains(empty["links"].(map[string]any)["last"].(string), "page%5Bnumber%5D=1") {
					t.Fatalf("empty list: %v", empty)
				}
				next, _ := url.Parse(list(t, "sort=created_at&page[size]=3")["links"].(map[string]any)["next"].(string))
				if got := listIDs(c.call(t, "GET", next.RequestURI(), tn.basic, nil).want(t, 200)); !slices.Equal(got, seen[3:6]) {
					t.Fatalf("following next gave %v, want %v", got, seen[3:6])
				}
				for _, bad := range []string{"page[size]=101", "page[size]=0", "page[number]=0", "page[number]=x", "page[offset]=3"} {
					name, _, _ := strings.Cut(bad, "=")
					res := c.callInvalid(t, "GET", "/api/v1/devices?"+bad, tn.basic, nil)
					if res.want(t, 400); !strings.Contains(string(res.body), `"parameter":"`+name+`"`) {
						t.Fatalf("%s: %s", bad, res.body)
					}
				}
				if got := listIDs(list(t, "page[size]=100")); len(got) != total {
					t.Fatalf("page[size]=100 gave %d", len(got))
				}
				// Both spellings of a bracketed parameter are read alike.
				if got := listIDs(list(t, "sort=created_at&page%5Bsize%5D=3&page%5Bnumber%5D=2")); !slices.Equal(got, seen[3:6]) {
					t.Fatalf("encoded page parameters gave %v, want %v", got, seen[3:6])
				}
			})
		})
	}
}
