package e2e

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/jsonapi"
)

// TestTextThatCannotBeStored sends, to every input that reaches a store,
// text that PostgreSQL refuses to store (a NUL byte; invalid UTF-8 in
// query strings and forms, which JSON cannot carry): each is refused as
// invalid input in its protocol's format before it reaches SQL, on both
// databases alike, never answered 500.
func TestTextThatCannotBeStored(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			tn := newAPITenant(t, env, c, "Nul")
			mobile := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "Mobile NUL", "--grant", "password", "--scope", "me")
			web := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "Web NUL", "--grant", "authorization_code",
				"--redirect-uri", "https://app.example/cb")
			tv := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "TV NUL",
				"--grant", "urn:ietf:params:oauth:grant-type:device_code", "--auth-method", "none")

			t.Run("OAuth", func(t *testing.T) {
				for _, tc := range []struct{ name, username, password string }{
					{"PasswordGrantUsername", "a\x00b@example.com", tenantPassword},
					{"PasswordGrantPassword", tn.email, "correct\x00horse battery"},
					{"PasswordGrantUsernameNotUTF8", "a\xffb@example.com", tenantPassword},
				} {
					t.Run(tc.name, func(t *testing.T) {
						form := url.Values{"grant_type": {"password"}, "username": {tc.username}, "password": {tc.password}, "scope": {"me"}}
						req, _ := http.NewRequest(http.MethodPost, ts.URL+"/oauth/token", strings.NewReader(form.Encode()))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						req.SetBasicAuth(mobile["client_id"].(string), mobile["client_secret"].(string))
						status, body := sendRaw(t, req)
						var e struct {
							Error string `json:"error"`
						}
						if status != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Error != "invalid_request" {
							t.Fatalf("status %d: %s; want 400 invalid_request", status, body)
						}
					})
				}
			})

			t.Run("LoginPage", func(t *testing.T) {
				pc := newPageClient(t)
				params := url.Values{"client_id": {web["client_id"].(string)}, "response_type": {"code"},
					"redirect_uri": {"https://app.example/cb"}, "scope": {"me"}, "state": {"s"},
					"code_challenge": {"E9Melhoe2OwvFrEMTJguCQHS2ctIMkyC3iR2MFbZpQk"}, "code_challenge_method": {"S256"}}
				form := pc.formOf(t, ts.URL+"/oauth/authorize?"+params.Encode())
				form.Set("action", "login")
				form.Set("email", "a\x00b@example.com")
				form.Set("password", tenantPassword)
				pc.wantRefused(t, ts.URL+"/oauth/authorize", form)
			})

			t.Run("DevicePage", func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, ts.URL+"/oauth/device_authorization",
					strings.NewReader(url.Values{"client_id": {tv["client_id"].(string)}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				status, body := sendRaw(t, req)
				var da struct {
					UserCode string `json:"user_code"`
				}
				if status != http.StatusOK || json.Unmarshal(body, &da) != nil || da.UserCode == "" {
					t.Fatalf("device authorization: %d: %s", status, body)
				}
				pc := newPageClient(t)
				form := pc.formOf(t, ts.URL+"/device?"+url.Values{"user_code": {da.UserCode}}.Encode())
				form.Set("action", "login")
				form.Set("email", "a\x00b@example.com")
				form.Set("password", tenantPassword)
				pc.wantRefused(t, ts.URL+"/device", form)
			})

			t.Run("JSONAPIQuery", func(t *testing.T) {
				for _, tc := range []struct{ path, param string }{
					{"/api/v1/devices?filter%5Bsearch%5D=%00", "filter[search]"},
					{"/api/v1/devices?filter%5Bsearch%5D=a%FFb", "filter[search]"},
					{"/api/v1/configurations?filter%5Bsearch%5D=%00", "filter[search]"},
					{"/api/v1/configurations?filter%5Bname%5D=a%00b", "filter[name]"},
					{"/api/v1/device-groups?filter%5Bsearch%5D=%00", "filter[search]"},
					{"/api/v1/device-groups?filter%5Bname%5D=a%00b", "filter[name]"},
				} {
					t.Run(tc.param, func(t *testing.T) {
						status, body := sendRaw(t, jsonAPIRequest(t, http.MethodGet, ts.URL+tc.path, tn.me, nil))
						wantJSONAPI400(t, status, body, "parameter", tc.param)
					})
				}
			})

			t.Run("JSONAPIBody", func(t *testing.T) {
				for _, tc := range []struct {
					name, path, token string
					doc               map[string]any
					pointer           string
				}{
					{"GroupName", "/api/v1/device-groups", tn.me,
						apiDoc("device-groups", "", map[string]any{"name": "a\x00b"}, nil), "/data/attributes/name"},
					{"DeviceName", "/api/v1/devices", tn.me,
						apiDoc("devices", "", map[string]any{"name": "a\x00b", "imei": testIMEI()}, nil), "/data/attributes/name"},
					{"DeviceMAC", "/api/v1/devices", tn.me,
						apiDoc("devices", "", map[string]any{"name": "NUL", "imei": testIMEI(), "mac": "\x00"}, nil), "/data/attributes/mac"},
					{"ConfigurationName", "/api/v1/configurations", tn.me,
						apiDoc("configurations", "", map[string]any{"name": "a\x00b"}, nil), "/data/attributes/name"},
					{"ApplicationName", "/api/v1/applications", tn.me,
						apiDoc("applications", "", map[string]any{"name": "a\x00b", "grant_types": []string{"client_credentials"}}, nil), "/data/attributes/name"},
					{"ApplicationRedirectURI", "/api/v1/applications", tn.me,
						apiDoc("applications", "", map[string]any{"name": "NUL", "grant_types": []string{"authorization_code"},
							"redirect_uris": []string{"https://app.example/\x00"}}, nil), "/data/attributes/redirect_uris/0"},
					{"DeviceTokenName", "/api/v1/devices/" + tn.deviceID + "/tokens", tn.me,
						apiDoc("device-tokens", "", map[string]any{"name": "a\x00b"}, nil), "/data/attributes/name"},
					{"EventType", "/api/v1/devices/" + tn.deviceID + "/events", tn.device,
						apiDoc("events", "", map[string]any{"event_type": "\x00", "payload": map[string]any{}}, nil), "/data/attributes/event_type"},
					{"EventPayloadKey", "/api/v1/devices/" + tn.deviceID + "/events", tn.device,
						apiDoc("events", "", map[string]any{"event_type": "status", "payload": map[string]any{"fault": false, "a\x00": true}}, nil), "/data/attributes/payload/a\x00"},
				} {
					t.Run(tc.name, func(t *testing.T) {
						status, body := sendRaw(t, jsonAPIRequest(t, http.MethodPost, ts.URL+tc.path, tc.token, tc.doc))
						wantJSONAPI400(t, status, body, "pointer", tc.pointer)
					})
				}
			})

			t.Run("GraphQL", func(t *testing.T) {
				for _, tc := range []struct{ name, query string }{
					{"DevicesSearch", `query($s: String) { devices(filter: {search: $s}) { totalCount } }`},
					{"ConfigurationsSearch", `query($s: String) { configurations(filter: {search: $s}) { totalCount } }`},
					{"DeviceGroupsSearch", `query($s: String) { deviceGroups(filter: {search: $s}) { totalCount } }`},
					{"CreateDeviceGroup", `mutation($s: String!) { createDeviceGroup(input: {name: $s}) { deviceGroup { id } } }`},
					{"CreateDevice", `mutation($s: String!) { createDevice(input: {name: $s, imei: "` + testIMEI() + `"}) { device { id } } }`},
					{"CreateConfiguration", `mutation($s: String!) { createConfiguration(input: {name: $s}) { configuration { id } } }`},
					{"CreateApplication", `mutation($s: String!) { createApplication(input: {name: $s, grantTypes: ["client_credentials"]}) { application { id } } }`},
					{"CreateApplicationRedirectURI", `mutation($s: String!) { createApplication(input: {name: "NUL", grantTypes: ["authorization_code"], redirectUris: [$s]}) { application { id } } }`},
				} {
					t.Run(tc.name, func(t *testing.T) {
						r := gql(t, ts.URL, tn.me, tc.query, map[string]any{"s": "a\x00b"})
						if r.status == http.StatusInternalServerError || r.code() != "BAD_USER_INPUT" {
							t.Fatalf("status %d, errors %v; want BAD_USER_INPUT", r.status, r.Errors)
						}
					})
				}
				t.Run("CreateDeviceToken", func(t *testing.T) {
					r := gql(t, ts.URL, tn.me, `mutation($d: ID!, $s: String!) { createDeviceToken(input: {deviceId: $d, name: $s}) { token } }`,
						map[string]any{"d": tn.deviceID, "s": "a\x00b"})
					if r.code() != "BAD_USER_INPUT" {
						t.Fatalf("status %d, errors %v; want BAD_USER_INPUT", r.status, r.Errors)
					}
				})
			})
		})
	}
}

