package jsonapi

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/jsonapi/jsonapitest"
	"github.com/assetgate/assetgate/resource"
)

// TestJSONAPIDefect_IncludedNeverRepeatsPrimary checks the included builder
// directly, as no route of today loads a related resource that is also
// primary data: the library would repeat it (see
// TestJSONAPIDefect_IncludedRepeatsPrimaryInMapOrder).
func TestJSONAPIDefect_IncludedNeverRepeatsPrimary(t *testing.T) {
	a := New(Deps{BaseURL: "https://x.example"})
	now := time.Now()
	group := func(id, conf string) *resource.DeviceGroup {
		return &resource.DeviceGroup{ID: id, Name: "G" + id, ConfigurationID: conf, CreatedAt: now, UpdatedAt: now}
	}
	conf := func(id string) *resource.Configuration {
		return &resource.Configuration{ID: id, Name: "C" + id, State: resource.ConfigurationPublished, CreatedAt: now, UpdatedAt: now}
	}
	primary := []presenter{a.presentGroup(group("g1", "c3")), a.presentGroup(group("g2", "c1"))}
	related := []presenter{a.presentGroup(group("g2", "c1")), a.presentConfiguration(conf("c3")), a.presentConfiguration(conf("c1")),
		a.presentConfiguration(conf("c3")), a.presentGroup(group("g0", ""))}
	r := httptest.NewRequest("GET", "/api/v1/device-groups", nil)
	want := []string{"configurations/c1", "configurations/c3", "device-groups/g0"}
	// The renderer the routes use.
	rec := httptest.NewRecorder()
	if err := a.writeMany(rec, r, resource.Query{}, primary, related, resource.Page{Number: 1, Size: 25}, 2); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Included []struct{ Type, ID string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range doc.Included {
		got = append(got, n.Type+"/"+n.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rendered included %v, want %v", got, want)
	}
	// The reference it is compared with (render_reference_test.go).
	ref, err := a.builder(resource.Query{}).many(r, primary, related, resource.Page{Number: 1, Size: 25}, 2)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, n := range ref.Included {
		got = append(got, n.Type+"/"+n.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("reference included %v, want %v", got, want)
	}
}

// TestPageLinks checks the pagination links of a list: every one is an
// RFC 3986 URI, with the brackets of page[..], filter[..] and the like
// percent-encoded, whether the request wrote them encoded or not.
func TestPageLinks(t *testing.T) {
	a := New(Deps{BaseURL: "https://x.example/"})
	for _, tc := range []struct {
		name                    string
		number, size, total     int
		first, prev, next, last any
	}{
		{"Empty", 1, 10, 0, "1", nil, nil, "1"},
		{"FirstOfThree", 1, 10, 25, "1", nil, "2", "3"},
		{"Middle", 2, 10, 25, "1", "1", "3", "3"},
		{"Last", 3, 10, 25, "1", "2", nil, "3"},
		{"PastTheEnd", 7, 10, 25, "1", "3", nil, "3"},
		{"Exact", 2, 10, 20, "1", "1", nil, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, raw := range []string{"filter[fault]=true&sort=-name&page[number]=9", "filter%5Bfault%5D=true&sort=-name&page%5Bnumber%5D=9"} {
				r := httptest.NewRequest("GET", "/api/v1/devices?"+raw, nil)
				links := a.pageLinks(r, resource.Page{Number: tc.number, Size: tc.size}, tc.total)
				link := func(n any) any {
					if n == nil {
						return nil
					}
					return "https://x.example/api/v1/devices?filter%5Bfault%5D=true&page%5Bnumber%5D=" + n.(string) + "&page%5Bsize%5D=10&sort=-name"
				}
				for name, want := range map[string]any{"first": link(tc.first), "prev": link(tc.prev), "next": link(tc.next), "last": link(tc.last)} {
					if links[name] != want {
						t.Errorf("%s = %v, want %v", name, links[name], want)
					}
				}
				if links["self"] != "https://x.example/api/v1/devices?filter%5Bfault%5D=true&sort=-name&page%5Bnumber%5D=9" {
					t.Errorf("self = %v", links["self"])
				}
				for name, l := range links {
					if s, ok := l.(string); ok {
						if err := jsonapitest.CheckURI(s); err != nil {
							t.Errorf("%s: %v", name, err)
						}
					}
				}
			}
		})
	}
}

// TestRequestURL checks that the self link of a request is an RFC 3986 URI
// whatever the client left unencoded in its query (Go's server passes
// brackets, quotes and the like through), and keeps what it encoded.
func TestRequestURL(t *testing.T) {
	a := New(Deps{BaseURL: "https://x.example"})
	for _, tc := range []struct{ name, target, want string }{
		{"OK", "/api/v1/devices/abc?include=group", "https://x.example/api/v1/devices/abc?include=group"},
		{"Brackets", "/api/v1/devices?fields[devices]=name,imei", "https://x.example/api/v1/devices?fields%5Bdevices%5D=name,imei"},
		{"Encoded", "/api/v1/devices?filter%5Bsearch%5D=a%2Cb+c", "https://x.example/api/v1/devices?filter%5Bsearch%5D=a%2Cb+c"},
		{"Unsafe", "/api/v1/devices?filter[search]=a|b^\"`{}", "https://x.example/api/v1/devices?filter%5Bsearch%5D=a%7Cb%5E%22%60%7B%7D"},
		{"LonePercent", "/api/v1/devices?q=100%", "https://x.example/api/v1/devices?q=100%25"},
		{"NoQuery", "/api/v1/users/me", "https://x.example/api/v1/users/me"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			got := a.requestURL(r)
			if got != tc.want {
				t.Errorf("requestURL = %q, want %q", got, tc.want)
			}
			if err := jsonapitest.CheckURI(got); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestUnstorableText(t *testing.T) {
	for _, tc := range []struct {
		name, doc, pointer string
	}{
		{"OK", `{"data":{"attributes":{"name":"a\\u0000b is text"}}}`, ""},
		{"OKNoNUL", `{"data":{"attributes":{"name":"ab"}}}`, ""},
		{"Value", `{"data":{"attributes":{"name":"a\u0000b"}}}`, "/data/attributes/name"},
		{"ArrayItem", `{"data":{"attributes":{"uris":["ok","\u0000"]}}}`, "/data/attributes/uris/1"},
		{"MemberName", `{"data":{"attributes":{"payload":{"a/b~\u0000":1}}}}`, "/data/attributes/payload/a~1b~0\x00"},
		{"FirstByName", `{"data":{"b":"\u0000","a":"\u0000"}}`, "/data/a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, found := unstorableText([]byte(tc.doc))
			if found != (tc.pointer != "") || p != tc.pointer {
				t.Fatalf("unstorableText = %q, %v; want %q", p, found, tc.pointer)
			}
		})
	}
}
