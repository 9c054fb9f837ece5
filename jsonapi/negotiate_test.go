package jsonapi_test

import (
	"net/http"
	"testing"

	"github.com/assetgate/assetgate/storage"
)

func TestNegotiation(t *testing.T) {
	f := newFixture(t, storage.SQLite)
	body := resourceDoc("device-groups", "", map[string]any{"name": "Negotiated"}, nil)
	t.Run("Accept", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			accept string
			status int
		}{
			{"Absent", "", 200},
			{"Plain", "application/vnd.api+json", 200},
			{"Profile", `application/vnd.api+json; profile="https://example.com/p"`, 200},
			{"Any", "*/*", 200},
			{"AnyApplication", "application/*", 200},
			{"OnePlainAmongParameterised", `application/vnd.api+json; foo=bar, application/vnd.api+json`, 200},
			{"Weighted", "text/html, application/vnd.api+json;q=0.5", 200},
			{"ErrOnlyParameterised", "application/vnd.api+json; charset=utf-8", 406},
			{"ErrExtension", `application/vnd.api+json; ext="https://jsonapi.org/ext/atomic"`, 406},
			{"ErrZeroQuality", "application/vnd.api+json;q=0", 406},
			{"ErrOtherType", "application/json", 406},
			{"ErrHTML", "text/html", 406},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := f.do(t, "GET", "/api/v1/device-groups", f.a.app, nil, "Accept", tc.accept)
				if tc.status == 200 {
					res.doc(t, 200)
					return
				}
				if e := res.errorOf(t, tc.status); source(e, "header") != "Accept" {
					t.Fatalf("error %v", e)
				}
			})
		}
	})
	t.Run("ContentType", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			ct     string
			status int
		}{
			{"Plain", "application/vnd.api+json", 201},
			{"Profile", `application/vnd.api+json; profile="https://example.com/p"`, 201},
			{"ErrCharset", "application/vnd.api+json; charset=utf-8", 415},
			{"ErrExtension", `application/vnd.api+json; ext="https://jsonapi.org/ext/atomic"`, 415},
			{"ErrJSON", "application/json", 415},
			{"ErrMalformed", "application/vnd.api+json; =", 415},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := groupTotal(t, f)
				res := f.do(t, "POST", "/api/v1/device-groups", f.a.app, body, "Content-Type", tc.ct)
				if tc.status == 201 {
					res.doc(t, 201)
					return
				}
				if e := res.errorOf(t, tc.status); source(e, "header") != "Content-Type" {
					t.Fatalf("error %v", e)
				}
				if groupTotal(t, f) != before {
					t.Fatal("a refused request created a group")
				}
			})
		}
		t.Run("ErrMissing", func(t *testing.T) {
			res := f.do(t, "POST", "/api/v1/device-groups", f.a.app, body, "Content-Type", "")
			res.errorOf(t, 415)
		})
	})
	t.Run("ResponseHeaders", func(t *testing.T) {
		res := f.do(t, "GET", "/api/v1/device-groups", f.a.app, nil)
		if res.header.Get("Content-Type") != "application/vnd.api+json" || res.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("headers %v", res.header)
		}
	})
	t.Run("OpenAPIIsPublic", func(t *testing.T) {
		res := f.do(t, "GET", "/api/v1/openapi.json", "", nil)
		if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/json" {
			t.Fatalf("openapi.json: %d %v", res.status, res.header)
		}
	})
}

func groupTotal(t *testing.T, f *fixture) float64 {
	t.Helper()
	doc := f.do(t, "GET", "/api/v1/device-groups", f.a.app, nil).doc(t, http.StatusOK)
	return doc["meta"].(map[string]any)["total"].(float64)
}
