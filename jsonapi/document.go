package jsonapi

import (
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
)

// Resource types: the type member of each resource object.
const (
	typeUsers          = "users"
	typeCustomers      = "customers"
	typeApplications   = "applications"
	typeDevices        = "devices"
	typeDeviceGroups   = "device-groups"
	typeGeogroups      = "geogroups"
	typeConfigurations = "configurations"
)

// Version is the JSON:API version the documents declare.
const Version = "1.1"

// The presenters are structs with github.com/google/jsonapi v1.0.0's
// jsonapi: tags. That library turns a presenter into a resource object (a
// *jsonapi.Node) but gets compound documents wrong; render.go writes the
// documents of presenters itself, reading the tags once per type, with the
// library's output as its reference (render_reference_test.go) minus these
// defects. What the library does, and what this package does instead (each
// has a TestJSONAPIDefect_ test):
//
//  1. It collects `included` in a map and returns it in map order, and puts
//     a primary resource in `included` when another primary resource
//     relates to it. Here `included` comes from what the service loaded,
//     each type+id once, never a primary resource, ordered by type and id.
//  2. It side-loads every non-nil relation. Here its `included` is thrown
//     away: relations carry linkage only, and `included` holds just the
//     paths that include= asked for (the service checks the paths).
//  3. It has no sparse fieldsets. Here fields[TYPE] filters attributes and
//     relationships of every resource object.
//  4. It writes time.Time as Unix seconds unless tagged, and panics on an
//     ID of a named string type. Presenters here hold RFC 3339 strings and
//     plain string IDs.
//  5. It drops the links of a to-one relation that is nil. Here every
//     relationship keeps its links.
//  6. Its error object has no source (errors.go adds one), and its
//     unmarshalling cannot tell null from absent (request.go reads the raw
//     JSON).

// jsonapiObject is the top-level jsonapi member.
type jsonapiObject struct {
	Version string `json:"version"`
}

// version returns the jsonapi member every document declares.
func version() *jsonapiObject { return &jsonapiObject{Version: Version} }

// document is a JSON:API document with primary data. Data is a
// *jsonapi.Node, a []*jsonapi.Node (never nil) or nil for null.
type document struct {
	Data     any             `json:"data"`
	Included []*jsonapi.Node `json:"included,omitempty"`
	Links    jsonapi.Links   `json:"links,omitempty"`
	Meta     jsonapi.Meta    `json:"meta,omitempty"`
	JSONAPI  *jsonapiObject  `json:"jsonapi"`
}

// presenter is a struct pointer with jsonapi: tags that also knows its
// links.
type presenter interface {
	jsonapi.Linkable
	jsonapi.RelationshipLinkable
}

// alwaysShown is the attribute no sparse fieldset hides: a client secret
// is shown once and must not be lost to a fieldset.
const alwaysShown = "client_secret"

// linkage builds a relationship document: primary data is a resource
// identifier or null.
func (a *API) linkage(self, related, typ, id string) *document {
	links := jsonapi.Links{"self": self}
	if related != "" {
		links["related"] = related
	}
	d := &document{Links: links, JSONAPI: version()}
	if id != "" {
		d.Data = &jsonapi.Node{Type: typ, ID: id}
	}
	return d
}

// url returns the absolute link of a path under the base path.
func (a *API) url(path string) string { return a.base + path }

// requestURL returns the link of the request itself: its path and query
// as the client sent them, with every character RFC 3986 does not allow
// there percent-encoded (the brackets of page[..], filter[..] and
// fields[..] become %5B and %5D), so the link is a URI.
func (a *API) requestURL(r *http.Request) string {
	u := a.url(escapeURIPart(strings.TrimPrefix(r.URL.Path, BasePath), false))
	if r.URL.RawQuery != "" {
		u += "?" + escapeURIPart(r.URL.RawQuery, true)
	}
	return u
}

// pageLinks returns self, first, prev, next and last of a list page; prev
// and next are null where there is no such page. Every link is a URI:
// parameter names are written percent-encoded (page%5Bnumber%5D=2).
func (a *API) pageLinks(r *http.Request, page resource.Page, total int) jsonapi.Links {
	last := page.LastNumber(total)
	path := a.url(escapeURIPart(strings.TrimPrefix(r.URL.Path, BasePath), false))
	at := func(n int) string {
		q := r.URL.Query()
		q.Set("page[number]", strconv.Itoa(n))
		q.Set("page[size]", strconv.Itoa(page.Size))
		return path + "?" + q.Encode()
	}
	links := jsonapi.Links{"self": a.requestURL(r), "first": at(1), "last": at(last), "prev": nil, "next": nil}
	if page.Number > 1 {
		links["prev"] = at(min(page.Number-1, last))
	}
	if page.Number < last {
		links["next"] = at(page.Number + 1)
	}
	return links
}

// escapeURIPart percent-encodes every byte of s that RFC 3986 does not
// allow in a path (query false; s is the decoded path) or a query (query
// true; s is the raw query, whose valid %XX escapes are kept as sent).
func escapeURIPart(s string, query bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0, query && c == '?':
			b.WriteByte(c)
		case query && c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// timeString formats t as RFC 3339 in UTC (defect 4).
func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// optTime formats an optional time; nil stays nil (null).
func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timeString(*t)
	return &s
}

// optString returns nil (null) for "".
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// membersOf lists the attribute and relationship names of a presenter
// type, read from its jsonapi: tags (the names fields[TYPE] may list).
func membersOf(p any) []string {
	t := reflect.TypeOf(p)
	var out []string
	for i := range t.NumField() {
		tag := strings.Split(t.Field(i).Tag.Get("jsonapi"), ",")
		if len(tag) >= 2 && (tag[0] == "attr" || tag[0] == "relation") {
			out = append(out, tag[1])
		}
	}
	return out
}
