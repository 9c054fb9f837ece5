package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// tenant is what the harness seeds with the CLI.
type tenant struct {
	clientID, clientSecret string // confidential client_credentials application
	pwClientID, pwSecret   string // confidential password-grant application
	email, password        string
}

func seed(ctx context.Context, bin string, env []string) (*tenant, error) {
	cu, err := cliJSON(ctx, bin, env, "", "customer", "create", "--name", "Bench")
	if err != nil {
		return nil, err
	}
	t := &tenant{email: "bench@example.com", password: "bench password 1234"}
	u, err := cliJSON(ctx, bin, env, t.password+"\n", "user", "create", "--customer", cu["id"].(string), "--email", t.email, "--password-stdin")
	if err != nil {
		return nil, err
	}
	cc, err := cliJSON(ctx, bin, env, "", "app", "create", "--owner", u["id"].(string), "--name", "bench-cc", "--grant", "client_credentials")
	if err != nil {
		return nil, err
	}
	pw, err := cliJSON(ctx, bin, env, "", "app", "create", "--owner", u["id"].(string), "--name", "bench-pw", "--grant", "password", "--grant", "refresh_token",
		"--scope", "me", "--scope", "openid", "--scope", "email")
	if err != nil {
		return nil, err
	}
	t.clientID, t.clientSecret = cc["client_id"].(string), cc["client_secret"].(string)
	t.pwClientID, t.pwSecret = pw["client_id"].(string), pw["client_secret"].(string)
	if err := seedDevices(ctx, env, cu["id"].(string), benchDevices); err != nil {
		return nil, err
	}
	return t, nil
}

// benchDevices is how many devices the bench tenant has (the issue's
// device-list row asks for 10,000).
const benchDevices = 10_000

// seedDevices bulk-loads n devices for the customer straight into the
// database the environment names, before the server starts.
func seedDevices(ctx context.Context, env []string, customerID string, n int) error {
	var dbURL string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "ASSETGATE_DATABASE_URL="); ok {
			dbURL = v
		}
	}
	db, err := storage.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	return storagetest.SeedDevices(ctx, db, customerID, n, 1)
}

// form encodes a token request body.
func form(kv ...string) []byte {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return []byte(v.Encode())
}

const formType = "application/x-www-form-urlencoded"

// token obtains one access token.
func token(ctx context.Context, client *http.Client, base, basic string, body []byte) (string, error) {
	code, b, err := once(ctx, client, post(base+"/oauth/token", basic, body, formType))
	if err != nil {
		return "", err
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if code != http.StatusOK || json.Unmarshal(b, &tr) != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %d: %.200s", code, b)
	}
	return tr.AccessToken, nil
}

