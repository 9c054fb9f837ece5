package jsonapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// Each TestJSONAPIDefect_ test first shows what github.com/google/jsonapi
// v1.0.0 does on its own, then that this package's documents do not.

// libNode is a resource with relations, to show the library's behaviour.
type libNode struct {
	ID    string     `jsonapi:"primary,nodes"`
	Name  string     `jsonapi:"attr,name"`
	Next  *libNode   `jsonapi:"relation,next"`
	Peers []*libNode `jsonapi:"relation,peers"`
}

func (n *libNode) JSONAPIRelationshipLinks(rel string) *jsonapi.Links {
	return &jsonapi.Links{"self": "/nodes/" + n.ID + "/relationships/" + rel}
}

func libMarshal(t *testing.T, v any) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	must(t, jsonapi.MarshalPayload(&buf, v))
	var doc map[string]any
	must(t, json.Unmarshal(buf.Bytes(), &doc))
	return doc
}

func includedKeys(doc map[string]any) []string {
	var out []string
	inc, _ := doc["included"].([]any)
	for _, o := range inc {
		m := o.(map[string]any)
		out = append(out, m["type"].(string)+"/"+m["id"].(string))
	}
	return out
}

func TestJSONAPIDefect_IncludedRepeatsPrimaryInMapOrder(t *testing.T) {
	t.Run("Library", func(t *testing.T) {
		// Two primary resources, the first relating to the second: the
		// library puts the second in included as well.
		b := &libNode{ID: "b", Name: "B"}
		a := &libNode{ID: "a", Name: "A", Next: b}
		if keys := includedKeys(libMarshal(t, []*libNode{a, b})); len(keys) != 1 || keys[0] != "nodes/b" {
			t.Fatalf("library included = %v; expected it to repeat primary nodes/b", keys)
		}
		// Its included comes out of a map: the order changes from call to
		// call.
		root := &libNode{ID: "root"}
		for i := range 12 {
			root.Peers = append(root.Peers, &libNode{ID: fmt.Sprint("p", i)})
		}
		orders := map[string]bool{}
		for range 50 {
			orders[strings.Join(includedKeys(libMarshal(t, root)), ",")] = true
		}
		if len(orders) < 2 {
			t.Fatalf("library gave one included order in 50 runs; expected map order")
		}
	})
	t.Run("Ours", func(t *testing.T) {
		f := newFixture(t, storage.SQLite)
		// Many devices of one group: the group is included once, and the
		// same request gives the same bytes every time.
		for range 5 {
			f.do(t, "POST", "/api/v1/devices", f.a.app, resourceDoc("devices", "", map[string]any{"name": "D", "imei": storagetest.NewIMEI()},
				map[string]any{"group": linkage("device-groups", f.a.group.ID)})).doc(t, http.StatusCreated)
		}
		var first []byte
		for i := range 10 {
			res := f.do(t, "GET", "/api/v1/devices?include=group.configuration", f.a.app, nil)
			doc := res.doc(t, http.StatusOK) // validateDocument checks type+id uniqueness
			if keys := includedKeys(doc); len(keys) != 2 || keys[0] != "configurations/"+f.a.config.ID || keys[1] != "device-groups/"+f.a.group.ID {
				t.Fatalf("included = %v", keys)
			}
			if i == 0 {
				first = res.body
			} else if !bytes.Equal(first, res.body) {
				t.Fatalf("the same request gave different documents:\n%s\n%s", first, res.body)
			}
		}
	})
}

func TestJSONAPIDefect_SideloadsEveryRelation(t *testing.T) {
	t.Run("Library", func(t *testing.T) {
		doc := libMarshal(t, &libNode{ID: "a", Next: &libNode{ID: "b"}})
		if keys := includedKeys(doc); len(keys) != 1 {
			t.Fatalf("library included = %v; expected it to side-load the relation unasked", keys)
		}
	})
	t.Run("Ours", func(t *testing.T) {
		f := newFixture(t, storage.SQLite)
		path := "/api/v1/devices/" + f.a.device.ID
		if doc := f.do(t, "GET", path, f.a.app, nil).doc(t, http.StatusOK); doc["included"] != nil {
			t.Fatalf("included without include=: %v", doc["included"])
		}
		doc := f.do(t, "GET", path+"?include=group", f.a.app, nil).doc(t, http.StatusOK)
		if keys := includedKeys(doc); len(keys) != 1 || keys[0] != "device-groups/"+f.a.group.ID {
			t.Fatalf("include=group gave %v", keys)
		}
		for _, bad := range []string{"owner", "group.owner", "group,"} {
			e := f.do(t, "GET", path+"?include="+bad, f.a.app, nil).errorOf(t, http.StatusBadRequest)
			if source(e, "parameter") != "include" {
				t.Fatalf("include=%s: %v", bad, e)
			}
		}
		e := f.do(t, "GET", "/api/v1/devices?include=customer", f.a.app, nil).errorOf(t, http.StatusBadRequest)
		if source(e, "parameter") != "include" {
			t.Fatalf("list include=customer: %v", e)
		}
	})
}

