package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// eventMatrixCases are the scope-matrix cases of the event and device
// token routes (see matrixCases).
func eventMatrixCases() map[string]func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
	newEvent := func(t *testing.T, c *apiClient, tn *apiTenant) string {
		return c.call(t, "POST", "/api/v1/devices/"+tn.deviceID+"/events", tn.app, temperatureDoc(20)).id(t)
	}
	newToken := func(t *testing.T, c *apiClient, tn *apiTenant) string {
		return c.call(t, "POST", "/api/v1/devices/"+tn.deviceID+"/tokens", tn.me, apiDoc("device-tokens", "", map[string]any{"name": "M"}, nil)).id(t)
	}
	device := func(suffix string, body any, ok int) func(*testing.T, *apiClient, *apiTenant) matrixCase {
		return func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/" + tn.deviceID + suffix, body, ok}
		}
	}
	return map[string]func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase{
		"GET /api/v1/events": func(*testing.T, *apiClient, *apiTenant) matrixCase { return matrixCase{"/api/v1/events", nil, 200} },
		"GET /api/v1/events/{id}": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/events/" + newEvent(t, c, tn), nil, 200}
		},
		"GET /api/v1/devices/{id}/events":  device("/events", nil, 200),
		"POST /api/v1/devices/{id}/events": device("/events", temperatureDoc(21), 201),
		"GET /api/v1/devices/{id}/stats":   device("/stats", nil, 200),
		"GET /api/v1/devices/{id}/tokens":  device("/tokens", nil, 200),
		"POST /api/v1/devices/{id}/tokens": device("/tokens", apiDoc("device-tokens", "", map[string]any{"name": "New"}, nil), 201),
		"GET /api/v1/devices/{id}/tokens/{token_id}": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/" + tn.deviceID + "/tokens/" + newToken(t, c, tn), nil, 200}
		},
		"DELETE /api/v1/devices/{id}/tokens/{token_id}": func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/" + tn.deviceID + "/tokens/" + newToken(t, c, tn), nil, 204}
		},
	}
}

// temperatureDoc is the request document of one temperature event.
func temperatureDoc(celsius float64) map[string]any {
	return apiDoc("events", "", map[string]any{"event_type": "temperature", "payload": map[string]any{"celsius": celsius}}, nil)
}

// addEventTenantCases adds the tenant isolation cases of the event and
// device token routes: customer B aims at an event and a device token of
// A, made here.
func addEventTenantCases(t *testing.T, c *apiClient, a *apiTenant, cases map[string]tenantCase) {
	t.Helper()
	eventID := c.call(t, "POST", "/api/v1/devices/"+a.deviceID+"/events", a.app, temperatureDoc(19)).id(t)
	tokenID := c.call(t, "POST", "/api/v1/devices/"+a.deviceID+"/tokens", a.me,
		apiDoc("device-tokens", "", map[string]any{"name": "A's"}, nil)).id(t)
	dev := "/api/v1/devices/" + a.deviceID
	absent := func(t *testing.T, res apiResult) {
		data, _ := json.Marshal(res.doc["data"])
		if strings.Contains(string(data), eventID) || strings.Contains(string(data), a.deviceID) || res.doc["meta"].(map[string]any)["total"] != 0.0 {
			t.Fatalf("B's answer shows A's events:\n%s", res.body)
		}
	}
	meOnly := map[string]int{"app": http.StatusForbidden}
	for pattern, tc := range map[string]tenantCase{
		"GET /api/v1/events":                            {path: "/api/v1/events?filter[device]=" + a.deviceID, want: 200, check: absent},
		"GET /api/v1/events/{id}":                       {path: "/api/v1/events/" + eventID, want: 404},
		"GET /api/v1/devices/{id}/events":               {path: dev + "/events", want: 404},
		"POST /api/v1/devices/{id}/events":              {path: dev + "/events", body: temperatureDoc(99), want: 404, wantBy: map[string]int{"me": http.StatusForbidden}},
		"GET /api/v1/devices/{id}/stats":                {path: dev + "/stats", want: 404},
		"GET /api/v1/devices/{id}/tokens":               {path: dev + "/tokens", want: 404, wantBy: meOnly},
		"POST /api/v1/devices/{id}/tokens":              {path: dev + "/tokens", body: apiDoc("device-tokens", "", map[string]any{"name": "B's"}, nil), want: 404, wantBy: meOnly},
		"GET /api/v1/devices/{id}/tokens/{token_id}":    {path: dev + "/tokens/" + tokenID, want: 404, wantBy: meOnly},
		"DELETE /api/v1/devices/{id}/tokens/{token_id}": {path: dev + "/tokens/" + tokenID, want: 404, wantBy: meOnly},
	} {
		cases[pattern] = tc
	}
	t.Cleanup(func() {
		// A's event and token are still there, untouched.
		if t.Failed() {
			return
		}
		ctx := context.Background() // the test's context has ended
		c.send(t, ctx, "GET", "/api/v1/events/"+eventID, a.me, nil).want(t, http.StatusOK)
		if ids := listIDs(c.send(t, ctx, "GET", dev+"/tokens", a.me, nil).want(t, http.StatusOK)); !slices.Contains(ids, tokenID) {
			t.Errorf("A's device token %s is gone: %v", tokenID, ids)
		}
	})
}
