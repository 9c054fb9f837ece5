package jsonapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOpenAPIRequestSchemasUsed checks that every request body schema of
// openapi.json is the body of an operation: a schema without its route
// (issue 18 item 13: DeviceTokenUpdateRequest without a PATCH) promises
// what the API does not do.
func TestOpenAPIRequestSchemasUsed(t *testing.T) {
	raw := OpenAPIDocument()
	var doc struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
		Paths json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Components.Schemas) == 0 {
		t.Fatal("openapi.json has no schemas")
	}
	for name := range doc.Components.Schemas {
		if strings.HasSuffix(name, "Request") && !strings.Contains(string(doc.Paths), `"#/components/schemas/`+name+`"`) {
			t.Errorf("schema %s is the body of no operation", name)
		}
	}
}
