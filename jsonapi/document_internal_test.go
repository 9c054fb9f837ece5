package jsonapi

import (
	"net/http/httptest"
	"slices"
	"testing"
	"time"

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
	doc, err := a.builder(resource.Query{}).many(r, primary, related, resource.Page{Number: 1, Size: 25}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range doc.Included {
		got = append(got, n.Type+"/"+n.ID)
	}
	want := []string{"configurations/c1", "configurations/c3", "device-groups/g0"}
	if !slices.Equal(got, want) {
		t.Fatalf("included %v, want %v", got, want)
	}
}

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
			r := httptest.NewRequest("GET", "/api/v1/devices?filter[fault]=true&sort=-name&page[number]=9", nil)
			links := a.pageLinks(r, resource.Page{Number: tc.number, Size: tc.size}, tc.total)
			link := func(n any) any {
				if n == nil {
					return nil
				}
				return "https://x.example/api/v1/devices?filter[fault]=true&page[number]=" + n.(string) + "&page[size]=10&sort=-name"
			}
			for name, want := range map[string]any{"first": link(tc.first), "prev": link(tc.prev), "next": link(tc.next), "last": link(tc.last)} {
				if links[name] != want {
					t.Errorf("%s = %v, want %v", name, links[name], want)
				}
			}
			if links["self"] != "https://x.example/api/v1/devices?filter[fault]=true&sort=-name&page[number]=9" {
				t.Errorf("self = %v", links["self"])
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
