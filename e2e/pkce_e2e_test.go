package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// TestPublicClientPKCE checks the PKCE rule of public clients through every way an
// application is written and read: a public client (token endpoint
// authentication none) must use PKCE (RFC 9700 §2.1.1), so JSON:API,
// GraphQL and the CLI all refuse pkce_enforcement optional for it, naming
// the rule, and an application stored that way before the rule shows the
// value that applies (required), never optional.
func TestPublicClientPKCE(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			tn := newAPITenant(t, env, c, "Pkce")
			public := map[string]any{"name": "Mobile", "grant_types": []string{"authorization_code"},
				"redirect_uris": []string{"com.example.app:/cb"}, "token_endpoint_auth_method": "none", "pkce_enforcement": "optional"}
			wantRule := func(t *testing.T, detail any) {
				t.Helper()
				if s := fmt.Sprint(detail); !strings.Contains(s, "public client") || !strings.Contains(s, "RFC 9700") {
					t.Fatalf("error does not name the rule: %q", s)
				}
			}

			t.Run("ErrJSONAPICreate", func(t *testing.T) {
				doc := c.call(t, "POST", "/api/v1/applications", tn.me, apiDoc("applications", "", public, nil)).want(t, 422)
				e := doc["errors"].([]any)[0].(map[string]any)
				if at(e, "source.pointer") != "/data/attributes/pkce_enforcement" {
					t.Fatalf("error %v", e)
				}
				wantRule(t, e["detail"])
			})
			t.Run("ErrJSONAPIPatch", func(t *testing.T) {
				// A confidential client with optional PKCE cannot become
				// public without a stricter enforcement.
				conf := map[string]any{"name": "Web", "grant_types": []string{"authorization_code"},
					"redirect_uris": []string{"https://web.example.com/cb"}, "pkce_enforcement": "optional"}
				id := c.call(t, "POST", "/api/v1/applications", tn.me, apiDoc("applications", "", conf, nil)).id(t)
				doc := c.call(t, "PATCH", "/api/v1/applications/"+id, tn.me, apiDoc("applications", id,
					map[string]any{"token_endpoint_auth_method": "none"}, nil)).want(t, 422)
				e := doc["errors"].([]any)[0].(map[string]any)
				if at(e, "source.pointer") != "/data/attributes/pkce_enforcement" {
					t.Fatalf("error %v", e)
				}
				wantRule(t, e["detail"])
				// With the enforcement raised in the same request it works.
				d := c.call(t, "PATCH", "/api/v1/applications/"+id, tn.me, apiDoc("applications", id,
					map[string]any{"token_endpoint_auth_method": "none", "pkce_enforcement": "required"}, nil)).want(t, 200)
				if got := at(d, "data.attributes.pkce_enforcement"); got != "required" {
					t.Fatalf("pkce_enforcement %v", got)
				}
			})
			t.Run("ErrGraphQL", func(t *testing.T) {
				r := gql(t, ts.URL, tn.me, `mutation { createApplication(input: {name: "Mobile", grantTypes: ["authorization_code"],
					redirectUris: ["com.example.app:/cb"], tokenEndpointAuthMethod: "none", pkceEnforcement: "optional"}) { application { id } } }`, nil)
				r.fails(t, "BAD_USER_INPUT")
				if at(r.Errors[0], "extensions.field") != "input.pkceEnforcement" {
					t.Fatalf("errors %v", r.Errors)
				}
				wantRule(t, r.Errors[0]["message"])
			})
			t.Run("ErrCLI", func(t *testing.T) {
				r := runCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "Mobile", "--grant", "authorization_code",
					"--redirect-uri", "com.example.app:/cb", "--auth-method", "none", "--pkce", "optional", "--json")
				if r.code != 1 {
					t.Fatalf("code %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
				}
				e := r.jsonOf(t)["error"].(map[string]any)
				if e["code"] != "Invalid" {
					t.Fatalf("json error = %v", e)
				}
				wantRule(t, r.stderr)
			})
			t.Run("Legacy", func(t *testing.T) {
				// Stored before the rule: every reader shows what applies.
				now := time.Now().UTC()
				legacy := &resource.Application{ID: resource.NewID(), CustomerID: tn.customerID, OwnerID: tn.userID, Name: "Old mobile",
					GrantTypes: []resource.GrantType{resource.GrantAuthorizationCode}, RedirectURIs: []string{"com.example.old:/cb"}, PostLogoutRedirectURIs: []string{},
					TokenEndpointAuthMethod: "none", PKCEEnforcement: "optional", Scopes: []string{"me"},
					AccessTokenTTL: 3600, RefreshTokenDuration: 3600, RefreshTokenRollingDuration: 7200, DeviceTimeout: 600,
					DevicePollingInterval: 5, Enabled: true, CreatedAt: now, UpdatedAt: now}
				if err := openGraph(t, env).Applications.Store.CreateApplication(t.Context(), legacy); err != nil {
					t.Fatal(err)
				}
				d := c.call(t, "GET", "/api/v1/applications/"+legacy.ID, tn.me, nil).want(t, 200)
				if got := at(d, "data.attributes.pkce_enforcement"); got != "required" {
					t.Fatalf("JSON:API read: pkce_enforcement %v", got)
				}
				g := gql(t, ts.URL, tn.me, `query($id: ID!) { application(id: $id) { pkceEnforcement } }`, map[string]any{"id": legacy.ID}).ok(t)
				if got := at(g, "application.pkceEnforcement"); got != "required" {
					t.Fatalf("GraphQL read: pkceEnforcement %v", got)
				}
				// Any change (here the name) stores what applies.
				d = c.call(t, "PATCH", "/api/v1/applications/"+legacy.ID, tn.me, apiDoc("applications", legacy.ID,
					map[string]any{"name": "Renamed"}, nil)).want(t, 200)
				if got := at(d, "data.attributes.pkce_enforcement"); got != "required" {
					t.Fatalf("after a rename: pkce_enforcement %v", got)
				}
			})
		})
	}
}
