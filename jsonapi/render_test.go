package jsonapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/assetgate/assetgate/resource"
)

// renderPresenters is one value of every presenter type of the package;
// TestRenderCoversEveryPresenter fails when a type with jsonapi: tags is
// missing.
var renderPresenters = []presenter{
	&devicePresenter{}, &groupPresenter{}, &configurationPresenter{}, &applicationPresenter{},
	&deviceTokenPresenter{}, &eventPresenter{}, &deviceStatsPresenter{}, &userPresenter{}, &customerPresenter{},
	&grantPresenter{}, &geogroupPresenter{}, &deviceResourcesPresenter{}, &resourceCallPresenter{},
	&seriesPointPresenter{},
}

// TestRenderCoversEveryPresenter reads the package's source for struct
// types with a jsonapi:"primary,..." tag and checks that each is in
// renderPresenters and has a plan.
func TestRenderCoversEveryPresenter(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, p := range renderPresenters {
		have[reflect.TypeOf(p).Elem().Name()] = true
		if _, err := planOf(reflect.TypeOf(p)); err != nil {
			t.Errorf("%T: %v", p, err)
		}
	}
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fld := range st.Fields.List {
				if fld.Tag != nil && strings.Contains(fld.Tag.Value, `jsonapi:"primary,`) {
					found++
					if !have[ts.Name.Name] {
						t.Errorf("presenter %s (%s) is not in renderPresenters", ts.Name.Name, name)
					}
				}
			}
			return true
		})
	}
	if found < len(renderPresenters) {
		t.Fatalf("found %d presenter types in the source, want at least %d", found, len(renderPresenters))
	}
}

// tricky are strings that test the escaping: HTML characters (not
// escaped), quotes, control characters, U+2028/9, invalid UTF-8, non-ASCII.
var tricky = []string{"", "plain", "a<b>&c", `q"uo\te`, "line\nbreak\ttab\r\b\f", "\x00\x01\x1f\x7f", "sep\u2028\u2029",
	"bad\xff\xfeutf8", "ünï€😀", "/devices?page[number]=1&x=%5B", "trailing\\"}

// trickyFloats test the float formats.
var trickyFloats = []float64{0, math.Copysign(0, -1), 1, -1.5, 52.520008, 13.404954, 1e-7, -1e-7, 1e21, 123456789e15, 1e-300, math.MaxFloat64, 0.1 + 0.2}

// randomJSON returns a value as encoding/json decodes one, nested to depth.
func randomJSON(r *rand.Rand, depth int) any {
	switch k := r.IntN(7); {
	case k == 0 || depth == 0 && k >= 5:
		return tricky[r.IntN(len(tricky))]
	case k == 1:
		return trickyFloats[r.IntN(len(trickyFloats))]
	case k == 2:
		return r.IntN(2) == 0
	case k == 3:
		return nil
	case k == 4:
		return json.Number("12.50")
	case k == 5:
		m := map[string]any{}
		for range r.IntN(4) {
			m[tricky[r.IntN(len(tricky))]] = randomJSON(r, depth-1)
		}
		return m
	default:
		var l []any
		for range r.IntN(4) {
			l = append(l, randomJSON(r, depth-1))
		}
		return l
	}
}

// randomPresenter fills a new presenter of p's type with random values of
// every field (unexported base included): nil and set pointers, empty and
// full slices and maps, nil and set relations.
func randomPresenter(r *rand.Rand, p presenter) presenter {
	v := reflect.New(reflect.TypeOf(p).Elem())
	fill(r, v.Elem(), 0)
	return v.Interface().(presenter)
}

