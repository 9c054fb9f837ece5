package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/jsonapi/jsonapitest"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// This file holds the helpers of the JSON:API end-to-end tests: a client
// whose every request and response is validated against the OpenAPI
// document the server serves, tenants made with the CLI, tokens from
// POST /oauth/token, and device tokens minted in the token store.

// invalidRequestKey marks a request context: the test sends a request that
// breaks the OpenAPI document on purpose (to see it refused), so only its
// response is validated.
type invalidRequestKey struct{}

// openAPITransport validates each request and response against an OpenAPI
// document; a mismatch fails the test.
type openAPITransport struct {
	t      testing.TB
	router routers.Router
	base   http.RoundTripper
}

// newAPIClient loads the server's OpenAPI document (GET
// /api/v1/openapi.json) and returns a client validating against it.
func newAPIClient(t testing.TB, base string) *http.Client {
	t.Helper()
	res, err := http.Get(base + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json = %d: %s", res.StatusCode, raw)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	// A relative server URL is relative to where the document was
	// fetched from (OpenAPI 3.1 §4.8.5), here the test server.
	docURL, _ := url.Parse(base + "/api/v1/openapi.json")
	for _, srv := range doc.Servers {
		if u, err := url.Parse(srv.URL); err == nil && !u.IsAbs() {
			srv.URL = strings.TrimSuffix(docURL.ResolveReference(u).String(), "/")
		}
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("OpenAPI router: %v", err)
	}
	return &http.Client{Transport: &openAPITransport{t: t, router: router, base: http.DefaultTransport}, Timeout: 60 * time.Second}
}

// RoundTrip implements http.RoundTripper.
func (v *openAPITransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.router.FindRoute(check)
	if err != nil {
		v.t.Errorf("OpenAPI: %s %s is not described: %v", req.Method, req.URL.Path, err)
		return v.base.RoundTrip(req)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	if req.Context().Value(invalidRequestKey{}) == nil {
		if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
			v.t.Errorf("OpenAPI: request %s %s breaks the document: %v", req.Method, req.URL.RequestURI(), err)
		}
	}
	res, err := v.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Options: opts}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.t.Errorf("OpenAPI: response %d to %s %s breaks the document: %v\n%s", res.StatusCode, req.Method, req.URL.RequestURI(), err, body)
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), jsonapi.MediaType) {
		if err := jsonapitest.CheckLinks(body); err != nil {
			v.t.Errorf("response %d to %s %s has a link that is not an RFC 3986 URI: %v\n%s", res.StatusCode, req.Method, req.URL.RequestURI(), err, body)
		}
	}
	return res, nil
}

// apiResult is one JSON:API response.
type apiResult struct {
	status int
	header http.Header
	body   []byte
	doc    map[string]any // nil for an empty body
}

// apiClient is a JSON:API client of one server.
type apiClient struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newAPIClientOf(t *testing.T, base string) *apiClient {
	t.Helper()
	return &apiClient{t: t, base: base, client: newAPIClient(t, base)}
}

// call sends a JSON:API request with a bearer token ("" for none) and a
// body (nil for none; a string is sent as is).
func (c *apiClient) call(t *testing.T, method, path, token string, body any) apiResult {
	t.Helper()
	return c.send(t, t.Context(), method, path, token, body)
}

// callInvalid is call for a request that breaks the OpenAPI document on
// purpose.
func (c *apiClient) callInvalid(t *testing.T, method, path, token string, body any) apiResult {
	t.Helper()
	return c.send(t, context.WithValue(t.Context(), invalidRequestKey{}, true), method, path, token, body)
}

// rawBody is a request body that is not a JSON:API document (a CSV or
// NDJSON import), with its media type.
type rawBody struct{ contentType, text string }

func (c *apiClient) send(t *testing.T, ctx context.Context, method, path, token string, body any) apiResult {
	t.Helper()
	var rd io.Reader
	contentType := jsonapi.MediaType
	switch b := body.(type) {
	case nil:
	case rawBody:
		rd, contentType = strings.NewReader(b.text), b.contentType
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", jsonapi.MediaType)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := apiResult{status: res.StatusCode, header: res.Header, body: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.doc); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v\n%s", method, path, err, raw)
		}
	}
	return r
}

// want fails the test unless the response has the status; it returns the
// document.
func (r apiResult) want(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d\n%s", r.status, status, r.body)
	}
	return r.doc
}

// id returns the id of the primary data.
func (r apiResult) id(t *testing.T) string {
	t.Helper()
	d, _ := r.doc["data"].(map[string]any)
	id, _ := d["id"].(string)
	if id == "" {
		t.Fatalf("no primary data id in %s", r.body)
	}
	return id
}

// listIDs returns the ids of a list document.
func listIDs(doc map[string]any) []string {
	var out []string
	list, _ := doc["data"].([]any)
	for _, o := range list {
		out = append(out, o.(map[string]any)["id"].(string))
	}
	return out
}

// apiDoc builds a request document; rels maps a relationship name to
// [type, id] ("" id for null).
func apiDoc(typ, id string, attrs map[string]any, rels map[string][2]string) map[string]any {
	d := map[string]any{"type": typ}
	if id != "" {
		d["id"] = id
	}
	if attrs != nil {
		d["attributes"] = attrs
	}
	if len(rels) > 0 {
		r := map[string]any{}
		for name, l := range rels {
			r[name] = apiLinkage(l[0], l[1])
		}
		d["relationships"] = r
	}
	return map[string]any{"data": d}
}