// sendRaw sends a request and returns its status and body.
func sendRaw(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

// jsonAPIRequest returns a JSON:API request with a bearer token and a body
// (nil for none).
func jsonAPIRequest(t *testing.T, method, u, token string, doc any) *http.Request {
	t.Helper()
	var body io.Reader
	if doc != nil {
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("Accept", jsonapi.MediaType)
	if doc != nil {
		req.Header.Set("Content-Type", jsonapi.MediaType)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// wantJSONAPI400 checks a 400 JSON:API error document whose error points
// (source.pointer or source.parameter, per kind) at where.
func wantJSONAPI400(t *testing.T, status int, body []byte, kind, where string) {
	t.Helper()
	var doc struct {
		Errors []struct {
			Status, Code string
			Source       map[string]string `json:"source"`
		} `json:"errors"`
	}
	if status != http.StatusBadRequest || json.Unmarshal(body, &doc) != nil || len(doc.Errors) != 1 ||
		doc.Errors[0].Status != "400" || doc.Errors[0].Code != "Invalid" || doc.Errors[0].Source[kind] != where {
		t.Fatalf("status %d: %s; want 400 Invalid with source.%s %q", status, body, kind, where)
	}
}

// pageClient is a browser of the authorization pages: it keeps cookies and
// does not follow redirects.
type pageClient struct{ client *http.Client }

func newPageClient(t *testing.T) *pageClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &pageClient{client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// hiddenInput matches the hidden fields of the pages' forms.
var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// formOf opens a page that shows a form and returns its hidden fields.
func (pc *pageClient) formOf(t *testing.T, u string) url.Values {
	t.Helper()
	res, err := pc.client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if res.StatusCode != http.StatusOK || form.Get("csrf_token") == "" {
		t.Fatalf("GET %s: %d without a form: %s", u, res.StatusCode, page)
	}
	return form
}

// wantRefused posts a form and checks that the page answers 400 with an
// HTML page: a refusal shown to the user, not redirected to the client.
func (pc *pageClient) wantRefused(t *testing.T, u string, form url.Values) {
	t.Helper()
	res, err := pc.client.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusBadRequest || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("POST %s: %d %s: %s; want a 400 page", u, res.StatusCode, res.Header.Get("Content-Type"), page)
	}
}
