package oauth_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
	"github.com/assetgate/assetgate/wire/wiretest"
)

// Store set-ups the tests run on.
const (
	// onSQLite keeps data, tokens and ephemeral values in SQLite.
	onSQLite = "sqlite"
	// onPostgres keeps data, tokens and ephemeral values in PostgreSQL.
	onPostgres = "postgres"
	// onRedis is the server's set-up with Redis: data in PostgreSQL,
	// ephemeral values and access tokens in Redis, refresh tokens in
	// PostgreSQL with copies in Redis.
	onRedis = "redis"
)

// testPassword is the password of every test user.
const testPassword = "correct horse battery staple"

// env is a running authorization server over real stores, behind a real
// listening HTTP server.
type env struct {
	kind      string
	srv       *oauth.Server
	http      *httptest.Server
	db        *storage.DB
	tokens    resource.TokenStore
	ephemeral resource.EphemeralStore
	customers *resource.CustomerService
	users     *resource.UserService
	apps      *resource.ApplicationService
	key       []byte
	logs      *testsupport.SyncBuffer
	// callbacks receives the query of every request to /cb.
	callbacks chan url.Values
	// wcfg and wopts built the service graph: another replica on the same
	// stores is built from them (oidc_test.go).
	wcfg  wire.Config
	wopts []wire.Option
}

// eachStore runs fn as a subtest on a new env of each of kinds,
// configured by opts.
func eachStore(t *testing.T, kinds []string, fn func(t *testing.T, e *env), opts ...func(*oauth.Config)) {
	t.Helper()
	for _, k := range kinds {
		t.Run(k, func(t *testing.T) { fn(t, newEnv(t, k, opts...)) })
	}
}

// grantStores are the set-ups of the grant tests: SQL tokens on SQLite, and
// Redis tokens with PostgreSQL data.
var grantStores = []string{onSQLite, onRedis}

// allStores adds SQL tokens on PostgreSQL.
var allStores = []string{onSQLite, onPostgres, onRedis}

