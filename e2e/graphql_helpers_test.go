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

	"github.com/coder/websocket"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
)

// This file holds the helpers of the GraphQL end-to-end tests: a tenant
// made with the CLI whose tokens come from POST /oauth/token, and a GraphQL
// client.

// gqlTenant is a customer with a user and `me`, `app` and `basic` tokens.
type gqlTenant struct {
	customerID, userID, email string
	me, meRefresh, app, basic string
	// mobile is the password-grant application (its --json output).
	mobile map[string]any
}

// newGQLTenant makes a customer and a user with the CLI, a mobile
// application for the password grant (with refresh tokens) and backend
// applications for client credentials, and gets a token of each scope from
// POST /oauth/token.
func newGQLTenant(t *testing.T, env testsupport.Env, base, name string) *gqlTenant {
	t.Helper()
	tn := &gqlTenant{email: strings.ToLower(name) + "-" + resource.NewID() + "@example.com"}
	tn.customerID = mustCLI(t, env, "", "customer", "create", "--name", name)["id"].(string)
	tn.userID = mustCLI(t, env, tenantPassword+"\n", "user", "create", "--customer", tn.customerID, "--email", tn.email, "--password-stdin")["id"].(string)
	tn.mobile = mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "Mobile", "--grant", "password", "--grant", "refresh_token")
	backend := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "Backend", "--grant", "client_credentials")
	tok := postForm(t, base+"/oauth/token", clientBasic(tn.mobile),
		url.Values{"grant_type": {"password"}, "username": {tn.email}, "password": {tenantPassword}, "scope": {"me"}}, http.StatusOK)
	tn.me, tn.meRefresh = tok["access_token"].(string), tok["refresh_token"].(string)
	tn.app = postForm(t, base+"/oauth/token", clientBasic(backend), url.Values{"grant_type": {"client_credentials"}, "scope": {"app"}}, http.StatusOK)["access_token"].(string)
	tn.basic = postForm(t, base+"/oauth/token", clientBasic(backend), url.Values{"grant_type": {"client_credentials"}, "scope": {"basic"}}, http.StatusOK)["access_token"].(string)
	return tn
}

// clientBasic returns "id:secret" of an application's --json output.
func clientBasic(app map[string]any) string {
	return app["client_id"].(string) + ":" + app["client_secret"].(string)
}

// gqlResult is one GraphQL response.
type gqlResult struct {
	status int
	header http.Header
	Data   map[string]any   `json:"data"`
	Errors []map[string]any `json:"errors"`
}

// code returns extensions.code of the first error, or "".
func (r gqlResult) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	ext, _ := r.Errors[0]["extensions"].(map[string]any)
	c, _ := ext["code"].(string)
	return c
}

// ok fails the test unless the response has no errors; it returns data.
func (r gqlResult) ok(t *testing.T) map[string]any {
	t.Helper()
	if r.status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("GraphQL status %d, errors %v", r.status, r.Errors)
	}
	return r.Data
}

// fails fails the test unless the first error has the code.
func (r gqlResult) fails(t *testing.T, code string) {
	t.Helper()
	if r.code() != code {
		t.Fatalf("GraphQL status %d, errors %v, want code %s", r.status, r.Errors, code)
	}
}

// gql posts a GraphQL request to base's /graphql with a bearer token ("" for
// none).
func gql(t *testing.T, base, token, query string, vars map[string]any) gqlResult {
	t.Helper()
	body := map[string]any{"query": query}
	if vars != nil {
		body["variables"] = vars
	}
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/graphql", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return doGQL(t, req)
}

func doGQL(t *testing.T, req *http.Request) gqlResult {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := gqlResult{status: res.StatusCode, header: res.Header}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s %s = %d: not JSON: %s", req.Method, req.URL.Path, res.StatusCode, raw)
	}
	return r
}

// at returns the value at a dotted path of nested objects and lists.
func at(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// gqlNodes returns the nodes of a connection.
func gqlNodes(conn any) []map[string]any {
	var out []map[string]any
	edges, _ := at(conn, "edges").([]any)
	for _, e := range edges {
		out = append(out, at(e, "node").(map[string]any))
	}
	return out
}

// dialGraphQLWS opens a graphql-transport-ws connection to base's /graphql
// and sends connection_init with the bearer token; it is closed when the
// test ends.
func dialGraphQLWS(t *testing.T, ctx context.Context, base, token string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]string{"Authorization": "Bearer " + token}})
	if err := c.Write(ctx, websocket.MessageText, init); err != nil {
		t.Fatal(err)
	}
	return c
}
