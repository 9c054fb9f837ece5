package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// matrixCase is one request of the scope matrix: a path, a body (nil for
// none) and the status it gets when the principal is allowed.
type matrixCase struct {
	path string
	body any
	ok   int
}

// matrixCases returns, per route pattern, how to build a request that
// succeeds for an allowed principal. Targets that a success would
// destroy or change for good are made fresh for each request.
func matrixCases() map[string]func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
	fixed := func(path string, body any, ok int) func(*testing.T, *apiClient, *apiTenant) matrixCase {
		return func(*testing.T, *apiClient, *apiTenant) matrixCase { return matrixCase{path, body, ok} }
	}
	newApp := func(t *testing.T, c *apiClient, tn *apiTenant) string {
		return c.call(t, "POST", "/api/v1/applications", tn.me, appDoc("Matrix")).id(t)
	}
	newDevice := func(t *testing.T, c *apiClient, tn *apiTenant) string {
		return c.call(t, "POST", "/api/v1/devices", tn.me, apiDoc("devices", "", map[string]any{"name": "M", "imei": testIMEI()}, nil)).id(t)
	}
	newGroup := func(t *testing.T, c *apiClient, tn *apiTenant) string {
		return c.call(t, "POST", "/api/v1/device-groups", tn.me, apiDoc("device-groups", "", map[string]any{"name": "M"}, nil)).id(t)
	}
	newGeogroup := func(t *testing.T, c *apiClient, tn *apiTenant) string {
		return c.call(t, "POST", "/api/v1/geogroups", tn.me, apiDoc("geogroups", "", map[string]any{"name": "M",
			"geometry": json.RawMessage(storagetest.SquareGeometry)}, nil)).id(t)
	}
	newDraft := func(t *testing.T, c *apiClient, tn *apiTenant) string {
		return c.call(t, "POST", "/api/v1/configurations", tn.me, apiDoc("configurations", "", map[string]any{"name": "M"}, nil)).id(t)
	}
	cases := map[string]func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase{
		"GET /api/v1/users/me":          fixed("/api/v1/users/me", nil, 200),
		"GET /api/v1/users/me/customer": fixed("/api/v1/users/me/customer", nil, 200),
		"GET /api/v1/users/me/grants":   fixed("/api/v1/users/me/grants", nil, 200),
		// No consent given to an unknown application: past the scope
		// check, 404.
		"DELETE /api/v1/users/me/grants/{id}": fixed("/api/v1/users/me/grants/0190f5a0-0000-7000-8000-000000000000", nil, 404),
		"POST /api/v1/users/me/password": fixed("/api/v1/users/me/password", apiDoc("users", "", map[string]any{
			"old_password": tenantPassword, "password": tenantPassword, "password_confirmation": tenantPassword}, nil), 204),

		"GET /api/v1/applications":  fixed("/api/v1/applications", nil, 200),
		"POST /api/v1/applications": fixed("/api/v1/applications", appDoc("Matrix"), 201),
		"GET /api/v1/applications/{id}": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/applications/" + newApp(t, c, tn), nil, 200}
		},
		"PATCH /api/v1/applications/{id}": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			id := newApp(t, c, tn)
			return matrixCase{"/api/v1/applications/" + id, apiDoc("applications", id, map[string]any{"name": "Renamed"}, nil), 200}
		},
		"DELETE /api/v1/applications/{id}": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/applications/" + newApp(t, c, tn), nil, 204}
		},
		"POST /api/v1/applications/{id}/secret": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/applications/" + newApp(t, c, tn) + "/secret", nil, 200}
		},

		"GET /api/v1/devices": fixed("/api/v1/devices", nil, 200),
		"POST /api/v1/devices": func(*testing.T, *apiClient, *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices", apiDoc("devices", "", map[string]any{"name": "New", "imei": testIMEI()}, nil), 201}
		},
		"POST /api/v1/devices/import": func(*testing.T, *apiClient, *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/import", rawBody{"text/csv", "name,imei\nImported," + testIMEI() + "\n"}, 200}
		},
		"GET /api/v1/devices/{id}": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/" + tn.deviceID, nil, 200}
		},
		"PATCH /api/v1/devices/{id}": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/" + tn.deviceID, apiDoc("devices", tn.deviceID, map[string]any{"fault": false}, nil), 200}
		},
		"DELETE /api/v1/devices/{id}": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/" + newDevice(t, c, tn), nil, 204}
		},
		"GET /api/v1/devices/{id}/relationships/group": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/" + tn.deviceID + "/relationships/group", nil, 200}
		},
		"PATCH /api/v1/devices/{id}/relationships/group": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/" + tn.deviceID + "/relationships/group", apiLinkage("device-groups", tn.groupID), 200}
		},
		"GET /api/v1/devices/{id}/group": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/" + tn.deviceID + "/group", nil, 200}
		},

		"GET /api/v1/geogroups": fixed("/api/v1/geogroups", nil, 200),
		"POST /api/v1/geogroups": fixed("/api/v1/geogroups", apiDoc("geogroups", "", map[string]any{"name": "New",
			"geometry": json.RawMessage(storagetest.SquareGeometry)}, nil), 201),
		"GET /api/v1/geogroups/{id}": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/geogroups/" + tn.geogroupID, nil, 200}
		},
		"PATCH /api/v1/geogroups/{id}": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/geogroups/" + tn.geogroupID, apiDoc("geogroups", tn.geogroupID, map[string]any{"name": "Same"}, nil), 200}
		},
		"DELETE /api/v1/geogroups/{id}": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/geogroups/" + newGeogroup(t, c, tn), nil, 204}
		},
		"GET /api/v1/device-groups":  fixed("/api/v1/device-groups", nil, 200),
		"POST /api/v1/device-groups": fixed("/api/v1/device-groups", apiDoc("device-groups", "", map[string]any{"name": "New"}, nil), 201),
		"GET /api/v1/device-groups/{id}": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/device-groups/" + tn.groupID, nil, 200}
		},
		"PATCH /api/v1/device-groups/{id}": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/device-groups/" + tn.groupID, apiDoc("device-groups", tn.groupID, map[string]any{"name": "Same"}, nil), 200}
		},
		"DELETE /api/v1/device-groups/{id}": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/device-groups/" + newGroup(t, c, tn), nil, 204}
		},
		"GET /api/v1/device-groups/{id}/relationships/configuration": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/device-groups/" + tn.groupID + "/relationships/configuration", nil, 200}
		},
		"PATCH /api/v1/device-groups/{id}/relationships/configuration": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/device-groups/" + tn.groupID + "/relationships/configuration", apiLinkage("configurations", tn.configID), 200}
		},

		"GET /api/v1/configurations":  fixed("/api/v1/configurations", nil, 200),
		"POST /api/v1/configurations": fixed("/api/v1/configurations", apiDoc("configurations", "", map[string]any{"name": "New"}, nil), 201),
		"GET /api/v1/configurations/{id}": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/configurations/" + tn.configID, nil, 200}
		},
		"PATCH /api/v1/configurations/{id}": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			id := newDraft(t, c, tn)
			return matrixCase{"/api/v1/configurations/" + id, apiDoc("configurations", id, map[string]any{"name": "Renamed"}, nil), 200}
		},
		"DELETE /api/v1/configurations/{id}": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/configurations/" + newDraft(t, c, tn), nil, 204}
		},
		"POST /api/v1/configurations/{id}/publish": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/configurations/" + newDraft(t, c, tn) + "/publish", nil, 200}
		},
	}
	for pattern, mk := range eventMatrixCases() { // events_jsonapi_test.go
		cases[pattern] = mk
	}
	for pattern, mk := range resourceMatrixCases() { // mqtt_jsonapi_test.go
		cases[pattern] = mk
	}
	for pattern, mk := range seriesMatrixCases() { // series_test.go
		cases[pattern] = mk
	}
	return cases
}

