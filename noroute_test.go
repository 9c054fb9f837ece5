package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/jsonapi"
)

// TestNoRoute checks that a path no route serves answers a
// small branded HTML page to browsers and a JSON error to everyone else,
// with the security headers of the OAuth pages; a path served with other
// methods answers 405 with Allow the same way; /api/v1 keeps its JSON:API
// errors.
func TestNoRoute(t *testing.T) {
	ts := httptest.NewServer(newHandler(openForTest(t, testsupport.SQLiteEnv(t)), false))
	t.Cleanup(ts.Close)
	get := func(t *testing.T, method, path, accept string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	// The headers every page of the authorization server carries.
	page, _ := get(t, "GET", "/device", "text/html")
	if page.StatusCode != http.StatusOK || page.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("GET /device = %d, CSP %q", page.StatusCode, page.Header.Get("Content-Security-Policy"))
	}
	securityHeaders := []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cache-Control"}
	sameHeaders := func(t *testing.T, res *http.Response) {
		t.Helper()
		for _, h := range securityHeaders {
			if got, want := res.Header.Get(h), page.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q as on the OAuth pages", h, got, want)
			}
		}
	}
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

	t.Run("HTML", func(t *testing.T) {
		res, body := get(t, "GET", "/no/such/<script>page", browser)
		if res.StatusCode != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("status %d, Content-Type %q\n%s", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		if !strings.Contains(body, "<title>Page not found · assetgate</title>") || !strings.Contains(body, "<style>") ||
			strings.Contains(body, "404 page not found") || strings.Contains(body, "<script>") {
			t.Fatalf("body:\n%s", body)
		}
		sameHeaders(t, res)
	})
	t.Run("JSON", func(t *testing.T) {
		for _, accept := range []string{"", "*/*", "application/json", "text/html;q=0.5, application/json", "text/html;q=0"} {
			res, body := get(t, "GET", "/nope", accept)
			var e map[string]string
			if res.StatusCode != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
				json.Unmarshal([]byte(body), &e) != nil || e["error"] != "not_found" || e["error_description"] == "" {
				t.Fatalf("Accept %q: status %d, Content-Type %q\n%s", accept, res.StatusCode, res.Header.Get("Content-Type"), body)
			}
			sameHeaders(t, res)
		}
	})
	t.Run("Head", func(t *testing.T) {
		res, body := get(t, "HEAD", "/nope", browser)
		if res.StatusCode != http.StatusNotFound || body != "" {
			t.Fatalf("status %d, body %q", res.StatusCode, body)
		}
	})
	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		for path, allow := range map[string]string{"/healthz": "GET, HEAD", "/oauth/token": "POST", "/.well-known/oauth-authorization-server": "GET, HEAD"} {
			res, body := get(t, "PUT", path, "")
			var e map[string]string
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != allow ||
				json.Unmarshal([]byte(body), &e) != nil || e["error"] != "method_not_allowed" {
				t.Fatalf("PUT %s: status %d, Allow %q\n%s", path, res.StatusCode, res.Header.Get("Allow"), body)
			}
			sameHeaders(t, res)
		}
		res, body := get(t, "DELETE", "/healthz", browser)
		if res.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(body, "<title>Method not allowed · assetgate</title>") {
			t.Fatalf("DELETE /healthz from a browser: %d\n%s", res.StatusCode, body)
		}
	})
	t.Run("RoutesStillServe", func(t *testing.T) {
		if res, body := get(t, "GET", "/healthz", browser); res.StatusCode != http.StatusOK || !strings.Contains(body, `"ok"`) {
			t.Fatalf("GET /healthz = %d %s", res.StatusCode, body)
		}
		res, body := get(t, "GET", "/api/v1/nope", jsonapi.MediaType)
		if res.StatusCode != http.StatusNotFound || res.Header.Get("Content-Type") != jsonapi.MediaType || !strings.Contains(body, `"errors"`) {
			t.Fatalf("GET /api/v1/nope = %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	})
}

func TestPrefersHTML(t *testing.T) {
	for accept, want := range map[string]bool{
		"": false, "*/*": false, "application/json": false, "text/*": false,
		"text/html": true, "application/xhtml+xml": true,
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": true,
		"application/json, text/html":                                     true,
		"text/html;q=0.5, application/json":                               false,
		"text/html;q=0":                                                   false,
		"text/html;q=bad":                                                 false,
		"text/html;;;":                                                    false,
	} {
		if got := prefersHTML(accept); got != want {
			t.Errorf("prefersHTML(%q) = %v, want %v", accept, got, want)
		}
	}
}
