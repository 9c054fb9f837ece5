package oauth_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// apiResponse is a response of the revocation, introspection, token info,
// metadata or device authorization endpoint.
type apiResponse struct {
	Status int
	Header http.Header
	Body   string
	// JSON is the body decoded as a JSON object, nil when it is not one.
	JSON map[string]any
}

// credentials sets a request's client or bearer credentials.
type credentials func(*http.Request)

// basic authenticates with HTTP Basic (RFC 6749 §2.3.1).
func basic(id, secret string) credentials {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

// bearer authenticates with a bearer token.
func bearer(token string) credentials {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// noAuth sends no credentials in a header (public clients send client_id in
// the form).
func noAuth(*http.Request) {}

// call sends a request to path on the test server: form, when not nil, as
// an application/x-www-form-urlencoded body.
func (e *env) call(tb testing.TB, method, path string, auth credentials, form url.Values) *apiResponse {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.url(path), body)
	if err != nil {
		tb.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	ar := &apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	_ = json.Unmarshal(b, &ar.JSON)
	return ar
}

// mustStatus fails unless the response has status and, when code is not
// "", the OAuth error code.
func (ar *apiResponse) mustStatus(tb testing.TB, status int, code string) *apiResponse {
	tb.Helper()
	if ar.Status != status || (code != "" && ar.JSON["error"] != code) {
		tb.Fatalf("got %d %s, want %d %q", ar.Status, ar.Body, status, code)
	}
	return ar
}

// revokeToken posts token (with hint, when not "") to the revocation
// endpoint.
func (e *env) revokeToken(tb testing.TB, auth credentials, token, hint string, extra url.Values) *apiResponse {
	tb.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	for k, v := range extra {
		form[k] = v
	}
	return e.call(tb, http.MethodPost, "/oauth/revoke", auth, form)
}

// introspectToken posts token to the introspection endpoint.
func (e *env) introspectToken(tb testing.TB, auth credentials, token string) *apiResponse {
	tb.Helper()
	return e.call(tb, http.MethodPost, "/oauth/introspect", auth, url.Values{"token": {token}})
}

// active reports whether the introspection endpoint, asked by auth, says
// token is active; it fails on any answer but 200.
func (e *env) active(tb testing.TB, auth credentials, token string) bool {
	tb.Helper()
	ar := e.introspectToken(tb, auth, token).mustStatus(tb, http.StatusOK, "")
	return ar.JSON["active"] == true
}