// benchConfig starts assetgate with env, seeds it and drives every row.
func benchConfig(ctx context.Context, o options, client *http.Client, bin, config string, env []string, logs io.Writer) ([]row, error) {
	t, err := seed(ctx, bin, env)
	if err != nil {
		return nil, err
	}
	p, err := start(ctx, bin, []string{"serve"}, env, logs)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	base := p.URL
	cc := t.clientID + ":" + t.clientSecret
	appToken, err := token(ctx, client, base, cc, form("grant_type", "client_credentials", "scope", "app basic"))
	if err != nil {
		return nil, err
	}
	userToken, userErr := token(ctx, client, base, t.pwClientID+":"+t.pwSecret, form("grant_type", "password", "username", t.email, "password", t.password))
	oidcToken, oidcErr := token(ctx, client, base, t.pwClientID+":"+t.pwSecret,
		form("grant_type", "password", "username", t.email, "password", t.password, "scope", "openid email"))

	type spec struct {
		name, baseline string
		t              target
		missing        string
	}
	specs := []spec{
		{"POST /oauth/token client_credentials (basic)", "/redis-set",
			target{post(base+"/oauth/token", cc, form("grant_type", "client_credentials", "scope", "basic"), formType), http.StatusOK}, ""},
		{"POST /oauth/introspect", "/redis",
			target{post(base+"/oauth/introspect", cc, form("token", appToken), formType), http.StatusOK}, ""},
		{"GET /oauth/token/info", "/redis", target{get(base+"/oauth/token/info", appToken), http.StatusOK}, ""},
		{"GraphQL { me { id email } }", "/pg-row",
			target{graphQL(base, userToken, `{ me { id email } }`), http.StatusOK}, ""},
		{"GET /api/v1/devices?page[size]=25", "/pg-list",
			target{get(base+"/api/v1/devices?page%5Bsize%5D=25", appToken), http.StatusOK}, ""},
		{"GET /api/v1/devices?page[size]=25&include=group", "/pg-list",
			target{get(base+"/api/v1/devices?page%5Bsize%5D=25&include=group", appToken), http.StatusOK}, ""},
		{"GET /api/v1/devices?filter[fault]=false&sort=-last_event_at&page[size]=25", "/pg-list",
			target{get(base+"/api/v1/devices?filter%5Bfault%5D=false&sort=-last_event_at&page%5Bsize%5D=25", appToken), http.StatusOK}, ""},
		{"GraphQL devices(first: 25) { totalCount edges { node { id name imei createdAt } } }", "/pg-list",
			target{graphQL(base, appToken, `{ devices(first: 25) { totalCount edges { node { id name imei createdAt } } } }`), http.StatusOK}, ""},
		{"GET /oauth/userinfo (openid email)", "/pg-row", target{get(base+"/oauth/userinfo", oidcToken), http.StatusOK}, ""},
		{"unauthenticated → 401", "/plain", target{get(base+"/oauth/token/info", ""), http.StatusUnauthorized}, ""},
	}
	if userErr != nil {
		specs[3].missing = "no user token: " + userErr.Error()
	}
	if oidcErr != nil {
		specs[len(specs)-2].missing = "no openid token: " + oidcErr.Error()
	}
	var rows []row
	for _, s := range specs {
		r := row{config: config, name: s.name, baseline: s.baseline, missing: s.missing}
		if r.missing == "" {
			r.missing = probe(ctx, client, s.t)
		}
		if r.missing == "" {
			fmt.Fprintf(os.Stderr, "bench: %s %s\n", config, s.name)
			r.st = drive(ctx, client, s.t, o.conc, o.warmup, o.duration)
		}
		rows = append(rows, r)
	}
	rows[len(rows)-1].peakRSS = p.peakRSS()
	return rows, nil
}

// probe sends one request and says why the row cannot run (the route is not
// built yet, or answers wrongly), or "" when it answers as expected.
func probe(ctx context.Context, client *http.Client, t target) string {
	code, b, err := once(ctx, client, t.newRequest)
	switch {
	case err != nil:
		return err.Error()
	case code == http.StatusNotFound || code == http.StatusMethodNotAllowed:
		return "not built yet"
	case code != t.want:
		return fmt.Sprintf("answered %d, want %d: %.120s", code, t.want, b)
	case strings.Contains(string(b), `"active":false`):
		return "introspection says the token is inactive"
	case strings.Contains(string(b), `"errors":`):
		return fmt.Sprintf("answered with errors: %.120s", b)
	}
	return ""
}

// graphQL returns a request maker for a GraphQL POST with a bearer token.
func graphQL(base, bearer, query string) func(context.Context) (*http.Request, error) {
	body, _ := json.Marshal(map[string]string{"query": query})
	mk := post(base+"/graphql", "", body, "application/json")
	return func(ctx context.Context) (*http.Request, error) {
		req, err := mk(ctx)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return req, err
	}
}

// render formats the report as markdown.
func render(rows []row, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# assetgate benchmark\n\n%s, %d connections, %s per row after %s warm-up, loopback only.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), o.conc, o.duration, o.warmup)
	b.WriteString("| config | row | req/s | p50 | p99 | errors | baseline | ratio |\n|---|---|---:|---:|---:|---:|---|---:|\n")
	baseRPS := map[string]float64{}
	for _, r := range rows {
		if r.config == "baseline" {
			baseRPS[r.name] = r.st.RPS()
		}
	}
	for _, r := range rows {
		if r.missing != "" {
			fmt.Fprintf(&b, "| %s | %s | – | – | – | – | %s | n/a (%s) |\n", r.config, r.name, r.baseline, r.missing)
			continue
		}
		ratio := "–"
		if br := baseRPS[r.baseline]; br > 0 {
			ratio = fmt.Sprintf("%.0f %%", 100*r.st.RPS()/br)
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %d | %s | %s |\n", r.config, r.name, r.st.RPS(),
			ms(r.st.P50), ms(r.st.P99), r.st.Errors, r.baseline, ratio)
	}
	b.WriteString("\n")
	for _, r := range rows {
		if r.peakRSS > 0 {
			fmt.Fprintf(&b, "Peak RSS of assetgate (%s): %.1f MB\n\n", r.config, float64(r.peakRSS)/(1<<20))
		}
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
