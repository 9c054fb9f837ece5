package jsonapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/assetgate/assetgate/jsonapi/jsonapitest"
	"github.com/assetgate/assetgate/storage"
)

// The JSON:API project's JSON Schemas are never copied into the
// repository: the tests read them from ../shared/spec beside the checkout,
// or from the folder SchemaDirEnv names. Without them every behaviour test
// still runs and checks the shape of each document itself; only the check
// against the official schema is left out, and TestOfficialSchema says so
// (and fails when CI=true).
const (
	// schemaDirEnv names the variable that points the tests at the folder
	// of the JSON:API schemas (absolute, or relative to this package).
	schemaDirEnv = "ASSETGATE_JSONAPI_SCHEMA_DIR"
	// defaultSchemaDir is that folder when the variable is empty, relative
	// to this package: shared/spec beside the checkout.
	defaultSchemaDir = "../../shared/spec"
	// responseSchemaFile is the schema of response documents.
	responseSchemaFile = "jsonapi-1.0-schema.json"
)

// errNoSchema is the error of officialSchema when the schema file is not
// there.
var errNoSchema = errors.New("not found")

// officialSchema compiles the JSON:API 1.0 response schema once per test
// binary; its error wraps errNoSchema when the file is missing.
var officialSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	dir := os.Getenv(schemaDirEnv)
	if dir == "" {
		dir = defaultSchemaDir
	}
	path, err := filepath.Abs(filepath.Join(dir, responseSchemaFile))
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s %w (set %s to the folder of the JSON:API JSON Schemas)", path, errNoSchema, schemaDirEnv)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(responseSchemaFile, doc); err != nil {
		return nil, err
	}
	return c.Compile(responseSchemaFile)
})

// validateDocument checks that body is a JSON:API document (checkShape),
// and against the official schema when it is there; it returns the
// document.
func validateDocument(tb testing.TB, body []byte) map[string]any {
	tb.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		tb.Fatalf("response is not a JSON object: %v\n%s", err, body)
	}
	if err := checkShape(doc); err != nil {
		tb.Fatalf("response is not a JSON:API document: %v\n%s", err, body)
	}
	if err := checkOfficialSchema(body); err != nil && !errors.Is(err, errNoSchema) {
		tb.Fatalf("response is not a valid JSON:API document: %v\n%s", err, body)
	}
	if err := jsonapitest.CheckLinks(body); err != nil {
		tb.Fatalf("response has a link that is not an RFC 3986 URI: %v\n%s", err, body)
	}
	return doc
}

// checkOfficialSchema validates body against the official response schema;
// the error wraps errNoSchema when the schema is not there.
func checkOfficialSchema(body []byte) error {
	schema, err := officialSchema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return schema.Validate(inst)
}

// checkShape checks the rules of a JSON:API response document that the
// behaviour tests rely on, without the official schema: the top-level
// members, resource objects with a type and an id, error objects, and no
// type+id twice among primary data and included (which the schema does not
// check either).
func checkShape(doc map[string]any) error {
	for member := range doc {
		switch member {
		case "data", "errors", "meta", "links", "included", "jsonapi":
		default:
			return fmt.Errorf("top-level member %q", member)
		}
	}
	_, hasData := doc["data"]
	_, hasErrors := doc["errors"]
	_, hasMeta := doc["meta"]
	switch {
	case !hasData && !hasErrors && !hasMeta:
		return errors.New("none of data, errors and meta")
	case hasData && hasErrors:
		return errors.New("both data and errors")
	case doc["included"] != nil && !hasData:
		return errors.New("included without data")
	}
	if hasErrors {
		errs, ok := doc["errors"].([]any)
		if !ok || len(errs) == 0 {
			return fmt.Errorf("errors is %v, not a list of error objects", doc["errors"])
		}
		for i, e := range errs {
			if _, ok := e.(map[string]any); !ok {
				return fmt.Errorf("errors[%d] is not an object", i)
			}
		}
	}
	var objs []any
	switch d := doc["data"].(type) {
	case nil:
	case map[string]any:
		objs = append(objs, d)
	case []any:
		objs = append(objs, d...)
	default:
		return fmt.Errorf("data is %T", d)
	}
	if inc, ok := doc["included"].([]any); ok {
		objs = append(objs, inc...)
	} else if doc["included"] != nil {
		return errors.New("included is not a list")
	}
	seen := map[string]bool{}
	for _, o := range objs {
		m, ok := o.(map[string]any)
		if !ok {
			return fmt.Errorf("resource object %v is not an object", o)
		}
		typ, _ := m["type"].(string)
		id, _ := m["id"].(string)
		if typ == "" || id == "" {
			return fmt.Errorf("resource object without a type and an id: %v", m)
		}
		if a, ok := m["attributes"].(map[string]any); ok && (a["id"] != nil || a["type"] != nil) {
			return fmt.Errorf("%s/%s has an attribute named id or type", typ, id)
		}
		if seen[typ+"/"+id] {
			return fmt.Errorf("%s/%s appears twice in data and included", typ, id)
		}
		seen[typ+"/"+id] = true
	}
	return nil
}