// appDoc is a valid application create document.
func appDoc(name string) map[string]any {
	return apiDoc("applications", "", map[string]any{"name": name, "grant_types": []string{"client_credentials"}, "scopes": []string{"app"}}, nil)
}

// principals of the matrix: "none" sends no token; the others are scope
// names and "device" (a device token with every permission, on its own
// device).
var matrixPrincipals = []string{"none", scopes.Me, scopes.App, scopes.Basic, "device"}

// expectedStatus says, from the scopes table, what a principal gets on a
// route: 401 without a token, ok when every operation of the route allows
// it, 403 otherwise. An operation without a row in the table fails the
// test.
func expectedStatus(t *testing.T, rt jsonapi.Route, who string, ok int) int {
	t.Helper()
	if who == "none" {
		return http.StatusUnauthorized
	}
	if len(rt.Operations) == 0 {
		t.Fatalf("%s performs no operation of the scopes table", rt.Pattern)
	}
	for _, op := range rt.Operations {
		rule, found := scopes.Lookup(op)
		if !found {
			t.Fatalf("%s: operation %q has no row in the scopes table", rt.Pattern, op)
		}
		allowed := slices.Contains(rule.Scopes, who)
		if who == "device" {
			allowed = rule.Permission != ""
		}
		if !allowed {
			return http.StatusForbidden
		}
	}
	return ok
}

// TestJSONAPIScopeMatrix sends every route × {no token, me, app, basic,
// device token} and checks the status the scopes table says.
func TestJSONAPIScopeMatrix(t *testing.T) {
	routes := jsonapi.New(jsonapi.Deps{}).RouteTable()
	cases := matrixCases()
	for _, rt := range routes {
		if _, ok := cases[rt.Pattern]; !ok {
			t.Fatalf("route %s has no scope matrix case", rt.Pattern)
		}
	}
	for pattern := range cases {
		if !slices.ContainsFunc(routes, func(r jsonapi.Route) bool { return r.Pattern == pattern }) {
			t.Fatalf("scope matrix case %s is not a route", pattern)
		}
	}
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			tn := newAPITenant(t, env, c, "Matrix")
			tokens := map[string]string{"none": "", scopes.Me: tn.me, scopes.App: tn.app, scopes.Basic: tn.basic, "device": tn.device}
			for _, rt := range routes {
				method, _, _ := strings.Cut(rt.Pattern, " ")
				for _, who := range matrixPrincipals {
					t.Run(rt.Pattern+"/"+who, func(t *testing.T) {
						mc := cases[rt.Pattern](t, c, tn)
						want := expectedStatus(t, rt, who, mc.ok)
						res := c.call(t, method, mc.path, tokens[who], mc.body)
						if res.status != want {
							t.Fatalf("%s %s as %s = %d, want %d\n%s", method, mc.path, who, res.status, want, res.body)
						}
						challenge := res.header.Get("WWW-Authenticate")
						switch want {
						case http.StatusUnauthorized:
							if !strings.HasPrefix(challenge, "Bearer ") {
								t.Fatalf("401 without a Bearer challenge: %q", challenge)
							}
						case http.StatusForbidden:
							if !strings.Contains(challenge, `error="insufficient_scope"`) {
								t.Fatalf("403 without insufficient_scope: %q", challenge)
							}
						}
					})
				}
			}
		})
	}
}