func fill(r *rand.Rand, s reflect.Value, depth int) {
	for i := range s.NumField() {
		f := s.Field(i)
		if !f.CanSet() {
			f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
		}
		switch {
		case s.Type().Field(i).Name == "base":
			f.SetString([]string{"https://api.example.com/api/v1", "http://x/a&b"}[r.IntN(2)])
		case s.Type().Field(i).Name == "ID":
			f.SetString(fmt.Sprintf("id-%d%s", r.IntN(5), []string{"", "<&>", "é"}[r.IntN(3)]))
		case f.Kind() == reflect.String:
			f.SetString(tricky[r.IntN(len(tricky))])
		case f.Kind() == reflect.Bool:
			f.SetBool(r.IntN(2) == 0)
		case f.Kind() == reflect.Int:
			f.SetInt([]int64{0, -1, 3600, math.MaxInt32}[r.IntN(4)])
		case f.Type() == stringPtrType:
			if r.IntN(3) > 0 {
				s := tricky[r.IntN(len(tricky))]
				f.Set(reflect.ValueOf(&s))
			}
		case f.Type() == floatPtrType:
			if r.IntN(3) > 0 {
				x := trickyFloats[r.IntN(len(trickyFloats))]
				f.Set(reflect.ValueOf(&x))
			}
		case f.Type() == stringsType:
			switch r.IntN(3) {
			case 0:
			case 1:
				f.Set(reflect.ValueOf([]string{}))
			default:
				f.Set(reflect.ValueOf(slices.Clone(tricky[:1+r.IntN(len(tricky)-1)])))
			}
		case f.Type() == reflect.TypeFor[map[string]any]():
			switch r.IntN(3) {
			case 0:
			case 1:
				f.Set(reflect.ValueOf(map[string]any{}))
			default:
				m := map[string]any{}
				for range 1 + r.IntN(5) {
					m[tricky[r.IntN(len(tricky))]] = randomJSON(r, 3)
				}
				f.Set(reflect.ValueOf(m))
			}
		case f.Type() == reflect.TypeFor[[]map[string]any]():
			if n := r.IntN(3); n > 0 {
				list := []map[string]any{}
				for range n - 1 {
					list = append(list, map[string]any{tricky[r.IntN(len(tricky))]: randomJSON(r, 2)})
				}
				f.Set(reflect.ValueOf(list))
			}
		case f.Kind() == reflect.Interface:
			if v := randomJSON(r, 3); v != nil && r.IntN(3) > 0 {
				f.Set(reflect.ValueOf(v))
			}
		case f.Kind() == reflect.Float64:
			f.SetFloat(trickyFloats[r.IntN(len(trickyFloats))])
		case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct:
			// A relation: nil, or a presenter whose fields are set (only its
			// type and id may show).
			if depth < 2 && r.IntN(4) > 0 {
				rel := reflect.New(f.Type().Elem())
				fill(r, rel.Elem(), depth+1)
				f.Set(rel)
			}
		default:
			panic(fmt.Sprintf("fill: field %s of %v", s.Type().Field(i).Name, s.Type()))
		}
	}
}

// randomFields returns random sparse fieldsets over the types of ps: none,
// an empty one, or some of each type's members.
func randomFields(r *rand.Rand, ps []presenter) map[string][]string {
	if r.IntN(3) == 0 {
		return nil
	}
	out := map[string][]string{}
	for _, p := range ps {
		pl, _, err := identify(p)
		if err != nil {
			continue
		}
		members := membersOf(reflect.ValueOf(p).Elem().Interface())
		var keep []string
		for _, m := range members {
			if r.IntN(2) == 0 {
				keep = append(keep, m)
			}
		}
		if keep == nil {
			keep = []string{}
		}
		out[pl.typ] = keep
	}
	return out
}

// reference writes what the google/jsonapi path writes.
func reference(t *testing.T, write func(w http.ResponseWriter) error) (body []byte, panicked bool) {
	t.Helper()
	rec := httptest.NewRecorder()
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	if err := write(rec); err != nil {
		t.Fatalf("reference: %v", err)
	}
	return rec.Body.Bytes(), false
}

func rendered(t *testing.T, write func(w http.ResponseWriter) error) (body []byte, h http.Header, panicked bool) {
	t.Helper()
	rec := httptest.NewRecorder()
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	if err := write(rec); err != nil {
		t.Fatalf("render: %v", err)
	}
	return rec.Body.Bytes(), rec.Header(), false
}