// apiLinkage is {"data": {type, id}} or {"data": null}.
func apiLinkage(typ, id string) map[string]any {
	if id == "" {
		return map[string]any{"data": nil}
	}
	return map[string]any{"data": map[string]any{"type": typ, "id": id}}
}

// apiTenant is a customer with a user and tokens of every kind.
type apiTenant struct {
	customerID, userID, email string
	me, app, basic, device    string
	// deviceID is the device of the device token; groupID its group;
	// configID the group's published configuration.
	deviceID, groupID, configID string
	// geogroupID is a geogroup (storagetest.SquareGeometry).
	geogroupID string
}

const tenantPassword = "correct horse battery staple"

// newAPITenant makes a customer, a user, a password-grant application and
// client-credentials applications with the CLI, gets `me`, `app` and
// `basic` tokens from POST /oauth/token, creates a published
// configuration, a group using it and a device in it through the API, and
// mints a device token for that device with every permission.
func newAPITenant(t *testing.T, env testsupport.Env, c *apiClient, name string) *apiTenant {
	t.Helper()
	tn := &apiTenant{email: strings.ToLower(name) + "-" + resource.NewID() + "@example.com"}
	tn.customerID = mustCLI(t, env, "", "customer", "create", "--name", name)["id"].(string)
	tn.userID = mustCLI(t, env, tenantPassword+"\n", "user", "create", "--customer", tn.customerID, "--email", tn.email, "--password-stdin")["id"].(string)
	mobile := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "Mobile", "--grant", "password", "--grant", "refresh_token", "--scope", "me")
	backend := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "Backend", "--grant", "client_credentials", "--scope", "app")
	reader := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "Reader", "--grant", "client_credentials", "--scope", "basic")
	tn.me = oauthToken(t, c, mobile, url.Values{"grant_type": {"password"}, "username": {tn.email}, "password": {tenantPassword}, "scope": {"me"}})
	tn.app = oauthToken(t, c, backend, url.Values{"grant_type": {"client_credentials"}, "scope": {"app"}})
	tn.basic = oauthToken(t, c, reader, url.Values{"grant_type": {"client_credentials"}, "scope": {"basic"}})

	tn.configID = c.call(t, "POST", "/api/v1/configurations", tn.me, apiDoc("configurations", "", map[string]any{"name": name + " config",
		"settings": map[string]any{"reporting_interval_s": 60}}, nil)).want(t, 201)["data"].(map[string]any)["id"].(string)
	c.call(t, "POST", "/api/v1/configurations/"+tn.configID+"/publish", tn.me, nil).want(t, 200)
	tn.groupID = c.call(t, "POST", "/api/v1/device-groups", tn.me, apiDoc("device-groups", "", map[string]any{"name": name + " group"},
		map[string][2]string{"configuration": {"configurations", tn.configID}})).id(t)
	tn.deviceID = c.call(t, "POST", "/api/v1/devices", tn.me, apiDoc("devices", "", map[string]any{"name": name + " device", "imei": testIMEI()},
		map[string][2]string{"group": {"device-groups", tn.groupID}})).id(t)
	tn.geogroupID = c.call(t, "POST", "/api/v1/geogroups", tn.me, apiDoc("geogroups", "", map[string]any{"name": name + " area",
		"geometry": json.RawMessage(storagetest.SquareGeometry)}, nil)).id(t)
	tn.device = mintDeviceToken(t, env, backend["client_id"].(string), tn.customerID, tn.deviceID, scopes.AllPermissions()...)
	return tn
}

// oauthToken gets an access token from POST /oauth/token with an
// application's credentials (the --json output of app create).
func oauthToken(t *testing.T, c *apiClient, app map[string]any, form url.Values) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", c.base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(app["client_id"].(string), app["client_secret"].(string))
	res, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &tok); err != nil || res.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("POST /oauth/token (%s) = %d: %s", form.Get("grant_type"), res.StatusCode, raw)
	}
	return tok.AccessToken
}

// mintDeviceToken stores a device token for a device, created by the
// application clientID, in the token store the server uses (Redis when
// configured, else the database) and returns it.
func mintDeviceToken(t *testing.T, env testsupport.Env, clientID, customerID, deviceID string, permissions ...string) string {
	t.Helper()
	a := openGraphWith(t, env, true)
	tokens := a.Stores.Tokens
	fam := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: clientID, CustomerID: customerID, DeviceID: deviceID}
	token := resource.NewToken(resource.DeviceTokenPrefix, fam.ID)
	tok := &resource.Token{Kind: resource.TokenDevice, FamilyID: fam.ID, Hash: resource.KeyedHash(a.Config().Key, token),
		ClientID: clientID, CustomerID: customerID, DeviceID: deviceID, ID: resource.NewID(), Name: "test device token",
		Permissions: permissions, IssuedAt: time.Now()}
	if err := tokens.CreateFamily(t.Context(), fam, tok); err != nil {
		t.Fatalf("mint device token: %v", err)
	}
	return token
}

// testIMEI returns a new valid IMEI.
func testIMEI() string { return storagetest.NewIMEI() }
