package jsonapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
)

// This file writes the documents of presenters straight into a byte
// buffer. It reads the presenters' jsonapi: tags once per type (a plan,
// cached by reflect.Type) and then only reads field values, where
// google/jsonapi's Marshal parses every tag of every item, builds maps of
// interface values and leaves encoding/json to walk them again.
//
// What it writes is what google/jsonapi v1.0.0's Marshal followed by
// encoding/json writes, with the fixes of document.go's list applied:
// relations carry linkage only and included holds what the service loaded
// (each type+id once, never primary data, ordered by type and id), sparse
// fieldsets, the links of empty to-one relations kept. Members are written
// in the order encoding/json writes them (struct fields in order, map keys
// sorted), strings escaped as encoding/json escapes them without HTML
// escaping, so the bytes are those of the reference path
// (render_reference_test.go holds it and TestRenderMatchesLibrary compares
// the two).

// plan is how one presenter type is written.
type plan struct {
	typ   string // the resource type, from the primary tag
	id    int    // index of the primary field (a string)
	attrs []attrPlan
	rels  []relPlan
}

// attrPlan writes one attribute.
type attrPlan struct {
	name      string
	index     int
	omitEmpty bool
	write     func(b []byte, v reflect.Value) ([]byte, error)
}

// relPlan writes one to-one relationship: a pointer to a presenter of
// type typ whose id is field id.
type relPlan struct {
	name  string
	index int
	typ   string
	id    int
}

var plans sync.Map // reflect.Type → *plan or error

// planOf returns the plan of a presenter's type, built once.
func planOf(t reflect.Type) (*plan, error) {
	if v, ok := plans.Load(t); ok {
		if p, ok := v.(*plan); ok {
			return p, nil
		}
		return nil, v.(error)
	}
	p, err := buildPlan(t)
	if err != nil {
		plans.Store(t, err)
		return nil, err
	}
	v, _ := plans.LoadOrStore(t, p)
	return v.(*plan), nil
}

var (
	stringType    = reflect.TypeFor[string]()
	stringPtrType = reflect.TypeFor[*string]()
	boolType      = reflect.TypeFor[bool]()
	intType       = reflect.TypeFor[int]()
	floatPtrType  = reflect.TypeFor[*float64]()
	stringsType   = reflect.TypeFor[[]string]()
	presenterType = reflect.TypeFor[presenter]()
	metableType   = reflect.TypeFor[jsonapi.Metable]()
	relMetaType   = reflect.TypeFor[jsonapi.RelationshipMetable]()
)

// buildPlan reads the jsonapi: tags of a presenter type (a pointer to a
// struct). It refuses what the presenters of this package do not use, so
// that a new kind of member fails loudly rather than being written wrongly:
// client ids, to-many relations, meta, time.Time attributes and non-string
// primary fields.
func buildPlan(t reflect.Type) (*plan, error) {
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("jsonapi: render %v: not a pointer to a struct", t)
	}
	if t.Implements(metableType) || t.Implements(relMetaType) {
		return nil, fmt.Errorf("jsonapi: render %v: meta is not supported", t)
	}
	s := t.Elem()
	p := &plan{id: -1}
	for i := range s.NumField() {
		f := s.Field(i)
		tag, ok := f.Tag.Lookup("jsonapi")
		if !ok || tag == "" {
			continue
		}
		args := strings.Split(tag, ",")
		if len(args) < 2 {
			return nil, fmt.Errorf("jsonapi: render %v: bad tag %q", t, tag)
		}
		switch args[0] {
		case "primary":
			if f.Type != stringType {
				return nil, fmt.Errorf("jsonapi: render %v: primary field %s is not a string", t, f.Name)
			}
			p.typ, p.id = args[1], i
		case "attr":
			a := attrPlan{name: args[1], index: i}
			for _, opt := range args[2:] {
				switch opt {
				case "omitempty":
					a.omitEmpty = true
				default:
					return nil, fmt.Errorf("jsonapi: render %v: attribute option %q is not supported", t, opt)
				}
			}
			w, err := attrWriter(f.Type)
			if err != nil {
				return nil, fmt.Errorf("jsonapi: render %v.%s: %w", t, f.Name, err)
			}
			a.write = w
			p.attrs = append(p.attrs, a)
		case "relation":
			if len(args) > 2 {
				return nil, fmt.Errorf("jsonapi: render %v: relation option %q is not supported", t, args[2])
			}
			if !f.Type.Implements(presenterType) || f.Type.Kind() != reflect.Pointer {
				return nil, fmt.Errorf("jsonapi: render %v.%s: a relation is a pointer to a presenter", t, f.Name)
			}
			typ, id, err := primaryOf(f.Type.Elem())
			if err != nil {
				return nil, fmt.Errorf("jsonapi: render %v.%s: %w", t, f.Name, err)
			}
			p.rels = append(p.rels, relPlan{name: args[1], index: i, typ: typ, id: id})
		default:
			return nil, fmt.Errorf("jsonapi: render %v: annotation %q is not supported", t, args[0])
		}
	}
	if p.id < 0 {
		return nil, fmt.Errorf("jsonapi: render %v: no primary field", t)
	}
	// encoding/json writes map keys sorted; so does the plan.
	slices.SortFunc(p.attrs, func(x, y attrPlan) int { return strings.Compare(x.name, y.name) })
	slices.SortFunc(p.rels, func(x, y relPlan) int { return strings.Compare(x.name, y.name) })
	return p, nil
}

