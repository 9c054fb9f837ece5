package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
	"github.com/assetgate/assetgate/wire/wiretest"
)

// testPassword is the password of every user the tests make.
const testPassword = "correct horse battery"

// env is a service graph (built by wire.New, as the server builds it) on a
// database, two customers (A and B) each with a user, a published
// configuration, a group using it and a device in the group, and a GraphQL
// endpoint over real HTTP. Bearer tokens are resolved from a table of test
// tokens (the OAuth server's tokens are used by the end-to-end tests of
// package main).
type env struct {
	graph   *wire.App
	wcfg    wire.Config
	db      *storage.DB
	queries *counter
	stores  stores
	deps    graph.Deps
	a, b    tenant
	url     string
	cfg     graph.Config
	logs    *testsupport.SyncBuffer

	mu     sync.Mutex
	tokens map[string]*scopes.Principal
}

// stores are the SQL stores behind the services, for setting up state.
type stores struct {
	customers *storage.CustomerStore
	users     *storage.UserStore
	devices   *storage.DeviceStore
	groups    *storage.DeviceGroupStore
	configs   *storage.ConfigurationStore
	tokens    resource.TokenStore
	events    *storage.EventStore
}

// tenant is one customer's fixtures.
type tenant struct {
	customer *resource.Customer
	user     *resource.User
	config   *resource.Configuration // published, assigned to group
	group    *resource.DeviceGroup
	device   *resource.Device // in group
	geogroup *resource.Geogroup
}

// options change how newEnv builds the endpoint.
type options struct {
	cfg  func(*graph.Config)
	deps func(*graph.Deps)
	// redis, when set, is the graph's Redis (tokens, the event fan-out,
	// persisted queries), under a key prefix of the test's own.
	redis redis.UniversalClient
}

// eachEnv runs fn on a fresh env on SQLite and on PostgreSQL.
func eachEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range storagetest.Dialects() {
		t.Run(d, func(t *testing.T) { fn(t, newEnv(t, d, options{})) })
	}
}

// newEnv builds an env on a fresh database of the dialect.
func newEnv(t *testing.T, dialect string, o options) *env {
	t.Helper()
	db, n := mustOpenCountingDB(t, dialect)
	e := &env{db: db, queries: n, tokens: map[string]*scopes.Principal{}, logs: &testsupport.SyncBuffer{}}
	cfg := graph.DefaultConfig()
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	e.cfg = cfg
	e.wcfg = wiretest.Config()
	e.wcfg.GraphQL = cfg
	e.wcfg.Logger = slog.New(slog.NewJSONHandler(e.logs, nil))
	if o.redis != nil {
		e.wcfg.RedisPrefix = storagetest.MustRedisPrefix(t, o.redis)
	}
	e.graph = e.newApp(t, o.redis)
	s := e.graph.Stores
	e.stores = stores{customers: s.Customers, users: s.Users, devices: s.Devices, groups: s.Groups,
		configs: s.Configurations, tokens: s.Tokens, events: s.Events}
	e.deps = e.graph.GraphQLDeps()
	e.a, e.b = e.newTenant(t), e.newTenant(t)
	if o.deps != nil {
		o.deps(&e.deps)
	}
	e.url = e.replica(t)
	return e
}

// newApp builds a service graph on the env's database (and rc, when not
// nil) with its configuration and token table: the env's own, or another
// replica's.
func (e *env) newApp(t *testing.T, rc redis.UniversalClient) *wire.App {
	t.Helper()
	opts := []wire.Option{wire.WithDB(e.db), wire.WithResolver(func(scopes.Resolver) scopes.Resolver { return e.resolve })}
	if rc != nil {
		opts = append(opts, wire.WithRedis(rc))
	}
	return wiretest.MustNew(t, e.wcfg, opts...)
}

// replica starts another endpoint on the same services and configuration
// (as another replica of the service would be) and returns its URL.
func (e *env) replica(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(graph.New(e.deps, e.cfg))
	t.Cleanup(srv.Close)
	return srv.URL + "/graphql"
}