func TestJSONAPIDefect_NoSparseFieldsets(t *testing.T) {
	t.Run("Library", func(t *testing.T) {
		// Marshal takes no fieldset: every attribute and relation is
		// always written.
		if reflect.TypeOf(jsonapi.Marshal).NumIn() != 1 {
			t.Fatal("jsonapi.Marshal now takes options; revisit this test")
		}
		d := libMarshal(t, &libNode{ID: "a", Name: "A"})["data"].(map[string]any)
		if _, ok := attrs(d)["name"]; !ok {
			t.Fatalf("library data %v", d)
		}
	})
	t.Run("Ours", func(t *testing.T) {
		f := newFixture(t, storage.SQLite)
		doc := f.do(t, "GET", "/api/v1/devices?include=group&fields[devices]=name,group&fields[device-groups]=name", f.a.app, nil).doc(t, http.StatusOK)
		d := doc["data"].([]any)[0].(map[string]any)
		if a := attrs(d); len(a) != 1 || a["name"] == nil {
			t.Fatalf("device attributes %v", a)
		}
		if rels := d["relationships"].(map[string]any); len(rels) != 1 || rels["group"] == nil {
			t.Fatalf("device relationships %v", rels)
		}
		g := doc["included"].([]any)[0].(map[string]any)
		if a := attrs(g); len(a) != 1 || a["name"] == nil || g["relationships"] != nil {
			t.Fatalf("included group %v", g)
		}
		d = data(t, f.do(t, "GET", "/api/v1/devices/"+f.a.device.ID+"?fields[devices]=", f.a.app, nil).doc(t, http.StatusOK))
		if d["attributes"] != nil || d["relationships"] != nil || d["id"] != f.a.device.ID {
			t.Fatalf("empty fieldset gave %v", d)
		}
		for _, bad := range []string{"fields[nope]=name", "fields[devices]=colour", "fields[devices]=name,,imei"} {
			name, _, _ := strings.Cut(bad, "=")
			e := f.do(t, "GET", "/api/v1/devices?"+bad, f.a.app, nil).errorOf(t, http.StatusBadRequest)
			if source(e, "parameter") != name {
				t.Fatalf("%s: %v", bad, e)
			}
		}
	})
}

// libTimed has an untagged time attribute; libNamedID a named string id.
type libTimed struct {
	ID string    `jsonapi:"primary,timed"`
	At time.Time `jsonapi:"attr,at"`
}

type deviceID string

type libNamedID struct {
	ID deviceID `jsonapi:"primary,named"`
}

func TestJSONAPIDefect_UnixTimesAndNamedIDPanic(t *testing.T) {
	t.Run("Library", func(t *testing.T) {
		d := libMarshal(t, &libTimed{ID: "x", At: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)})["data"].(map[string]any)
		if _, isNumber := attrs(d)["at"].(float64); !isNumber {
			t.Fatalf("library wrote time as %T; expected Unix seconds", attrs(d)["at"])
		}
		panicked := func() (p bool) {
			defer func() { p = recover() != nil }()
			_, _ = jsonapi.Marshal(&libNamedID{ID: "x"})
			return false
		}()
		if !panicked {
			t.Fatal("library did not panic on a named string id; revisit this test")
		}
	})
	t.Run("Ours", func(t *testing.T) {
		f := newFixture(t, storage.SQLite)
		d := data(t, f.do(t, "GET", "/api/v1/devices/"+f.a.device.ID, f.a.app, nil).doc(t, http.StatusOK))
		if d["id"] != f.a.device.ID {
			t.Fatalf("id %v", d["id"])
		}
		for _, name := range []string{"created_at", "updated_at"} {
			s, _ := attrs(d)[name].(string)
			at, err := time.Parse(time.RFC3339Nano, s)
			if err != nil || !at.Equal(f.a.device.CreatedAt) && name == "created_at" {
				t.Fatalf("%s = %v (%v); want RFC 3339 of %v", name, attrs(d)[name], err, f.a.device.CreatedAt)
			}
		}
	})
}