// primaryOf returns the resource type and the primary field of a presenter
// struct.
func primaryOf(s reflect.Type) (string, int, error) {
	for i := range s.NumField() {
		args := strings.Split(s.Field(i).Tag.Get("jsonapi"), ",")
		if args[0] == "primary" && len(args) >= 2 && s.Field(i).Type == stringType {
			return args[1], i, nil
		}
	}
	return "", 0, fmt.Errorf("%v has no string primary field", s)
}

// attrWriter returns the writer of an attribute of type t: the common
// types directly, anything else through encoding/json.
func attrWriter(t reflect.Type) (func([]byte, reflect.Value) ([]byte, error), error) {
	switch t {
	case stringType:
		return func(b []byte, v reflect.Value) ([]byte, error) { return appendString(b, v.String()), nil }, nil
	case stringPtrType:
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(b, "null"...), nil
			}
			return appendString(b, v.Elem().String()), nil
		}, nil
	case boolType:
		return func(b []byte, v reflect.Value) ([]byte, error) { return strconv.AppendBool(b, v.Bool()), nil }, nil
	case intType:
		return func(b []byte, v reflect.Value) ([]byte, error) { return strconv.AppendInt(b, v.Int(), 10), nil }, nil
	case floatPtrType:
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(b, "null"...), nil
			}
			return appendFloat(b, v.Elem().Float())
		}, nil
	case stringsType:
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(b, "null"...), nil
			}
			b = append(b, '[')
			for i := range v.Len() {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, v.Index(i).String())
			}
			return append(b, ']'), nil
		}, nil
	case reflect.TypeFor[time.Time](), reflect.TypeFor[*time.Time]():
		// google/jsonapi writes these as Unix seconds (document.go, defect
		// 4); presenters hold RFC 3339 strings instead.
		return nil, fmt.Errorf("time attributes are not supported: use timeString")
	}
	return func(b []byte, v reflect.Value) ([]byte, error) { return appendJSON(b, v.Interface()) }, nil
}

// appendJSON appends v as encoding/json writes it without HTML escaping.
func appendJSON(b []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, err
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

// appendFloat appends f as encoding/json writes a float64.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, fmt.Errorf("jsonapi: unsupported float value %v", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it with HTML escaping off: quote, backslash and control
// characters, invalid UTF-8 as U+FFFD, U+2028 and U+2029.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped appends the inside of the JSON string of s (appendString
// without the quotes), for strings written in pieces.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// appendLink appends one member of a links object whose link is the
// concatenation of parts: ,"name":"part1part2…" (without the leading comma
// when first).
func appendLink(b []byte, first bool, name string, parts ...string) []byte {
	if !first {
		b = append(b, ',')
	}
	b = appendString(b, name)
	b = append(b, ':', '"')
	for _, p := range parts {
		b = appendEscaped(b, p)
	}
	return append(b, '"')
}

// linkWriter is a presenter that writes its links itself, without the maps
// of JSONAPILinks and JSONAPIRelationshipLinks (the presenters of the list
// routes). What it writes must be what those write: TestRenderMatchesLibrary
// compares them.
type linkWriter interface {
	// appendLinks appends the links object of JSONAPILinks.
	appendLinks(b []byte) []byte
	// appendRelationshipLinks appends the links object of
	// JSONAPIRelationshipLinks(rel), or reports false for none.
	appendRelationshipLinks(b []byte, rel string) ([]byte, bool)
}

// appendLinks appends a links object: its members sorted by name, each a
// string, null, or (through encoding/json) a link object.
func appendLinks(b []byte, l jsonapi.Links) ([]byte, error) {
	var small [8]string
	keys := small[:0]
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		switch v := l[k].(type) {
		case string:
			b = appendString(b, v)
		case nil:
			b = append(b, "null"...)
		default:
			var err error
			if b, err = appendJSON(b, v); err != nil {
				return b, err
			}
		}
	}
	return append(b, '}'), nil
}

