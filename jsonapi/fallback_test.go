package jsonapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestFallback(t *testing.T) {
	a := New(Deps{})
	for _, tc := range []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"ErrNoRoute", http.MethodGet, "/api/v1/nothing-here", http.StatusNotFound, ""},
		{"ErrNoRouteDeep", http.MethodGet, "/api/v1/devices/1/nothing", http.StatusNotFound, ""},
		{"ErrMethod", http.MethodPut, "/api/v1/devices/0190f5a0-0000-7000-8000-000000000000", http.StatusMethodNotAllowed, "DELETE, GET, PATCH"},
		{"ErrMethodCollection", http.MethodDelete, "/api/v1/devices", http.StatusMethodNotAllowed, "GET, POST"},
		{"ErrMethodOpenAPI", http.MethodPost, "/api/v1/openapi.json", http.StatusMethodNotAllowed, "GET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow {
				t.Fatalf("%d Allow %q, want %d Allow %q", rec.Code, rec.Header().Get("Allow"), tc.status, tc.allow)
			}
			if ct := rec.Header().Get("Content-Type"); ct != MediaType {
				t.Fatalf("Content-Type = %q", ct)
			}
			var doc struct {
				Errors []struct{ Status string } `json:"errors"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || len(doc.Errors) != 1 {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
		})
	}
}