// libMAC has a nullable attribute.
type libMAC struct {
	ID  string  `jsonapi:"primary,devices"`
	MAC *string `jsonapi:"attr,mac"`
}

func TestJSONAPIDefect_NullAndAbsentLookAlike(t *testing.T) {
	t.Run("Library", func(t *testing.T) {
		var absent, null libMAC
		must(t, jsonapi.UnmarshalPayload(strings.NewReader(`{"data":{"type":"devices","id":"1","attributes":{}}}`), &absent))
		must(t, jsonapi.UnmarshalPayload(strings.NewReader(`{"data":{"type":"devices","id":"1","attributes":{"mac":null}}}`), &null))
		if !reflect.DeepEqual(absent, null) {
			t.Fatalf("library told null from absent: %+v vs %+v", absent, null)
		}
	})
	t.Run("Ours", func(t *testing.T) {
		f := newFixture(t, storage.SQLite)
		id := f.a.device.ID
		path := "/api/v1/devices/" + id
		f.do(t, "PATCH", path, f.a.app, resourceDoc("devices", id, map[string]any{"mac": "02:00:00:00:00:01"}, nil)).doc(t, http.StatusOK)
		d := data(t, f.do(t, "PATCH", path, f.a.app, resourceDoc("devices", id, map[string]any{}, nil)).doc(t, http.StatusOK))
		if attrs(d)["mac"] != "02:00:00:00:00:01" || d["relationships"].(map[string]any)["group"].(map[string]any)["data"] == nil {
			t.Fatalf("absent mac or group changed: %v", d)
		}
		d = data(t, f.do(t, "PATCH", path, f.a.app, resourceDoc("devices", id, map[string]any{"mac": nil}, nil)).doc(t, http.StatusOK))
		if m, has := attrs(d)["mac"]; !has || m != nil {
			t.Fatalf("null mac did not clear: %v", attrs(d))
		}
	})
}

func TestJSONAPIDefect_ErrorObjectHasNoSource(t *testing.T) {
	t.Run("Library", func(t *testing.T) {
		if _, ok := reflect.TypeOf(jsonapi.ErrorObject{}).FieldByName("Source"); ok {
			t.Fatal("library error object has a Source now; revisit this test")
		}
		var buf bytes.Buffer
		must(t, jsonapi.MarshalErrors(&buf, []*jsonapi.ErrorObject{{Status: "400", Title: "Bad"}}))
		if strings.Contains(buf.String(), "source") {
			t.Fatalf("library error has a source: %s", buf.String())
		}
	})
	t.Run("Ours", func(t *testing.T) {
		f := newFixture(t, storage.SQLite)
		e := f.do(t, "GET", "/api/v1/devices?page[size]=101", f.a.app, nil).errorOf(t, http.StatusBadRequest)
		if source(e, "parameter") != "page[size]" || e["code"] != "Invalid" || e["title"] != "Bad Request" || e["detail"] == "" {
			t.Fatalf("query error %v", e)
		}
		e = f.do(t, "POST", "/api/v1/devices", f.a.app, resourceDoc("devices", "", map[string]any{"name": "x", "imei": "1"}, nil)).errorOf(t, 422)
		if source(e, "pointer") != "/data/attributes/imei" {
			t.Fatalf("body error %v", e)
		}
	})
}

func TestJSONAPIDefect_EmptyToOneLosesLinks(t *testing.T) {
	t.Run("Library", func(t *testing.T) {
		d := libMarshal(t, &libNode{ID: "a"})["data"].(map[string]any)
		next := d["relationships"].(map[string]any)["next"].(map[string]any)
		if _, has := next["links"]; has {
			t.Fatalf("library kept the links of a nil relation: %v", next)
		}
	})
	t.Run("Ours", func(t *testing.T) {
		f := newFixture(t, storage.SQLite)
		id := f.a.device.ID
		f.do(t, "PATCH", "/api/v1/devices/"+id+"/relationships/group", f.a.app, map[string]any{"data": nil}).doc(t, http.StatusOK)
		d := data(t, f.do(t, "GET", "/api/v1/devices/"+id, f.a.app, nil).doc(t, http.StatusOK))
		g := d["relationships"].(map[string]any)["group"].(map[string]any)
		links, _ := g["links"].(map[string]any)
		if g["data"] != nil || links["related"] != "https://api.example.com/api/v1/devices/"+id+"/group" {
			t.Fatalf("empty group relationship %v", g)
		}
	})
}
