package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// tenantCase is what customer B does on customer A's resources through one
// route, and how to check that nothing of A changed.
type tenantCase struct {
	path string
	body any
	// want is the status B gets: 404 for A's resources; for routes
	// without an id of A, the status B's own request gets.
	want int
	// check runs after the request (lists: A's ids absent).
	check func(t *testing.T, res apiResult)
	// wantBy overrides want for a principal ("me", "app") whose scope
	// check answers first.
	wantBy map[string]int
}

// refusedRow checks that an import's one row was refused.
func refusedRow(t *testing.T, res apiResult) {
	t.Helper()
	rows, _ := res.doc["data"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["attributes"].(map[string]any)["status"] != "refused" {
		t.Fatalf("B's import into A's group: %s", res.body)
	}
}

// tenantCases returns, per route pattern, B's request against A.
func tenantCases(a *apiTenant) map[string]tenantCase {
	absent := func(id string) func(*testing.T, apiResult) {
		return func(t *testing.T, res apiResult) {
			if slices.Contains(listIDs(res.doc), id) || strings.Contains(string(res.body), id) {
				t.Fatalf("B's answer shows A's %s:\n%s", id, res.body)
			}
		}
	}
	dev, grp, conf := "/api/v1/devices/"+a.deviceID, "/api/v1/device-groups/"+a.groupID, "/api/v1/configurations/"+a.configID
	return map[string]tenantCase{
		"GET /api/v1/users/me":          {path: "/api/v1/users/me", want: 200, check: absent(a.userID)},
		"GET /api/v1/users/me/customer": {path: "/api/v1/users/me/customer", want: 200, check: absent(a.customerID)},
		"GET /api/v1/users/me/grants":   {path: "/api/v1/users/me/grants", want: 200, check: absent(a.userID)},
		// A's application: B gave it no consent.
		"DELETE /api/v1/users/me/grants/{id}": {want: 404},
		// B's token names A's user in the body: the ids do not match.
		"POST /api/v1/users/me/password": {path: "/api/v1/users/me/password", want: 409, body: apiDoc("users", a.userID, map[string]any{
			"old_password": tenantPassword + "x", "password": "taken over 123", "password_confirmation": "taken over 123"}, nil)},

		"GET /api/v1/applications":  {path: "/api/v1/applications", want: 200},
		"POST /api/v1/applications": {path: "/api/v1/applications", want: 201, body: appDoc("B's own")},
		// The application routes use A's application made in the test.
		"GET /api/v1/applications/{id}":         {want: 404},
		"PATCH /api/v1/applications/{id}":       {want: 404},
		"DELETE /api/v1/applications/{id}":      {want: 404},
		"POST /api/v1/applications/{id}/secret": {want: 404},

		"GET /api/v1/devices": {path: "/api/v1/devices?include=group", want: 200, check: absent(a.deviceID)},
		"POST /api/v1/devices": {path: "/api/v1/devices", want: 404, body: apiDoc("devices", "", map[string]any{"name": "B", "imei": testIMEI()},
			map[string][2]string{"group": {"device-groups", a.groupID}})},
		// B imports a row into A's group: refused, as the group is not
		// B's (another tenant's IMEI is a device of B's own: see
		// jsonapi/device_import_test.go).
		"POST /api/v1/devices/import": {path: "/api/v1/devices/import", want: 200,
			body: rawBody{"text/csv", "name,imei,group\nB," + testIMEI() + "," + a.groupID + "\n"}, check: refusedRow},
		"GET /api/v1/devices/{id}":                       {path: dev, want: 404},
		"PATCH /api/v1/devices/{id}":                     {path: dev, want: 404, body: apiDoc("devices", a.deviceID, map[string]any{"name": "Taken"}, nil)},
		"DELETE /api/v1/devices/{id}":                    {path: dev, want: 404},
		"GET /api/v1/devices/{id}/relationships/group":   {path: dev + "/relationships/group", want: 404},
		"PATCH /api/v1/devices/{id}/relationships/group": {path: dev + "/relationships/group", want: 404, body: apiLinkage("", "")},
		"GET /api/v1/devices/{id}/group":                 {path: dev + "/group", want: 404},

		"GET /api/v1/device-groups": {path: "/api/v1/device-groups?include=configuration", want: 200, check: absent(a.groupID)},
		"POST /api/v1/device-groups": {path: "/api/v1/device-groups", want: 404, body: apiDoc("device-groups", "", map[string]any{"name": "B"},
			map[string][2]string{"configuration": {"configurations", a.configID}})},
		"GET /api/v1/device-groups/{id}":                               {path: grp, want: 404},
		"PATCH /api/v1/device-groups/{id}":                             {path: grp, want: 404, body: apiDoc("device-groups", a.groupID, map[string]any{"name": "Taken"}, nil)},
		"DELETE /api/v1/device-groups/{id}":                            {path: grp, want: 404},
		"GET /api/v1/device-groups/{id}/relationships/configuration":   {path: grp + "/relationships/configuration", want: 404},
		"PATCH /api/v1/device-groups/{id}/relationships/configuration": {path: grp + "/relationships/configuration", want: 404, body: apiLinkage("", "")},

		"GET /api/v1/geogroups": {path: "/api/v1/geogroups", want: 200, check: absent(a.geogroupID)},
		"POST /api/v1/geogroups": {path: "/api/v1/geogroups", want: 201, body: apiDoc("geogroups", "", map[string]any{"name": "B's own",
			"geometry": json.RawMessage(storagetest.SquareGeometry)}, nil)},
		"GET /api/v1/geogroups/{id}":    {path: "/api/v1/geogroups/" + a.geogroupID, want: 404},
		"PATCH /api/v1/geogroups/{id}":  {path: "/api/v1/geogroups/" + a.geogroupID, want: 404, body: apiDoc("geogroups", a.geogroupID, map[string]any{"name": "Taken"}, nil)},
		"DELETE /api/v1/geogroups/{id}": {path: "/api/v1/geogroups/" + a.geogroupID, want: 404},

		"GET /api/v1/configurations":  {path: "/api/v1/configurations", want: 200, check: absent(a.configID)},
		"POST /api/v1/configurations": {path: "/api/v1/configurations", want: 201, body: apiDoc("configurations", "", map[string]any{"name": "B"}, nil)},
		// The draft routes use A's draft made in the test.
		"GET /api/v1/configurations/{id}":          {path: conf, want: 404},
		"PATCH /api/v1/configurations/{id}":        {want: 404},
		"DELETE /api/v1/configurations/{id}":       {want: 404},
		"POST /api/v1/configurations/{id}/publish": {want: 404},
	}
}

// TestJSONAPITenantIsolation sends, for every route, customer B's
// principal at customer A's resources: B gets 404 (or only its own data)
// and A's resources read the same afterwards.
func TestJSONAPITenantIsolation(t *testing.T) {
	routes := jsonapi.New(jsonapi.Deps{}).RouteTable()
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			a, b := newAPITenant(t, env, c, "A"), newAPITenant(t, env, c, "B")
			appID := c.call(t, "POST", "/api/v1/applications", a.me, appDoc("A's app")).want(t, 201)["data"].(map[string]any)["id"].(string)
			draft := c.call(t, "POST", "/api/v1/configurations", a.me, apiDoc("configurations", "", map[string]any{"name": "A draft"}, nil)).id(t)
			cases := tenantCases(a)
			addEventTenantCases(t, c, a, cases) // events_jsonapi_test.go
			addResourceTenantCases(a, cases)    // mqtt_jsonapi_test.go
			addSeriesTenantCases(a, cases)      // series_test.go
			for pattern, path := range map[string]string{
				"GET /api/v1/applications/{id}": "/api/v1/applications/" + appID, "PATCH /api/v1/applications/{id}": "/api/v1/applications/" + appID,
				"DELETE /api/v1/applications/{id}": "/api/v1/applications/" + appID, "POST /api/v1/applications/{id}/secret": "/api/v1/applications/" + appID + "/secret",
				"PATCH /api/v1/configurations/{id}": "/api/v1/configurations/" + draft, "DELETE /api/v1/configurations/{id}": "/api/v1/configurations/" + draft,
				"POST /api/v1/configurations/{id}/publish": "/api/v1/configurations/" + draft + "/publish",
				"DELETE /api/v1/users/me/grants/{id}":      "/api/v1/users/me/grants/" + appID,
			} {
				tc := cases[pattern]
				tc.path = path
				switch pattern {
				case "PATCH /api/v1/applications/{id}":
					tc.body = apiDoc("applications", appID, map[string]any{"name": "Taken"}, nil)
				case "PATCH /api/v1/configurations/{id}":
					tc.body = apiDoc("configurations", draft, map[string]any{"name": "Taken"}, nil)
				}
				cases[pattern] = tc
			}
			before := aView(t, c, a)
			for _, rt := range routes {
				tc, ok := cases[rt.Pattern]
				if !ok {
					t.Fatalf("route %s has no tenant isolation case", rt.Pattern)
				}
				method, _, _ := strings.Cut(rt.Pattern, " ")
				for who, token := range map[string]string{"me": b.me, "app": b.app} {
					if rt.Pattern == "POST /api/v1/users/me/password" && who == "app" {
						continue // not B's user: nothing to isolate
					}
					t.Run(rt.Pattern+"/"+who, func(t *testing.T) {
						want := tc.want
						if who == "app" && strings.Contains(rt.Pattern, "/applications") || who == "app" && strings.Contains(rt.Pattern, "/users/me") {
							want = http.StatusForbidden // the scope check answers first
						}
						if w, ok := tc.wantBy[who]; ok {
							want = w
						}
						res := c.call(t, method, tc.path, token, tc.body)
						if res.status != want {
							t.Fatalf("B (%s): %s %s = %d, want %d\n%s", who, method, tc.path, res.status, want, res.body)
						}
						if tc.check != nil && res.status == http.StatusOK {
							tc.check(t, res)
						}
					})
				}
			}
			t.Run("DeviceTokenOfB", func(t *testing.T) {
				for _, p := range []string{"/api/v1/devices/" + a.deviceID, "/api/v1/devices/" + a.deviceID + "/relationships/group"} {
					c.call(t, "GET", p, b.device, nil).want(t, http.StatusNotFound)
				}
				if ids := listIDs(c.call(t, "GET", "/api/v1/devices", b.device, nil).want(t, 200)); len(ids) != 1 || ids[0] != b.deviceID {
					t.Fatalf("B's device token lists %v", ids)
				}
			})
			t.Run("NothingOfAChanged", func(t *testing.T) {
				if after := aView(t, c, a); after != before {
					t.Fatalf("A's resources changed:\nbefore %s\nafter  %s", before, after)
				}
				for _, p := range []string{"/api/v1/applications/" + appID, "/api/v1/configurations/" + draft} {
					c.call(t, "GET", p, a.me, nil).want(t, 200)
				}
			})
		})
	}
}

// aView is customer A's view of every resource B's requests aimed at.
func aView(t *testing.T, c *apiClient, a *apiTenant) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/api/v1/users/me", "/api/v1/applications", "/api/v1/devices?include=group.configuration",
		"/api/v1/device-groups?include=configuration", "/api/v1/configurations?page[size]=100",
		"/api/v1/devices/" + a.deviceID + "/relationships/group", "/api/v1/device-groups/" + a.groupID + "/relationships/configuration"} {
		res := c.call(t, "GET", p, a.me, nil)
		res.want(t, http.StatusOK)
		b.Write(res.body)
	}
	return b.String()
}
