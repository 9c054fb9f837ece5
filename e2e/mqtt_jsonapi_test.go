package e2e

import (
	"net/http"
	"testing"
)

// resourceMatrixCases are the scope matrix cases of the device resource
// routes. The test server has no MQTT listener, so every device is
// offline: an allowed call gets as far as 409 DeviceOffline.
func resourceMatrixCases() map[string]func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
	device := func(suffix string, body any, ok int) func(*testing.T, *apiClient, *apiTenant) matrixCase {
		return func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/" + tn.deviceID + suffix, body, ok}
		}
	}
	return map[string]func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase{
		"GET /api/v1/devices/{id}/resources": device("/resources", nil, 200),
		"POST /api/v1/devices/{id}/resources/{name}": device("/resources/reboot",
			apiDoc("resource-calls", "", map[string]any{}, nil), http.StatusConflict),
		"GET /api/v1/devices/{id}/resource-calls": device("/resource-calls", nil, 200),
	}
}

// addResourceTenantCases adds the tenant isolation cases of the device
// resource routes: another customer's device is 404, and never reached.
func addResourceTenantCases(a *apiTenant, cases map[string]tenantCase) {
	dev := "/api/v1/devices/" + a.deviceID
	cases["GET /api/v1/devices/{id}/resources"] = tenantCase{path: dev + "/resources", want: 404}
	cases["POST /api/v1/devices/{id}/resources/{name}"] = tenantCase{path: dev + "/resources/reboot", want: 404,
		body: apiDoc("resource-calls", "", map[string]any{}, nil)}
	cases["GET /api/v1/devices/{id}/resource-calls"] = tenantCase{path: dev + "/resource-calls", want: 404}
}
