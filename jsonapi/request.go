package jsonapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// This file reads request documents from the raw JSON, so that an absent
// member and a null one stay apart (the library's UnmarshalPayload fills a
// struct and loses the difference). Anything that cannot be read as the
// expected document is a 400 with a pointer; a type mismatch is 409 and a
// client-generated id on create 403, as JSON:API says.

// resourceObject is the primary data of a create or update request.
type resourceObject struct {
	attrs map[string]json.RawMessage
	rels  map[string]json.RawMessage
}

// bodySpec says what a resource document of one type may carry.
type bodySpec struct {
	typ string
	// attrs are the writable attributes; rels the writable to-one
	// relationships by name with their resource type.
	attrs []string
	rels  map[string]string
	// idOptional lets an update omit the id (a singleton such as
	// /users/me/password); a given id must still match.
	idOptional bool
}

// readBody reads the whole (size-limited) request body.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, err
	} else if err != nil {
		return nil, badBody("", "the request body could not be read")
	}
	return body, nil
}

// decodeObject decodes raw as a JSON object of raw members; pointer says
// where it is in the document.
func decodeObject(raw json.RawMessage, pointer, what string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := strictUnmarshal(raw, &m); err != nil || m == nil {
		return nil, badBody(pointer, what+" must be an object")
	}
	return m, nil
}

// strictUnmarshal decodes exactly one JSON value (no trailing data).
func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	_, err := dec.Token()
	if err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

// readDocument reads a request document and returns its primary data
// member (raw) after checking the top level: an object with data and at
// most meta and jsonapi besides.
func readDocument(r *http.Request) (json.RawMessage, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := strictUnmarshal(body, &top); err != nil {
		return nil, badBody("", "the request body is not a JSON object: "+jsonProblem(err))
	}
	if top == nil {
		return nil, badBody("", "the request body must be a JSON object")
	}
	if pointer, ok := unstorableText(body); ok {
		return nil, badBody(pointer, "text must not contain NUL characters")
	}
	for _, k := range sortedKeys(top) {
		if k != "data" && k != "meta" && k != "jsonapi" {
			return nil, badBody("/"+escapePointer(k), "a request document may not have a member "+strconv.Quote(k))
		}
	}
	data, ok := top["data"]
	if !ok {
		return nil, badBody("/data", "the request document must have primary data")
	}
	return data, nil
}