// resourceLinks returns the links of a presenter, refusing what
// google/jsonapi refuses (a member that is neither a string nor a link
// object).
func resourceLinks(l *jsonapi.Links) error {
	if l == nil {
		return nil
	}
	for k, v := range *l {
		switch v.(type) {
		case string, jsonapi.Link:
		default:
			return fmt.Errorf("jsonapi: the %s member of the links object was not a string or link object", k)
		}
	}
	return nil
}

// docWriter writes the documents of one request, applying its sparse
// fieldsets.
type docWriter struct {
	api    *API
	fields map[string][]string
}

// writer returns a document writer applying q's sparse fieldsets.
func (a *API) writer(q resource.Query) *docWriter {
	return &docWriter{api: a, fields: q.Fields}
}

// identify returns the plan, the struct value and the id of a presenter.
func identify(p presenter) (*plan, reflect.Value, error) {
	v := reflect.ValueOf(p)
	pl, err := planOf(v.Type())
	if err != nil {
		return nil, reflect.Value{}, err
	}
	if v.IsNil() {
		return nil, reflect.Value{}, fmt.Errorf("jsonapi: render %T: nil presenter", p)
	}
	return pl, v.Elem(), nil
}

// object appends the resource object of p.
func (d *docWriter) object(b []byte, p presenter) ([]byte, error) {
	pl, s, err := identify(p)
	if err != nil {
		return b, err
	}
	keep, sparse := d.fields[pl.typ]
	shown := func(name string) bool {
		return !sparse || slices.Contains(keep, name)
	}
	b = append(b, `{"type":`...)
	b = appendString(b, pl.typ)
	if id := s.Field(pl.id).String(); id != "" {
		b = append(b, `,"id":`...)
		b = appendString(b, id)
	}
	n := 0
	for i := range pl.attrs {
		a := &pl.attrs[i]
		if !shown(a.name) && a.name != alwaysShown {
			continue
		}
		f := s.Field(a.index)
		if a.omitEmpty && isEmpty(f) {
			continue
		}
		if n == 0 {
			b = append(b, `,"attributes":{`...)
		} else {
			b = append(b, ',')
		}
		n++
		b = appendString(b, a.name)
		b = append(b, ':')
		if b, err = a.write(b, f); err != nil {
			return b, fmt.Errorf("jsonapi: render %T attribute %s: %w", p, a.name, err)
		}
	}
	if n > 0 {
		b = append(b, '}')
	}
	n = 0
	for i := range pl.rels {
		r := &pl.rels[i]
		if !shown(r.name) {
			continue
		}
		if n == 0 {
			b = append(b, `,"relationships":{`...)
		} else {
			b = append(b, ',')
		}
		n++
		b = appendString(b, r.name)
		b = append(b, `:{"data":`...)
		if f := s.Field(r.index); f.IsNil() {
			b = append(b, "null"...)
		} else {
			b = append(b, `{"type":`...)
			b = appendString(b, r.typ)
			if id := f.Elem().Field(r.id).String(); id != "" {
				b = append(b, `,"id":`...)
				b = appendString(b, id)
			}
			b = append(b, '}')
		}
		if lw, ok := p.(linkWriter); ok {
			mark := len(b)
			b = append(b, `,"links":`...)
			var has bool
			if b, has = lw.appendRelationshipLinks(b, r.name); !has {
				b = b[:mark]
			}
		} else if l := p.JSONAPIRelationshipLinks(r.name); l != nil {
			if err := resourceLinks(l); err != nil {
				return b, err
			}
			b = append(b, `,"links":`...)
			if b, err = appendLinks(b, *l); err != nil {
				return b, err
			}
		}
		b = append(b, '}')
	}
	if n > 0 {
		b = append(b, '}')
	}
	if lw, ok := p.(linkWriter); ok {
		b = append(b, `,"links":`...)
		b = lw.appendLinks(b)
	} else if l := p.JSONAPILinks(); l != nil {
		if err := resourceLinks(l); err != nil {
			return b, err
		}
		b = append(b, `,"links":`...)
		if b, err = appendLinks(b, *l); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// isEmpty is google/jsonapi's omitempty test: the value equals its type's
// zero value (reflect.DeepEqual; for slices and maps, nil).
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	default:
		return v.IsZero()
	}
}

