package jsonapi

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestOpenAPIRequestSchemasUsed checks that every request body schema of
// openapi.json is the body of an operation: a schema without its route
// (such as an update schema for a resource that has no PATCH) promises
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

// TestOpenAPICoversTheService checks that the document names its server
// and describes every route of the service outside JSON:API (the OAuth
// endpoints and pages, GraphQL, the health checks), and that every
// operation that takes input from the client lists a 4xx answer.
func TestOpenAPICoversTheService(t *testing.T) {
	var doc struct {
		Servers []struct{ URL string } `json:"servers"`
		Paths   map[string]map[string]struct {
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Servers) == 0 {
		t.Fatal("no servers")
	}
	for _, want := range []string{"/oauth/token", "/oauth/authorize", "/oauth/revoke", "/oauth/introspect", "/oauth/token/info",
		"/oauth/device_authorization", "/device", "/.well-known/oauth-authorization-server", "/graphql", "/healthz", "/readyz",
		"/.well-known/openid-configuration", "/oauth/jwks", "/oauth/userinfo", "/oauth/logout"} {
		if _, ok := doc.Paths[want]; !ok {
			t.Errorf("%s is not described", want)
		}
	}
	noInput := map[string]bool{"/healthz": true, "/readyz": true, "/.well-known/oauth-authorization-server": true, BasePath + "/openapi.json": true,
		"/.well-known/openid-configuration": true, "/oauth/jwks": true}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if noInput[path] || method == "parameters" {
				continue
			}
			has4xx := false
			for code := range op.Responses {
				has4xx = has4xx || code[0] == '4'
			}
			if !has4xx {
				t.Errorf("%s %s lists no 4xx answer", method, path)
			}
		}
	}
}

// TestOpenAPIRedoclyLint lints the document with the Redocly CLI
// (scripts/openapi-lint.sh installs the pinned version with npm): no
// error and no warning but the ones tools/redocly accepts with a reason.
func TestOpenAPIRedoclyLint(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("npm is not installed: CI must lint the OpenAPI document")
		}
		t.Skip("npm is not installed: the OpenAPI document cannot be linted with the Redocly CLI")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "../scripts/openapi-lint.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint: %v\n%s", err, out)
	}
}