// unstorableText looks through a JSON document for a string, member name
// included, that holds a NUL character (\u0000), which PostgreSQL cannot
// store as text nor in jsonb; it returns the JSON pointer of the first one,
// members in name order. JSON carries no invalid UTF-8: the decoder has
// replaced it.
func unstorableText(doc []byte) (string, bool) {
	if !bytes.Contains(doc, []byte(`\u0000`)) {
		return "", false // the only way JSON writes a NUL
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	return findNUL(v, "")
}

// findNUL returns the pointer of the first string under v, at pointer, that
// holds a NUL character.
func findNUL(v any, pointer string) (string, bool) {
	switch v := v.(type) {
	case string:
		return pointer, strings.ContainsRune(v, 0)
	case []any:
		for i, item := range v {
			if p, ok := findNUL(item, pointer+"/"+strconv.Itoa(i)); ok {
				return p, true
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(v) {
			p := pointer + "/" + escapePointer(k)
			if strings.ContainsRune(k, 0) {
				return p, true
			}
			if p, ok := findNUL(v[k], p); ok {
				return p, true
			}
		}
	}
	return "", false
}

// jsonProblem describes a JSON syntax or type error without echoing input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	}
	return "malformed JSON"
}

// readResource reads the resource object of a create (id == "": a
// client-generated id is refused) or an update of resource id.
func readResource(r *http.Request, spec bodySpec, id string) (*resourceObject, error) {
	data, err := readDocument(r)
	if err != nil {
		return nil, err
	}
	m, err := decodeObject(data, "/data", "primary data")
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains([]string{"type", "id", "attributes", "relationships", "meta"}, k) {
			return nil, badBody("/data/"+escapePointer(k), "a resource object may not have a member "+strconv.Quote(k))
		}
	}
	if err := checkType(m["type"], "/data/type", spec.typ); err != nil {
		return nil, err
	}
	rawID, hasID := m["id"]
	switch {
	case id == "" && hasID:
		return nil, &apiError{Status: http.StatusForbidden, Code: resource.EForbidden, Pointer: ptrTo("/data/id"),
			Detail: "client-generated ids are not supported"}
	case id != "" && !hasID && spec.idOptional:
	case id != "" && !hasID:
		return nil, badBody("/data/id", "an update must name the resource's id")
	case id != "":
		var got string
		if err := strictUnmarshal(rawID, &got); err != nil {
			return nil, badBody("/data/id", "id must be a string")
		}
		if got != id {
			return nil, &apiError{Status: http.StatusConflict, Code: resource.EConflict, Pointer: ptrTo("/data/id"),
				Detail: "the id in the document does not match the URL"}
		}
	}
	o := &resourceObject{attrs: map[string]json.RawMessage{}, rels: map[string]json.RawMessage{}}
	if raw, ok := m["attributes"]; ok {
		if o.attrs, err = decodeObject(raw, "/data/attributes", "attributes"); err != nil {
			return nil, err
		}
		for _, k := range sortedKeys(o.attrs) {
			if !slices.Contains(spec.attrs, k) {
				return nil, badBody("/data/attributes/"+escapePointer(k), spec.typ+" has no writable attribute "+strconv.Quote(k))
			}
		}
	}
	if raw, ok := m["relationships"]; ok {
		rels, err := decodeObject(raw, "/data/relationships", "relationships")
		if err != nil {
			return nil, err
		}
		for _, k := range sortedKeys(rels) {
			typ, known := spec.rels[k]
			if !known {
				return nil, badBody("/data/relationships/"+escapePointer(k), spec.typ+" has no writable relationship "+strconv.Quote(k))
			}
			pointer := "/data/relationships/" + escapePointer(k)
			rel, err := decodeObject(rels[k], pointer, "a relationship")
			if err != nil {
				return nil, err
			}
			data, ok := rel["data"]
			if !ok {
				return nil, badBody(pointer+"/data", "a relationship must have data")
			}
			if _, err := readLinkage(data, pointer+"/data", typ); err != nil {
				return nil, err
			}
			o.rels[k] = data
		}
	}
	return o, nil
}

// readRelationship reads the body of a to-one relationship update: data
// is null ("" returned) or an identifier of type typ.
func readRelationship(r *http.Request, typ string) (string, error) {
	data, err := readDocument(r)
	if err != nil {
		return "", err
	}
	return readLinkage(data, "/data", typ)
}

// readLinkage reads a to-one resource linkage: null ("") or {type, id}.
func readLinkage(raw json.RawMessage, pointer, typ string) (string, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return "", nil
	}
	m, err := decodeObject(raw, pointer, "resource linkage")
	if err != nil {
		return "", err
	}
	for _, k := range sortedKeys(m) {
		if k != "type" && k != "id" && k != "meta" {
			return "", badBody(pointer+"/"+escapePointer(k), "resource linkage may not have a member "+strconv.Quote(k))
		}
	}
	if err := checkType(m["type"], pointer+"/type", typ); err != nil {
		return "", err
	}
	var id string
	if raw, ok := m["id"]; !ok {
		return "", badBody(pointer+"/id", "resource linkage must have an id")
	} else if err := strictUnmarshal(raw, &id); err != nil || id == "" {
		return "", badBody(pointer+"/id", "id must be a non-empty string")
	}
	return id, nil
}

// checkType checks a type member: present and a string (else 400), equal
// to want (else 409).
func checkType(raw json.RawMessage, pointer, want string) error {
	var got string
	if raw == nil {
		return badBody(pointer, "type is required")
	}
	if err := strictUnmarshal(raw, &got); err != nil {
		return badBody(pointer, "type must be a string")
	}
	if got != want {
		return &apiError{Status: http.StatusConflict, Code: resource.EConflict, Pointer: &pointer,
			Detail: "type must be " + strconv.Quote(want)}
	}
	return nil
}

// optional reads attribute name as a resource.Optional: absent, null or a
// value of type T (400 with a pointer for a value of another type).
func optional[T any](o *resourceObject, name, what string) (resource.Optional[T], error) {
	raw, ok := o.attrs[name]
	if !ok {
		return resource.Optional[T]{}, nil
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		return resource.Null[T](), nil
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return resource.Optional[T]{}, badBody("/data/attributes/"+escapePointer(name), name+" must be "+what)
	}
	return resource.Some(v), nil
}

// relationship reads the to-one relationship name as a resource.Optional
// id: absent, null or an id (already checked by readResource).
func relationship(o *resourceObject, name string) resource.Optional[string] {
	raw, ok := o.rels[name]
	if !ok {
		return resource.Optional[string]{}
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		return resource.Null[string]()
	}
	var m struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &m) // checked by readLinkage
	return resource.Some(m.ID)
}

// value returns the value of an optional field, or the zero value when it
// is absent or null (for creates, where null means "not given").
func value[T any](o resource.Optional[T]) T {
	if !o.Set || o.Null {
		var zero T
		return zero
	}
	return o.Value
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func ptrTo(s string) *string { return &s }