// TestRenderMatchesLibrary is the differential test of render.go: for
// random values of every presenter type (nil pointers, omitempty members,
// empty and nil slices and maps, nested maps with strings that need
// escaping, odd floats, nil and set relations), random sparse fieldsets and
// random included resources (with repeats and primary resources among
// them), one-resource and list documents written by the renderer are
// byte-for-byte those of google/jsonapi's Marshal with this package's
// fixes, written by encoding/json.
func TestRenderMatchesLibrary(t *testing.T) {
	a := New(Deps{BaseURL: "https://api.example.com"})
	req := httptest.NewRequest("GET", "/api/v1/devices?filter[fault]=true&page%5Bsize%5D=2&sort=-name", nil)
	r := rand.New(rand.NewPCG(1, 2))
	cases := 0
	for round := range 400 {
		var ps []presenter
		for range r.IntN(4) {
			ps = append(ps, randomPresenter(r, renderPresenters[r.IntN(len(renderPresenters))]))
		}
		var related []presenter
		for range r.IntN(4) {
			related = append(related, randomPresenter(r, renderPresenters[r.IntN(len(renderPresenters))]))
		}
		if len(ps) > 0 && r.IntN(3) == 0 {
			related = append(related, ps[0]) // a primary resource among the related ones
		}
		if len(related) > 0 && r.IntN(3) == 0 {
			related = append(related, related[0]) // a repeat
		}
		q := resource.Query{Fields: randomFields(r, append(slices.Clone(ps), related...))}
		page, total := resource.Page{Number: 1 + r.IntN(3), Size: 2}, r.IntN(9)
		check := func(name string, ref, fast func(w http.ResponseWriter) error) {
			t.Helper()
			want, refPanicked := reference(t, ref)
			got, h, fastPanicked := rendered(t, fast)
			switch {
			case fastPanicked && !refPanicked:
				t.Fatalf("round %d %s: the renderer panicked, the reference did not", round, name)
			case refPanicked:
				// An event presenter without its device: the library calls
				// its relationship links even when a fieldset hides the
				// relation. presentEvent always sets the device.
				return
			}
			cases++
			if !bytes.Equal(got, want) {
				t.Fatalf("round %d %s (fields %v):\nrenderer:  %s\nreference: %s", round, name, q.Fields, got, want)
			}
			if !json.Valid(got) || h.Get("Content-Type") != MediaType || h.Get("Content-Length") != fmt.Sprint(len(got)) {
				t.Fatalf("round %d %s: headers %v, valid %v", round, name, h, json.Valid(got))
			}
		}
		check("many", func(w http.ResponseWriter) error {
			doc, err := a.builder(q).many(req, ps, related, page, total)
			if err != nil {
				return err
			}
			writeDocument(w, http.StatusOK, doc)
			return nil
		}, func(w http.ResponseWriter) error {
			return a.writeMany(w, req, q, ps, related, page, total)
		})
		if len(ps) > 0 {
			check("one", func(w http.ResponseWriter) error {
				doc, err := a.builder(q).one(req, ps[0], related)
				if err != nil {
					return err
				}
				writeDocument(w, http.StatusOK, doc)
				return nil
			}, func(w http.ResponseWriter) error {
				return a.writeOne(w, req, http.StatusOK, q, ps[0], related)
			})
		}
	}
	if cases < 500 {
		t.Fatalf("only %d documents compared", cases)
	}
}

// TestRenderRefuses checks that a presenter the renderer cannot write as
// the library would is an error before anything is written, not a wrong
// document.
func TestRenderRefuses(t *testing.T) {
	type timed struct {
		presenter
		ID string `jsonapi:"primary,timed"`
		At any    `jsonapi:"attr,at,iso8601"`
	}
	type many struct {
		presenter
		ID    string             `jsonapi:"primary,many"`
		Peers []*devicePresenter `jsonapi:"relation,peers"`
	}
	type noID struct {
		presenter
		Name string `jsonapi:"attr,name"`
	}
	for _, p := range []presenter{&timed{ID: "x"}, &many{ID: "x"}, &noID{}} {
		rec := httptest.NewRecorder()
		err := writeRendered(rec, http.StatusOK, func(b []byte) ([]byte, error) { return (&docWriter{}).object(b, p) })
		if err == nil || rec.Body.Len() != 0 || rec.Code != http.StatusOK && rec.Code != 0 {
			t.Errorf("%T: err %v, wrote %q", p, err, rec.Body.String())
		}
	}
}
