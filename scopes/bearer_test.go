package scopes_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/assetgate/assetgate/scopes"
)

const goodToken = "agat_AAAAAAAAAAAAAAAAAAAAAAgoodtoken-good_token.with~chars+and/slash=="

// testServer serves, behind the bearer middleware, /plain (header only) and
// /stream (also ?authorization=), answering with the principal's customer
// and the query string the handler saw. It counts resolver calls.
type testServer struct {
	*httptest.Server
	calls atomic.Int64
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{}
	resolve := func(ctx context.Context, token string) (*scopes.Principal, error) {
		ts.calls.Add(1)
		switch token {
		case goodToken:
			return &scopes.Principal{Kind: scopes.KindApplication, CustomerID: "cust-1", Scopes: []string{scopes.Basic}}, nil
		case "store-down":
			return nil, errors.New("redis: connection refused")
		case "nil-principal":
			return nil, nil
		}
		return nil, fmt.Errorf("look-up: %w", scopes.ErrInvalidToken)
	}
	onError := func(w http.ResponseWriter, r *http.Request, err error) {
		if status, ok := scopes.Challenge(w, err); ok {
			http.Error(w, "auth error", status)
			return
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := scopes.FromContext(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusTeapot)
			return
		}
		fmt.Fprintf(w, "%s %s", p.CustomerID, r.URL.RawQuery)
	})
	mux := http.NewServeMux()
	mux.Handle("/plain", scopes.Bearer(resolve, onError)(echo))
	mux.Handle("/stream", scopes.Bearer(resolve, onError, scopes.AllowQueryToken())(echo))
	ts.Server = httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func TestBearer(t *testing.T) {
	ts := newTestServer(t)
	for _, tc := range []struct {
		name      string
		path      string
		headers   []string
		status    int
		challenge string
		body      string
		calls     int64
	}{
		{name: "OK", path: "/plain", headers: []string{"Bearer " + goodToken}, status: 200, body: "cust-1 ", calls: 1},
		{name: "SchemeCaseInsensitive", path: "/plain?x=1", headers: []string{"bEaReR " + goodToken}, status: 200, body: "cust-1 x=1", calls: 1},
		{name: "ErrMissing", path: "/plain", status: 401, challenge: `Bearer realm="assetgate"`},
		{name: "ErrOtherScheme", path: "/plain", headers: []string{"Basic dXNlcjpwYXNz"}, status: 401, challenge: `Bearer realm="assetgate"`},
		{name: "ErrInvalidToken", path: "/plain", headers: []string{"Bearer agat_unknown"}, status: 401,
			challenge: `Bearer realm="assetgate", error="invalid_token", error_description="The access token is invalid, expired or revoked."`, calls: 1},
		{name: "ErrNilPrincipal", path: "/plain", headers: []string{"Bearer nil-principal"}, status: 401,
			challenge: `Bearer realm="assetgate", error="invalid_token", error_description="The access token is invalid, expired or revoked."`, calls: 1},
		{name: "ErrMalformedToken", path: "/plain", headers: []string{"Bearer not a token"}, status: 401,
			challenge: `Bearer realm="assetgate", error="invalid_token", error_description="The access token is invalid, expired or revoked."`},
		{name: "ErrEmptyToken", path: "/plain", headers: []string{"Bearer "}, status: 400,
			challenge: `Bearer realm="assetgate", error="invalid_request", error_description="The request carries a malformed bearer token."`},
		{name: "ErrTwoHeaders", path: "/plain", headers: []string{"Bearer " + goodToken, "Bearer " + goodToken}, status: 400,
			challenge: `Bearer realm="assetgate", error="invalid_request", error_description="The request carries a malformed bearer token."`},
		{name: "ErrInternal", path: "/plain", headers: []string{"Bearer store-down"}, status: 500, calls: 1},
		{name: "QueryTokenIgnoredWithoutOptIn", path: "/plain?authorization=" + url.QueryEscape(goodToken), status: 401, challenge: `Bearer realm="assetgate"`},
		{name: "QueryTokenOnStream", path: "/stream?authorization=" + url.QueryEscape(goodToken) + "&since=5", status: 200, body: "cust-1 since=5", calls: 1},
		{name: "HeaderOnStream", path: "/stream", headers: []string{"Bearer " + goodToken}, status: 200, body: "cust-1 ", calls: 1},
		{name: "ErrQueryAndHeader", path: "/stream?authorization=" + url.QueryEscape(goodToken), headers: []string{"Bearer " + goodToken}, status: 400,
			challenge: `Bearer realm="assetgate", error="invalid_request", error_description="The request carries a malformed bearer token."`},
		{name: "ErrTwoQueryTokens", path: "/stream?authorization=a&authorization=b", status: 400,
			challenge: `Bearer realm="assetgate", error="invalid_request", error_description="The request carries a malformed bearer token."`},
		{name: "ErrUnknownQueryToken", path: "/stream?authorization=agat_unknown", status: 401,
			challenge: `Bearer realm="assetgate", error="invalid_token", error_description="The access token is invalid, expired or revoked."`, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.calls.Load()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.headers {
				req.Header.Add("Authorization", h)
			}
			res, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (body %q)", res.StatusCode, tc.status, body)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q\nwant             %q", got, tc.challenge)
			}
			if tc.body != "" && string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			if got := ts.calls.Load() - before; got != tc.calls {
				t.Errorf("resolver called %d times, want %d", got, tc.calls)
			}
		})
	}
}

func TestAuthError(t *testing.T) {
	t.Run("Is", func(t *testing.T) {
		wrapped := fmt.Errorf("store: %w", &scopes.AuthError{Status: 401, Code: "invalid_token", Description: "other words"})
		if !errors.Is(wrapped, scopes.ErrInvalidToken) {
			t.Error("a wrapped invalid_token error is not ErrInvalidToken")
		}
		if errors.Is(wrapped, scopes.ErrMissingToken) || errors.Is(scopes.ErrMissingToken, scopes.ErrInvalidToken) {
			t.Error("different auth errors match")
		}
	})
	t.Run("ChallengeIgnoresOtherErrors", func(t *testing.T) {
		rec := httptest.NewRecorder()
		if status, ok := scopes.Challenge(rec, errors.New("boom")); ok || status != 0 {
			t.Fatalf("Challenge = %d, %v", status, ok)
		}
		if h := rec.Header().Get("WWW-Authenticate"); h != "" {
			t.Fatalf("WWW-Authenticate set to %q", h)
		}
	})
	t.Run("InsufficientScopeNamesScopes", func(t *testing.T) {
		rec := httptest.NewRecorder()
		status, ok := scopes.Challenge(rec, scopes.InsufficientScope(scopes.OpDevicesWrite))
		if !ok || status != http.StatusForbidden {
			t.Fatalf("Challenge = %d, %v", status, ok)
		}
		if h := rec.Header().Get("WWW-Authenticate"); !strings.HasSuffix(h, `scope="me app"`) {
			t.Fatalf("WWW-Authenticate %q does not name the scopes", h)
		}
	})
}
