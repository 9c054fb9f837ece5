package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestWalkthrough follows the README's five-minute walk-through against a
// real server started like `make run` (serve --demo), on both set-ups.
func TestWalkthrough(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, mkenv(t), "--demo", "--json")
			line, _, _ := strings.Cut(ts.stdout.String(), "\n")
			var demo demoResult
			if err := json.Unmarshal([]byte(line), &demo); err != nil {
				t.Fatalf("demo output %q: %v", line, err)
			}

			// Step 1: an application token with client credentials.
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/oauth/token",
				strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"app basic"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(demo.ClientID, demo.ClientSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var tok struct {
				AccessToken  string `json:"access_token"`
				TokenType    string `json:"token_type"`
				ExpiresIn    int    `json:"expires_in"`
				Scope        string `json:"scope"`
				CreatedAt    int64  `json:"created_at"`
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(tok.AccessToken, "agat_") || tok.TokenType != "Bearer" ||
				tok.ExpiresIn != 7200 || tok.Scope != "app basic" || tok.CreatedAt == 0 || tok.RefreshToken != "" {
				t.Fatalf("token response %d %+v", resp.StatusCode, tok)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control = %q", cc)
			}

			// Step 2: JSON:API, create a device and find it again.
			created := sendJSON(t, http.MethodPost, ts.URL+"/api/v1/devices", tok.AccessToken,
				`{"data":{"type":"devices","attributes":{"name":"Truck 7","imei":"490154203237518","mac":"00:1a:2b:3c:4d:5e","latitude":52.52,"longitude":13.405}}}`,
				http.StatusCreated)
			if attrs := created["data"].(map[string]any)["attributes"].(map[string]any); attrs["mac"] != "00:1A:2B:3C:4D:5E" {
				t.Fatalf("created device = %v", created)
			}
			found := getJSON(t, ts.URL+"/api/v1/devices?filter%5Bsearch%5D=truck&fields%5Bdevices%5D=name,imei", tok.AccessToken, http.StatusOK)
			if found["meta"].(map[string]any)["total"] != 1.0 {
				t.Fatalf("device search = %v", found)
			}
			attrs := found["data"].([]any)[0].(map[string]any)["attributes"].(map[string]any)
			if len(attrs) != 2 || attrs["name"] != "Truck 7" {
				t.Fatalf("sparse fieldset = %v", attrs)
			}

			// GraphQL: the same device through the other API, and `me`
			// refused to an application token.
			gql := sendGraphQL(t, ts.URL, tok.AccessToken, `{ devices(first: 5, filter: {search: "truck"}) { totalCount edges { node { name imei } } } }`)
			if devs := gql["data"].(map[string]any)["devices"].(map[string]any); devs["totalCount"] != 1.0 {
				t.Fatalf("graphql devices = %v", gql)
			}
			gql = sendGraphQL(t, ts.URL, tok.AccessToken, `{ me { id email } }`)
			if errs, _ := gql["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["extensions"].(map[string]any)["code"] != "FORBIDDEN" {
				t.Fatalf("graphql me with an app token = %v", gql)
			}

			// Step 3: token/info, introspection, revocation.
			info := getJSON(t, ts.URL+"/oauth/token/info", tok.AccessToken, http.StatusOK)
			if app, _ := info["application"].(map[string]any); app["uid"] != demo.ClientID || info["resource_owner_id"] != nil {
				t.Fatalf("token/info = %v", info)
			}
			basic := demo.ClientID + ":" + demo.ClientSecret
			if got := postForm(t, ts.URL+"/oauth/introspect", basic, url.Values{"token": {tok.AccessToken}}, http.StatusOK); got["active"] != true || got["client_id"] != demo.ClientID {
				t.Fatalf("introspect = %v", got)
			}
			postForm(t, ts.URL+"/oauth/revoke", basic, url.Values{"token": {tok.AccessToken}}, http.StatusOK)
			if got := postForm(t, ts.URL+"/oauth/introspect", basic, url.Values{"token": {tok.AccessToken}}, http.StatusOK); len(got) != 1 || got["active"] != false {
				t.Fatalf("introspect after revoke = %v, want exactly {\"active\":false}", got)
			}
			getJSON(t, ts.URL+"/oauth/token/info", tok.AccessToken, http.StatusUnauthorized)

			// Step 4: the device flow starts with the public client and
			// polls as pending until a user approves.
			da := postForm(t, ts.URL+"/oauth/device_authorization", "", url.Values{"client_id": {demo.PublicClient}}, http.StatusOK)
			code, _ := da["user_code"].(string)
			if len(code) != 9 || code[4] != '-' || !strings.HasSuffix(da["verification_uri"].(string), "/device") {
				t.Fatalf("device_authorization = %v", da)
			}
			poll := postForm(t, ts.URL+"/oauth/token", "", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
				"device_code": {da["device_code"].(string)}, "client_id": {demo.PublicClient}}, http.StatusBadRequest)
			if poll["error"] != "authorization_pending" {
				t.Fatalf("poll = %v", poll)
			}
		})
	}
}

// getJSON sends GET with an optional bearer token, checks the status and
// decodes a JSON object (nil for an empty body).
func getJSON(t *testing.T, u, bearer string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return doJSON(t, req, want)
}

// postForm sends a form POST with optional basic credentials ("id:secret"),
// checks the status and decodes a JSON object (nil for an empty body).
func postForm(t *testing.T, u, basic string, form url.Values, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id, secret, ok := strings.Cut(basic, ":"); ok {
		req.SetBasicAuth(id, secret)
	}
	return doJSON(t, req, want)
}

func doJSON(t *testing.T, req *http.Request, want int) map[string]any {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, want, b)
	}
	if len(b) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %s", req.Method, req.URL.Path, b)
	}
	return m
}

// sendJSON sends a JSON:API body with a bearer token, checks the status and
// decodes the answer.
func sendJSON(t *testing.T, method, u, bearer, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/vnd.api+json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	return doJSON(t, req, want)
}

// sendGraphQL posts a GraphQL query with a bearer token and decodes the
// answer (200 whatever the GraphQL errors).
func sendGraphQL(t *testing.T, base, bearer, query string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	return doJSON(t, req, http.StatusOK)
}