// newEnv starts an authorization server on the given stores, in the
// service graph wire.New builds (as the server builds it). opts change its
// configuration.
func newEnv(tb testing.TB, kind string, opts ...func(*oauth.Config)) *env {
	tb.Helper()
	e := &env{kind: kind, logs: &testsupport.SyncBuffer{}, callbacks: make(chan url.Values, 64)}
	e.key = make([]byte, 32)
	_, _ = rand.Read(e.key)
	switch kind {
	case onSQLite:
		e.db = storagetest.MustOpenDB(tb, storage.SQLite)
	case onPostgres, onRedis:
		e.db = storagetest.MustOpenDB(tb, storage.Postgres)
	}
	cfg := wiretest.Config()
	wopts := []wire.Option{wire.WithDB(e.db)}
	if kind == onRedis {
		rc := storagetest.MustOpenRedis(tb)
		cfg.RedisPrefix = storagetest.MustRedisPrefix(tb, rc)
		wopts = append(wopts, wire.WithRedis(rc))
	}

	mux := http.NewServeMux()
	e.http = httptest.NewServer(mux)
	tb.Cleanup(e.http.Close)
	cfg.OAuth = oauth.Config{Issuer: e.http.URL, Key: e.key}
	for _, o := range opts {
		o(&cfg.OAuth)
	}
	cfg.Issuer, cfg.Key = cfg.OAuth.Issuer, cfg.OAuth.Key
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := wiretest.MustNew(tb, cfg, wopts...)
	e.wcfg, e.wopts = cfg, wopts
	e.srv, e.tokens, e.ephemeral = a.OAuth, a.Stores.Tokens, a.Stores.Ephemeral
	e.customers, e.users, e.apps = a.Customers, a.Users, a.Applications
	for pattern, h := range e.srv.Patterns() {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("GET /whoami", e.handleWhoami)
	mux.HandleFunc("GET /cb", func(w http.ResponseWriter, r *http.Request) {
		select {
		case e.callbacks <- r.URL.Query():
		default:
		}
		_, _ = io.WriteString(w, "<!doctype html><title>callback</title><p id=done>done</p>")
	})
	return e
}

// handleWhoami is a tiny resource endpoint: it resolves the bearer token
// with LookupAccessToken and shows whose it is.
func (e *env) handleWhoami(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	t, err := e.srv.LookupAccessToken(r.Context(), tok)
	if !ok || err != nil {
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{
		"client_id": t.ClientID, "customer_id": t.CustomerID, "user_id": t.UserID, "scope": t.Scope,
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// url returns the absolute URL of path on the test server.
func (e *env) url(path string) string { return e.http.URL + path }

// callbackURL is the redirect URI the test applications register.
func (e *env) callbackURL() string { return e.url("/cb") }

// MustUser creates a customer and a user of it with testPassword.
func (e *env) MustUser(tb testing.TB, email string) *resource.User {
	tb.Helper()
	ctx := context.Background()
	c, err := e.customers.Create(ctx, "Customer of "+email)
	if err != nil {
		tb.Fatal(err)
	}
	u, err := e.users.Create(ctx, c.ID, email, testPassword)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// MustApp registers an application owned by owner and returns it with its
// client secret ("" for public clients).
func (e *env) MustApp(tb testing.TB, owner *resource.User, in resource.ApplicationInput) (*resource.Application, string) {
	tb.Helper()
	if in.Name == "" {
		in.Name = "Test app"
	}
	app, secret, err := e.apps.Create(context.Background(), owner.ID, in)
	if err != nil {
		tb.Fatalf("create application: %v", err)
	}
	return app, secret
}

// tokenResponse is a token endpoint response.
type tokenResponse struct {
	Status           int
	Header           http.Header
	AccessToken      string  `json:"access_token"`
	TokenType        string  `json:"token_type"`
	ExpiresIn        float64 `json:"expires_in"`
	RefreshToken     string  `json:"refresh_token"`
	Scope            string  `json:"scope"`
	CreatedAt        float64 `json:"created_at"`
	Error            string  `json:"error"`
	ErrorDescription string  `json:"error_description"`
	Raw              map[string]any
}

// postToken posts form to the token endpoint, authenticating with HTTP Basic
// when id is not "".
func (e *env) postToken(tb testing.TB, id, secret string, form url.Values) *tokenResponse {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url("/oauth/token"), strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return doToken(tb, req)
}

func doToken(tb testing.TB, req *http.Request) *tokenResponse {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	return readTokenResponse(tb, resp)
}

// readTokenResponse reads and closes a token endpoint response. It may run
// in another goroutine than the test's: it reports with Errorf.
func readTokenResponse(tb testing.TB, resp *http.Response) *tokenResponse {
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	tr := &tokenResponse{Status: resp.StatusCode, Header: resp.Header}
	if err := json.Unmarshal(body, tr); err != nil {
		tb.Errorf("token response %d is not JSON: %v: %s", resp.StatusCode, err, body)
	}
	_ = json.Unmarshal(body, &tr.Raw)
	return tr
}

// mustOK fails unless the response is a successful token response.
func (tr *tokenResponse) mustOK(tb testing.TB) *tokenResponse {
	tb.Helper()
	if tr.Status != http.StatusOK || tr.AccessToken == "" {
		tb.Fatalf("token request: status %d, error %q: %s", tr.Status, tr.Error, tr.ErrorDescription)
	}
	return tr
}

// mustError fails unless the response is the OAuth error code with status.
func (tr *tokenResponse) mustError(tb testing.TB, status int, code string) {
	tb.Helper()
	if tr.Status != status || tr.Error != code {
		tb.Fatalf("got status %d error %q (%s), want %d %q", tr.Status, tr.Error, tr.ErrorDescription, status, code)
	}
	if tr.AccessToken != "" {
		tb.Fatal("an error response carries an access token")
	}
	if got := tr.Header.Get("Cache-Control"); got != "no-store" {
		tb.Fatalf("Cache-Control = %q", got)
	}
}

// whoami resolves an access token through a real request; it returns nil
// when the token is refused.
func (e *env) whoami(tb testing.TB, token string) map[string]string {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url("/whoami"), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var m map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		tb.Fatal(err)
	}
	return m
}

// pageClient drives the login, consent and device pages (the helper the
// end-to-end tests share).
type pageClient struct{ *testsupport.PageClient }

func newPageClient(tb testing.TB) *pageClient {
	return &pageClient{testsupport.NewPageClient(tb)}
}

func (pc *pageClient) do(tb testing.TB, method, u string, form url.Values) (*http.Response, string) {
	tb.Helper()
	return pc.Do(tb, method, u, form)
}

// hiddenFields returns the hidden inputs of a page's form.
func hiddenFields(page string) url.Values { return testsupport.HiddenFields(page) }

// authorize drives an authorization request through the pages: the login
// page (when shown) with email and testPassword, then the consent page,
// approving or denying. It returns where the server finally redirects.
func (e *env) authorize(tb testing.TB, pc *pageClient, params url.Values, email string, approve bool) *url.URL {
	tb.Helper()
	authURL := e.url("/oauth/authorize?" + params.Encode())
	resp, page := pc.do(tb, http.MethodGet, authURL, nil)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET authorize: status %d: %s", resp.StatusCode, page)
	}
	if strings.Contains(page, `value="login"`) {
		form := hiddenFields(page)
		form.Set("email", email)
		form.Set("password", testPassword)
		form.Set("action", "login")
		resp, page = pc.do(tb, http.MethodPost, e.url("/oauth/authorize"), form)
		if resp.StatusCode != http.StatusSeeOther {
			tb.Fatalf("login: status %d: %s", resp.StatusCode, page)
		}
		resp, page = pc.do(tb, http.MethodGet, e.url(resp.Header.Get("Location")), nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="approve"`) {
			tb.Fatalf("after login: status %d, no consent page: %s", resp.StatusCode, page)
		}
	}
	form := hiddenFields(page)
	form.Set("action", map[bool]string{true: "approve", false: "deny"}[approve])
	resp, page = pc.do(tb, http.MethodPost, e.url("/oauth/authorize"), form)
	if resp.StatusCode != http.StatusFound {
		tb.Fatalf("consent: status %d: %s", resp.StatusCode, page)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}
