package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// tenant is what the harness seeds with the CLI.
type tenant struct {
	clientID, clientSecret string // confidential client_credentials application
	pwClientID, pwSecret   string // confidential password-grant application
	oidcClientID           string // public OpenID Connect application (code + PKCE)
	email, password        string
	deviceIDs              []string // the seeded devices, for the ingest rows
}

func seed(ctx context.Context, bin string, env []string, geogroups int) (*tenant, error) {
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
		// A build before OpenID Connect (the other side of -ab) knows
		// only scope me.
		pw, err = cliJSON(ctx, bin, env, "", "app", "create", "--owner", u["id"].(string), "--name", "bench-pw", "--grant", "password", "--grant", "refresh_token",
			"--scope", "me")
	}
	if err != nil {
		return nil, err
	}
	// Without OpenID Connect (an older build, with -ab) the code
	// exchange row is missing.
	if oc, err := cliJSON(ctx, bin, env, "", "app", "create", "--owner", u["id"].(string), "--name", "bench-oidc", "--grant", "authorization_code",
		"--auth-method", "none", "--redirect-uri", benchRedirectURI, "--scope", "openid", "--scope", "me"); err == nil {
		t.oidcClientID = oc["client_id"].(string)
	}
	t.clientID, t.clientSecret = cc["client_id"].(string), cc["client_secret"].(string)
	t.pwClientID, t.pwSecret = pw["client_id"].(string), pw["client_secret"].(string)
	if t.deviceIDs, err = seedDevices(ctx, env, cu["id"].(string), benchDevices); err != nil {
		return nil, err
	}
	if err := seedGeogroups(ctx, env, cu["id"].(string), geogroups); err != nil {
		return nil, err
	}
	return t, nil
}

// benchRedirectURI is the bench OpenID Connect client's redirect URI
// (nothing listens there: the harness reads the code off the redirect).
const benchRedirectURI = "http://127.0.0.1/cb"