// TestOfficialSchema is the check against the JSON:API project's schema:
// real answers of the API pass it, and documents that break the
// specification do not. Without the schema files it is skipped, saying
// where it looked (and fails when CI=true: CI has them).
func TestOfficialSchema(t *testing.T) {
	if _, err := officialSchema(); errors.Is(err, errNoSchema) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: CI must check documents against the JSON:API schema", err)
		}
		t.Skipf("JSON:API schema check not run: %v", err)
	} else if err != nil {
		t.Fatalf("JSON:API schema: %v", err)
	}
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t, storage.SQLite)
		for _, r := range []struct {
			path, token string
			status      int
		}{
			{"/api/v1/devices?include=group.configuration", f.a.app, http.StatusOK},
			{"/api/v1/devices/" + f.a.device.ID + "/relationships/group", f.a.app, http.StatusOK},
			{"/api/v1/users/me", f.a.me, http.StatusOK},
			{"/api/v1/devices?page[size]=101", f.a.app, http.StatusBadRequest},
			{"/api/v1/devices/" + f.b.device.ID, f.a.app, http.StatusNotFound},
			{"/api/v1/devices", "", http.StatusUnauthorized},
		} {
			res := f.do(t, "GET", r.path, r.token, nil)
			if res.status != r.status {
				t.Fatalf("GET %s: status %d, want %d\n%s", r.path, res.status, r.status, res.body)
			}
			if err := checkOfficialSchema(res.body); err != nil {
				t.Errorf("GET %s: %v\n%s", r.path, err, res.body)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, body := range []string{
			`{"data": {"type": "devices", "id": "1", "links": {"self": 5}}}`,
			`{"data": {"type": "devices", "id": "1", "attributes": {"name": "x"}, "colour": "red"}}`,
			`{"errors": [{"status": 404}]}`,
			`{"data": null, "errors": []}`,
		} {
			if err := checkOfficialSchema([]byte(body)); err == nil {
				t.Errorf("the schema accepts %s", body)
			}
		}
	})
}

// TestCheckShape checks the document checks that run without the schema.
func TestCheckShape(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"OKOne", `{"data": {"type": "devices", "id": "1", "attributes": {"name": "x"}}}`, true},
		{"OKNull", `{"data": null, "links": {"self": "x"}}`, true},
		{"OKListIncluded", `{"data": [{"type": "devices", "id": "1"}], "included": [{"type": "device-groups", "id": "1"}]}`, true},
		{"OKErrors", `{"errors": [{"status": "404"}]}`, true},
		{"OKMetaOnly", `{"meta": {"total": 0}}`, true},
		{"ErrEmpty", `{}`, false},
		{"ErrUnknownMember", `{"data": null, "colour": "red"}`, false},
		{"ErrDataAndErrors", `{"data": null, "errors": [{}]}`, false},
		{"ErrIncludedWithoutData", `{"meta": {}, "included": []}`, false},
		{"ErrNoErrorObjects", `{"errors": []}`, false},
		{"ErrErrorNotObject", `{"errors": ["bad"]}`, false},
		{"ErrDataString", `{"data": "x"}`, false},
		{"ErrNoID", `{"data": {"type": "devices"}}`, false},
		{"ErrNumericID", `{"data": {"type": "devices", "id": 1}}`, false},
		{"ErrIDAttribute", `{"data": {"type": "devices", "id": "1", "attributes": {"id": "2"}}}`, false},
		{"ErrRepeated", `{"data": [{"type": "devices", "id": "1"}], "included": [{"type": "devices", "id": "1"}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc map[string]any
			must(t, json.Unmarshal([]byte(tc.body), &doc))
			if err := checkShape(doc); (err == nil) != tc.ok {
				t.Fatalf("checkShape(%s) = %v, want ok %v", tc.body, err, tc.ok)
			}
		})
	}
}