// included appends the included member of related presenters: each
// type+id once, none that is primary data, ordered by type and id
// (document.go, defect 1). It appends nothing when none is left.
func (d *docWriter) included(b []byte, primary, related []presenter) ([]byte, error) {
	if len(related) == 0 {
		return b, nil
	}
	type item struct {
		typ, id string
		p       presenter
	}
	key := func(p presenter) (item, error) {
		pl, s, err := identify(p)
		if err != nil {
			return item{}, err
		}
		return item{pl.typ, s.Field(pl.id).String(), p}, nil
	}
	seen := make(map[[2]string]bool, len(primary)+len(related))
	for _, p := range primary {
		it, err := key(p)
		if err != nil {
			return b, err
		}
		seen[[2]string{it.typ, it.id}] = true
	}
	items := make([]item, 0, len(related))
	for _, p := range related {
		it, err := key(p)
		if err != nil {
			return b, err
		}
		k := [2]string{it.typ, it.id}
		if seen[k] {
			continue
		}
		seen[k] = true
		items = append(items, it)
	}
	if len(items) == 0 {
		return b, nil
	}
	slices.SortFunc(items, func(x, y item) int { return cmp.Or(cmp.Compare(x.typ, y.typ), cmp.Compare(x.id, y.id)) })
	b = append(b, `,"included":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = d.object(b, it.p); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// tail appends the links, meta.total (when total >= 0) and jsonapi
// members and closes the document.
func tail(b []byte, links jsonapi.Links, total int) ([]byte, error) {
	if len(links) > 0 {
		var err error
		b = append(b, `,"links":`...)
		if b, err = appendLinks(b, links); err != nil {
			return b, err
		}
	}
	if total >= 0 {
		b = append(b, `,"meta":{"total":`...)
		b = strconv.AppendInt(b, int64(total), 10)
		b = append(b, '}')
	}
	b = append(b, `,"jsonapi":{"version":`...)
	b = appendString(b, Version)
	return append(b, "}}\n"...), nil
}

// one appends a document with one resource as primary data, the given
// related resources in included and self as its self link.
func (d *docWriter) one(b []byte, self string, p presenter, related []presenter) ([]byte, error) {
	b = append(b, `{"data":`...)
	b, err := d.object(b, p)
	if err != nil {
		return b, err
	}
	if b, err = d.included(b, []presenter{p}, related); err != nil {
		return b, err
	}
	return tail(b, jsonapi.Links{"self": self}, -1)
}

// many appends a document with ps as primary data (an array, maybe
// empty), related in included, links and meta.total.
func (d *docWriter) many(b []byte, ps, related []presenter, links jsonapi.Links, total int) ([]byte, error) {
	b = append(b, `{"data":[`...)
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = d.object(b, p); err != nil {
			return b, err
		}
	}
	b = append(b, ']')
	b, err := d.included(b, ps, related)
	if err != nil {
		return b, err
	}
	return tail(b, links, total)
}

// buffers holds the byte buffers documents are written into.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooled is the largest buffer put back into the pool.
const maxPooled = 1 << 20

// writeRendered writes a document made by fill into a pooled buffer as the
// response; an error of fill (a presenter this file cannot write, a bug) is
// returned before anything is written.
func writeRendered(w http.ResponseWriter, status int, fill func([]byte) ([]byte, error)) error {
	bp := buffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooled {
			buffers.Put(bp)
		}
	}()
	b, err := fill((*bp)[:0])
	*bp = b[:0]
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", MediaType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}