func (e *env) newTenant(t *testing.T) tenant {
	t.Helper()
	tn := wiretest.MustTenant(t, e.graph, "Tenant", "user", testPassword)
	return tenant{customer: tn.Customer, user: tn.User, config: tn.Config, group: tn.Group, device: tn.Device, geogroup: tn.Geogroup}
}

// resolve is the bearer token resolver of the endpoint.
func (e *env) resolve(_ context.Context, token string) (*scopes.Principal, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.tokens[token]; ok {
		return p, nil
	}
	return nil, scopes.ErrInvalidToken
}

// token registers p and returns a bearer token for it.
func (e *env) token(p *scopes.Principal) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	tok := "test_" + resource.NewID()
	e.tokens[tok] = p
	return tok
}

// Tokens of a tenant's principals.

func (e *env) me(tn tenant) string {
	return e.token(&scopes.Principal{Kind: scopes.KindUser, CustomerID: tn.customer.ID, UserID: tn.user.ID,
		ClientID: resource.NewID(), FamilyID: resource.NewFamilyID(), Scopes: []string{scopes.Me}})
}

func (e *env) app(tn tenant, scope ...string) string {
	return e.token(&scopes.Principal{Kind: scopes.KindApplication, CustomerID: tn.customer.ID, ClientID: resource.NewID(),
		FamilyID: resource.NewFamilyID(), Scopes: scope})
}

func (e *env) deviceToken(tn tenant, permissions ...string) string {
	return e.token(&scopes.Principal{Kind: scopes.KindDevice, CustomerID: tn.customer.ID, DeviceID: tn.device.ID,
		FamilyID: resource.NewFamilyID(), Permissions: permissions})
}

// gqlError is one error of a GraphQL response.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// gqlResponse is a GraphQL response.
type gqlResponse struct {
	status int
	header http.Header
	Data   map[string]any `json:"data"`
	Errors []gqlError     `json:"errors"`
}

// code returns the extensions.code of the first error, or "".
func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// ok fails the test unless the response has no errors; it returns data.
func (r gqlResponse) ok(tb testing.TB) map[string]any {
	tb.Helper()
	if r.status != http.StatusOK || len(r.Errors) > 0 {
		tb.Fatalf("status %d, errors %+v", r.status, r.Errors)
	}
	return r.Data
}

// fails fails the test unless the first error has the code; it returns
// that error.
func (r gqlResponse) fails(tb testing.TB, code string) gqlError {
	tb.Helper()
	if r.code() != code {
		tb.Fatalf("status %d, errors %+v, want code %s", r.status, r.Errors, code)
	}
	return r.Errors[0]
}

// do sends a GraphQL request body (a JSON object) with a bearer token
// ("" for none) and decodes the response.
func (e *env) do(tb testing.TB, token string, body any) gqlResponse {
	tb.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(tb, req)
}

// query sends a query with variables (nil for none).
func (e *env) query(tb testing.TB, token, query string, vars map[string]any) gqlResponse {
	tb.Helper()
	body := map[string]any{"query": query}
	if vars != nil {
		body["variables"] = vars
	}
	return e.do(tb, token, body)
}

func send(tb testing.TB, req *http.Request) gqlResponse {
	tb.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := gqlResponse{status: res.StatusCode, header: res.Header}
	if err := json.Unmarshal(raw, &r); err != nil {
		tb.Fatalf("%s %s = %d: body is not JSON: %s", req.Method, req.URL.Path, res.StatusCode, raw)
	}
	return r
}

// get returns the value at a dotted path of nested objects ("a.b.c"),
// with list indexes as numbers ("edges.0.node").
func get(v any, path string) any {
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

// nodeIDs returns the ids of the nodes of a connection.
func nodeIDs(conn any) []string {
	ids := []string{}
	edges, _ := get(conn, "edges").([]any)
	for _, e := range edges {
		ids = append(ids, get(e, "node.id").(string))
	}
	return ids
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
