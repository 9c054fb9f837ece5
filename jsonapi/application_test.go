package jsonapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func TestApplicationsAndUsers(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			var id, secret string
			t.Run("Create", func(t *testing.T) {
				res := f.do(t, "POST", "/api/v1/applications", f.a.me, resourceDoc("applications", "", map[string]any{
					"name": "Backend", "grant_types": []string{"client_credentials"}, "scopes": []string{"app"}, "access_token_ttl": 600,
				}, nil))
				d := data(t, res.doc(t, http.StatusCreated))
				id = d["id"].(string)
				a := attrs(d)
				secret, _ = a["client_secret"].(string)
				if !strings.HasPrefix(secret, "agcs_") || a["access_token_ttl"] != 600.0 || a["enabled"] != true {
					t.Fatalf("created %v", a)
				}
				owner := d["relationships"].(map[string]any)["owner"].(map[string]any)["data"].(map[string]any)
				if owner["id"] != f.a.user.ID || owner["type"] != "users" {
					t.Fatalf("owner %v", owner)
				}
			})
			t.Run("SecretShownOnce", func(t *testing.T) {
				d := data(t, f.do(t, "GET", "/api/v1/applications/"+id, f.a.me, nil).doc(t, http.StatusOK))
				if _, has := attrs(d)["client_secret"]; has {
					t.Fatalf("read shows the secret: %v", attrs(d))
				}
				doc := f.do(t, "GET", "/api/v1/applications", f.a.me, nil).doc(t, http.StatusOK)
				if strings.Contains(fmt.Sprint(doc), secret) {
					t.Fatal("list shows the secret")
				}
			})
			t.Run("Rotate", func(t *testing.T) {
				d := data(t, f.do(t, "POST", "/api/v1/applications/"+id+"/secret?fields[applications]=name", f.a.me, nil).doc(t, http.StatusOK))
				s, _ := attrs(d)["client_secret"].(string)
				if s == "" || s == secret {
					t.Fatalf("rotated secret %q (old %q)", s, secret)
				}
			})
			t.Run("Patch", func(t *testing.T) {
				d := data(t, f.do(t, "PATCH", "/api/v1/applications/"+id, f.a.me, resourceDoc("applications", id,
					map[string]any{"access_token_ttl": nil, "name": "Renamed"}, nil)).doc(t, http.StatusOK))
				if a := attrs(d); a["access_token_ttl"] != float64(resource.DefaultAccessTokenTTL) || a["name"] != "Renamed" || a["scopes"].([]any)[0] != "app" {
					t.Fatalf("patched %v", a)
				}
			})
			t.Run("ErrPublicClientCredentials", func(t *testing.T) {
				e := f.do(t, "PATCH", "/api/v1/applications/"+id, f.a.me, resourceDoc("applications", id,
					map[string]any{"token_endpoint_auth_method": "none"}, nil)).errorOf(t, 422)
				if source(e, "pointer") != "/data/attributes/grant_types" {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("ErrOperatorGrant", func(t *testing.T) {
				// Issue 20 item 10: implicit and password are the operator's.
				for _, g := range []string{"password", "implicit"} {
					e := f.do(t, "POST", "/api/v1/applications", f.a.me, resourceDoc("applications", "", map[string]any{
						"name": "Mobile", "grant_types": []string{g}, "redirect_uris": []string{"https://app.example.com/cb"},
					}, nil)).errorOf(t, 422)
					if source(e, "pointer") != "/data/attributes/grant_types" || !strings.Contains(fmt.Sprint(e["detail"]), "operator") {
						t.Fatalf("create with %s: error %v", g, e)
					}
				}
				e := f.do(t, "PATCH", "/api/v1/applications/"+id, f.a.me, resourceDoc("applications", id,
					map[string]any{"grant_types": []string{"client_credentials", "password"}}, nil)).errorOf(t, 422)
				if source(e, "pointer") != "/data/attributes/grant_types" {
					t.Fatalf("update adding password: error %v", e)
				}
			})
			t.Run("ErrTTLType", func(t *testing.T) {
				e := f.do(t, "PATCH", "/api/v1/applications/"+id, f.a.me, resourceDoc("applications", id,
					map[string]any{"access_token_ttl": 1.5}, nil)).errorOf(t, 400)
				if source(e, "pointer") != "/data/attributes/access_token_ttl" {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("ErrAppTokenForbidden", func(t *testing.T) {
				res := f.do(t, "GET", "/api/v1/applications", f.a.app, nil)
				res.errorOf(t, http.StatusForbidden)
				if h := res.header.Get("WWW-Authenticate"); !strings.Contains(h, `scope="me"`) {
					t.Fatalf("WWW-Authenticate %q", h)
				}
			})
			t.Run("ErrOtherTenant", func(t *testing.T) {
				f.do(t, "GET", "/api/v1/applications/"+id, f.b.me, nil).errorOf(t, http.StatusNotFound)
				f.do(t, "DELETE", "/api/v1/applications/"+id, f.b.me, nil).errorOf(t, http.StatusNotFound)
			})
			t.Run("Delete", func(t *testing.T) {
				if res := f.do(t, "DELETE", "/api/v1/applications/"+id, f.a.me, nil); res.status != http.StatusNoContent {
					t.Fatalf("delete %d %s", res.status, res.body)
				}
				f.do(t, "GET", "/api/v1/applications/"+id, f.a.me, nil).errorOf(t, http.StatusNotFound)
			})
			t.Run("Me", func(t *testing.T) {
				doc := f.do(t, "GET", "/api/v1/users/me", f.a.me, nil).doc(t, http.StatusOK)
				if data(t, doc)["id"] != f.a.user.ID || attrs(data(t, doc))["email"] != f.a.user.Email {
					t.Fatalf("me %v", doc)
				}
				if keys := includedKeys(doc); len(keys) != 1 || keys[0] != "customers/"+f.a.customer.ID {
					t.Fatalf("me included %v", keys)
				}
				if doc := f.do(t, "GET", "/api/v1/users/me?include=", f.a.me, nil).doc(t, http.StatusOK); doc["included"] != nil {
					t.Fatalf("include= still included %v", doc["included"])
				}
				f.do(t, "GET", "/api/v1/users/me?include=applications", f.a.me, nil).errorOf(t, 400)
				c := data(t, f.do(t, "GET", "/api/v1/users/me/customer", f.a.me, nil).doc(t, http.StatusOK))
				if c["id"] != f.a.customer.ID || attrs(c)["name"] != "Tenant a" {
					t.Fatalf("customer %v", c)
				}
			})
			pw := func(old, next, confirm string) map[string]any {
				return resourceDoc("users", "", map[string]any{"old_password": old, "password": next, "password_confirmation": confirm}, nil)
			}
			t.Run("ErrWrongOldPassword", func(t *testing.T) {
				e := f.do(t, "POST", "/api/v1/users/me/password", f.a.me, pw("wrong password!", "new password 123", "new password 123")).errorOf(t, 403)
				if source(e, "pointer") != "/data/attributes/old_password" {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("ErrMismatch", func(t *testing.T) {
				e := f.do(t, "POST", "/api/v1/users/me/password", f.a.me, pw(testPassword, "new password 123", "new password 124")).errorOf(t, 422)
				if source(e, "pointer") != "/data/attributes/password_confirmation" {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("ErrWeak", func(t *testing.T) {
				e := f.do(t, "POST", "/api/v1/users/me/password", f.a.me, pw(testPassword, "short", "short")).errorOf(t, 422)
				if source(e, "pointer") != "/data/attributes/password" {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("ChangePassword", func(t *testing.T) {
				res := f.do(t, "POST", "/api/v1/users/me/password", f.a.me, pw(testPassword, "new password 123", "new password 123"))
				if res.status != http.StatusNoContent || len(res.body) != 0 {
					t.Fatalf("change password %d %s", res.status, res.body)
				}
				if _, err := f.users.Authenticate(t.Context(), f.a.user.Email, "new password 123"); err != nil {
					t.Fatalf("new password does not work: %v", err)
				}
			})
		})
	}
}

// TestOpenAPIOperatorGrants checks that the OpenAPI description of the
// application writes says what issue 20 item 10 made them refuse.
func TestOpenAPIOperatorGrants(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Description string `json:"description"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(jsonapi.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct{ path, method string }{{"/api/v1/applications", "post"}, {"/api/v1/applications/{id}", "patch"}} {
		d := doc.Paths[op.path][op.method].Description
		for _, want := range append([]string{"operator"}, resource.Names(resource.OperatorGrants())...) {
			if !strings.Contains(d, want) {
				t.Errorf("%s %s: description %q does not mention %q", op.method, op.path, d, want)
			}
		}
	}
}