// seedGeogroups gives the customer n geogroups straight in the database:
// first a 1° square around Berlin (which the location rows enter and
// leave), then 200-vertex rings of half a degree spread over the world,
// away from both positions of the location rows.
func seedGeogroups(ctx context.Context, env []string, customerID string, n int) error {
	if n == 0 {
		return nil
	}
	db, err := openEnvDB(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	db.Timeout = 0
	store := storage.NewGeogroupStore(db)
	now := time.Now().UTC()
	for i := range n {
		geojson := `{"type":"Polygon","coordinates":[[[13,52],[14,52],[14,53],[13,53],[13,52]]]}`
		if i > 0 {
			lon, lat := -170+float64(i*37%340), -60+float64(i*23%40)
			var ring []string
			for k := range 200 {
				a := 2 * math.Pi * float64(k) / 200
				ring = append(ring, fmt.Sprintf("[%.6f,%.6f]", lon+0.5*math.Cos(a), lat+0.5*math.Sin(a)))
			}
			ring = append(ring, ring[0])
			geojson = `{"type":"Polygon","coordinates":[[` + strings.Join(ring, ",") + `]]}`
		}
		g, err := resource.ParseGeometry("geometry", []byte(geojson))
		if err != nil {
			return fmt.Errorf("bench geogroup %d: %w", i, err)
		}
		if err := store.CreateGeogroup(ctx, &resource.Geogroup{ID: resource.NewID(), CustomerID: customerID,
			Name: fmt.Sprintf("Bench area %d", i), Geometry: g, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// openEnvDB opens the database the environment names.
func openEnvDB(ctx context.Context, env []string) (*storage.DB, error) {
	var dbURL string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "ASSETGATE_DATABASE_URL="); ok {
			dbURL = v
		}
	}
	return storage.Open(ctx, dbURL)
}

// benchDevices is how many devices the bench tenant has (the issue's
// device-list row asks for 10,000).
const benchDevices = 10_000

// seedDevices bulk-loads n devices for the customer straight into the
// database the environment names, before the server starts, and returns
// their ids (read now: the running server's pool may leave no connection
// to spare).
func seedDevices(ctx context.Context, env []string, customerID string, n int) ([]string, error) {
	var dbURL string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "ASSETGATE_DATABASE_URL="); ok {
			dbURL = v
		}
	}
	db, err := storage.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.Timeout = 0 // a loaded machine must not fail the seeding
	if err := storagetest.SeedDevices(ctx, db, customerID, n, 1); err != nil {
		return nil, err
	}
	var ids []string
	if err := db.SelectContext(ctx, &ids, db.Rebind(`SELECT id FROM devices WHERE customer_id = ? ORDER BY id`), customerID); err != nil {
		return nil, err
	}
	return ids, nil
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

// served is one assetgate process the harness seeded and started, with
// the credentials of its rows.
type served struct {
	p       *process
	creds   rowCreds
	userErr error
}

// serve seeds a tenant with bin's CLI on env, starts `bin serve` and gets
// the tokens of the rows. Stop it with served.p.stop.
func serve(ctx context.Context, o options, client *http.Client, bin string, env []string, logs io.Writer) (*served, error) {
	t, err := seed(ctx, bin, env, o.geogroups)
	if err != nil {
		return nil, err
	}
	debugAddr := ""
	if o.cpuProfile != "" {
		if debugAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		env = append(env[:len(env):len(env)], "ASSETGATE_DEBUG_ADDR="+debugAddr)
	}
	p, err := start(ctx, bin, []string{"serve"}, env, logs)
	if err != nil {
		return nil, err
	}
	p.debugAddr = debugAddr
	base := p.URL
	cc := t.clientID + ":" + t.clientSecret
	appToken, err := token(ctx, client, base, cc, form("grant_type", "client_credentials", "scope", "app basic"))
	if err != nil {
		p.stop()
		return nil, err
	}
	userToken, userErr := token(ctx, client, base, t.pwClientID+":"+t.pwSecret, form("grant_type", "password", "username", t.email, "password", t.password))
	// A failure shows as the userinfo row's probe failing (401).
	oidcToken, _ := token(ctx, client, base, t.pwClientID+":"+t.pwSecret,
		form("grant_type", "password", "username", t.email, "password", t.password, "scope", "openid email"))

	creds := rowCreds{base: base, basic: cc, app: appToken, user: userToken, openid: oidcToken, devices: t.deviceIDs}
	if t.oidcClientID == "" {
		creds.codesErr = errors.New("this build has no OpenID Connect client")
	} else {
		creds.codes, creds.codesErr = newCodeSource(ctx, base, t.oidcClientID, benchRedirectURI, t.email, t.password)
	}
	return &served{p: p, creds: creds, userErr: userErr}, nil
}

// benchConfig starts assetgate with env, seeds it and drives every row.
func benchConfig(ctx context.Context, o options, client *http.Client, bin, config string, env []string, logs io.Writer,
	ref func(name string) (stats, bool)) ([]row, error) {
	sv, err := serve(ctx, o, client, bin, env, logs)
	if err != nil {
		return nil, err
	}
	p, creds, userErr := sv.p, sv.creds, sv.userErr
	defer p.stop()
	base, appToken := creds.base, creds.app
	var rows []row
	for _, s := range rowSpecs {
		if o.rows != nil && !o.rows.MatchString(s.name) {
			continue
		}
		r := row{config: config, name: s.name, baseline: s.baseline}
		if s.user && userErr != nil {
			r.missing = "no user token: " + userErr.Error()
		}
		if s.prepare != nil && creds.codesErr != nil {
			r.missing = "no authorization code: " + creds.codesErr.Error()
		}
		var t target
		if s.prepare == nil {
			t = s.target(creds)
		}
		if r.missing == "" && s.prepare == nil {
			r.missing = probe(ctx, client, t)
		}
		if r.missing == "" {
			r.ref, r.paired = ref(s.baseline)
		}
		if r.missing == "" && s.prepare != nil {
			// After the paired baseline: the codes live only a minute.
			if t, err = s.prepare(ctx, client, creds, o); err != nil {
				r.missing = err.Error()
			} else {
				r.missing = probe(ctx, client, t)
			}
		}
		if r.missing == "" {
			fmt.Fprintf(os.Stderr, "bench: %s %s\n", config, s.name)
			stopProfile := profileRow(ctx, o, p, config, s.name)
			r.st = drive(ctx, client, t, o.conc, o.warmup, o.duration)
			stopProfile()
		}
		rows = append(rows, r)
	}
	if o.rows == nil || o.rows.MatchString(ingestRowsName) {
		rows = append(rows, ingestRows(ctx, o, client, base, config, appToken, creds.devices, ref)...)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	rows[len(rows)-1].peakRSS = p.peakRSS()
	return rows, nil
}

// rowCreds is what the rows' requests are made of.
type rowCreds struct {
	base, basic, app, user string
	openid                 string // a user token with the openid and email scopes
	// codes issues authorization codes of the OpenID Connect client
	// (codesErr: why it cannot).
	codes    *codeSource
	codesErr error
	devices  []string // the seeded devices, for the ingest rows
}

// rowSpec is one assetgate row of the table: its name, the baseline row it
// is rated against and its request.
type rowSpec struct {
	name, baseline string
	user           bool // needs the user token
	target         func(c rowCreds) target
	// prepare, when set instead of target, makes the row's target just
	// before the row runs (after its paired baseline).
	prepare func(ctx context.Context, client *http.Client, c rowCreds, o options) (target, error)
}

// rowSpecs are the assetgate rows, in the order of the table.
var rowSpecs = []rowSpec{
	{"POST /oauth/token client_credentials (basic)", "/redis-set", false, func(c rowCreds) target {
		return target{post(c.base+"/oauth/token", c.basic, form("grant_type", "client_credentials", "scope", "basic"), formType), http.StatusOK}
	}, nil},
	{"POST /oauth/introspect", "/redis", false, func(c rowCreds) target {
		return target{post(c.base+"/oauth/introspect", c.basic, form("token", c.app), formType), http.StatusOK}
	}, nil},
	{"GET /oauth/token/info", "/redis", false, func(c rowCreds) target {
		return target{get(c.base+"/oauth/token/info", c.app), http.StatusOK}
	}, nil},
	{"GraphQL { me { id email } }", "/pg-row", true, func(c rowCreds) target {
		return target{graphQL(c.base, c.user, `{ me { id email } }`), http.StatusOK}
	}, nil},
	{"GET /api/v1/devices?page[size]=25", "/pg-list", false, func(c rowCreds) target {
		return target{get(c.base+"/api/v1/devices?page%5Bsize%5D=25", c.app), http.StatusOK}
	}, nil},
	{"GET /api/v1/devices?page[size]=25&include=group", "/pg-list", false, func(c rowCreds) target {
		return target{get(c.base+"/api/v1/devices?page%5Bsize%5D=25&include=group", c.app), http.StatusOK}
	}, nil},
	{"GET /api/v1/devices?filter[fault]=false&sort=-last_event_at&page[size]=25", "/pg-list", false, func(c rowCreds) target {
		return target{get(c.base+"/api/v1/devices?filter%5Bfault%5D=false&sort=-last_event_at&page%5Bsize%5D=25", c.app), http.StatusOK}
	}, nil},
	{"GraphQL devices(first: 25) { totalCount edges { node { id name imei createdAt } } }", "/pg-list", false, func(c rowCreds) target {
		return target{graphQL(c.base, c.app, `{ devices(first: 25) { totalCount edges { node { id name imei createdAt } } } }`), http.StatusOK}
	}, nil},
	{"GET /oauth/userinfo (openid email)", "/pg-row", true, func(c rowCreds) target {
		return target{get(c.base+"/oauth/userinfo", c.openid), http.StatusOK}
	}, nil},
	{"POST /oauth/token authorization_code + PKCE (openid: ID token)", "/code-exchange", false, nil,
		func(ctx context.Context, client *http.Client, c rowCreds, o options) (target, error) {
			return codeExchangeTarget(ctx, client, c.codes, o)
		}},
	{"unauthenticated → 401", "/plain", false, func(c rowCreds) target {
		return target{get(c.base+"/oauth/token/info", ""), http.StatusUnauthorized}
	}, nil},
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
	if o.paired {
		b.WriteString("Each assetgate row is rated against its baseline row measured again just before it (the figure in the baseline column).\n\n")
	}
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
		rps, per := r.st.RPS(), max(r.perRequest, 1)
		ratio, baseline := "–", r.baseline
		br := baseRPS[r.baseline]
		if r.paired {
			br = r.ref.RPS()
			baseline = fmt.Sprintf("%s (%.0f just before)", r.baseline, br)
		}
		if br > 0 {
			ratio = fmt.Sprintf("%.0f %%", 100*rps*float64(per)/br)
		}
		figure := fmt.Sprintf("%.0f", rps)
		if per > 1 {
			figure = fmt.Sprintf("%.1f (%.0f events/s)", rps, rps*float64(per))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s | %s |\n", r.config, r.name, figure,
			ms(r.st.P50), ms(r.st.P99), r.st.Errors, baseline, ratio)
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
