package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/jsonapi"
)

// These tests stop a store in the middle of serving (a Redis process with
// SIGSTOP, PostgreSQL behind a proxy that stops forwarding bytes, SQLite
// behind a write lock held elsewhere) and check that requests needing it
// are answered 503 with Retry-After, in each protocol's format, within the
// configured store timeout instead of hanging as long as the stall lasts.

// stallTimeout is the store timeout the servers of these tests run with;
// stallBudget is how long a refused request may take in all.
const (
	stallTimeout = "1s"
	stallBudget  = 4 * time.Second
)

// stallClient gives up long before the stall ends, so that a request the
// server holds fails the test instead of hanging it.
var stallClient = &http.Client{Timeout: 8 * time.Second}

// stallCheck is one request sent while a store is stalled, and what its
// refusal must look like.
type stallCheck struct {
	name string
	// send sends the request.
	send func(t *testing.T) *http.Response
	// check checks the body of the 503 response.
	check func(t *testing.T, body []byte)
}

// timed sends each request and checks that it is refused with 503 and
// Retry-After, in its protocol's format, within stallBudget.
func timed(t *testing.T, checks ...stallCheck) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			res := c.send(t)
			took := time.Since(start)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status %d after %s, want 503: %s", res.StatusCode, took, body)
			}
			if took > stallBudget {
				t.Errorf("answered after %s, want within %s", took, stallBudget)
			}
			if res.Header.Get("Retry-After") == "" {
				t.Errorf("no Retry-After header: %v", res.Header)
			}
			c.check(t, body)
		})
	}
}

// sendReq sends a request with stallClient; a transport error (the server
// held the request past the client's timeout) fails the test.
func sendReq(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	start := time.Now()
	res, err := stallClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: no answer after %s: %v", req.Method, req.URL.Path, time.Since(start), err)
	}
	return res
}

func jsonAPIGet(base, path, token string) func(t *testing.T) *http.Response {
	return func(t *testing.T) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		req.Header.Set("Accept", jsonapi.MediaType)
		req.Header.Set("Authorization", "Bearer "+token)
		return sendReq(t, req)
	}
}

func jsonAPIPost(base, path, token string, doc any) func(t *testing.T) *http.Response {
	return func(t *testing.T) *http.Response {
		raw, _ := json.Marshal(doc)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, bytes.NewReader(raw))
		req.Header.Set("Accept", jsonapi.MediaType)
		req.Header.Set("Content-Type", jsonapi.MediaType)
		req.Header.Set("Authorization", "Bearer "+token)
		return sendReq(t, req)
	}
}

func graphQLPost(base, token, query string) func(t *testing.T) *http.Response {
	return func(t *testing.T) *http.Response {
		raw, _ := json.Marshal(map[string]any{"query": query})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/graphql", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		return sendReq(t, req)
	}
}

func passwordGrant(base string, tn *gqlTenant) func(t *testing.T) *http.Response {
	return func(t *testing.T) *http.Response {
		form := url.Values{"grant_type": {"password"}, "username": {tn.email}, "password": {tenantPassword}, "scope": {"me"}}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		id, secret, _ := strings.Cut(clientBasic(tn.mobile), ":")
		req.SetBasicAuth(id, secret)
		return sendReq(t, req)
	}
}

func page(base, path string) func(t *testing.T) *http.Response {
	return func(t *testing.T) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		req.Header.Set("Accept", "text/html")
		return sendReq(t, req)
	}
}

// pageUnavailable checks the HTML error page of a 503.
func pageUnavailable(t *testing.T, body []byte) {
	t.Helper()
	if !bytes.Contains(body, []byte("temporarily unavailable")) {
		t.Fatalf("want the page saying the service is temporarily unavailable: %s", body)
	}
}

func readyz(base string) func(t *testing.T) *http.Response {
	return func(t *testing.T) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/readyz", nil)
		return sendReq(t, req)
	}
}

// jsonAPIUnavailable checks a JSON:API error document of code Unavailable.
func jsonAPIUnavailable(t *testing.T, body []byte) {
	t.Helper()
	var doc struct {
		Errors []struct{ Status, Code, Detail string } `json:"errors"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Errors) != 1 ||
		doc.Errors[0].Status != "503" || doc.Errors[0].Code != "Unavailable" || doc.Errors[0].Detail == "" {
		t.Fatalf("want one JSON:API error with status 503 and code Unavailable: %s", body)
	}
}

// graphQLUnavailable checks a GraphQL response whose error has
// extensions.code UNAVAILABLE.
func graphQLUnavailable(t *testing.T, body []byte) {
	t.Helper()
	var r gqlResult
	if err := json.Unmarshal(body, &r); err != nil || r.code() != "UNAVAILABLE" {
		t.Fatalf("want a GraphQL error with extensions.code UNAVAILABLE: %s", body)
	}
	if msg, _ := r.Errors[0]["message"].(string); strings.Contains(msg, "timeout") || strings.Contains(msg, "127.0.0.1") {
		t.Fatalf("the message shows internal details: %s", body)
	}
}

// oauthUnavailable checks an RFC 6749 error temporarily_unavailable.
func oauthUnavailable(t *testing.T, body []byte) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error != "temporarily_unavailable" {
		t.Fatalf("want error temporarily_unavailable: %s", body)
	}
}

// readyzDown checks that /readyz names the stalled dependency.
func readyzDown(dep string) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		t.Helper()
		var r struct {
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Checks[dep] != "down" {
			t.Fatalf("readyz does not report %s down: %s", dep, body)
		}
	}
}

// wantOK fails the test unless the request succeeds: the server recovered.
func wantOK(t *testing.T, name string, send func(t *testing.T) *http.Response) {
	t.Helper()
	res := send(t)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s after the stall: %d: %s", name, res.StatusCode, body)
	}
}

func TestStalledRedisAnswers503(t *testing.T) {
	rd := startPrivateRedis(t)
	env := testsupport.SQLiteEnv(t).With("ASSETGATE_REDIS_URL", rd.url(), "ASSETGATE_REDIS_TIMEOUT", stallTimeout)
	ts := startServer(t, env)
	tn := newGQLTenant(t, env, ts.URL, "Stall")
	web := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "Web", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example/cb")
	authorize := "/oauth/authorize?" + url.Values{"client_id": {web["client_id"].(string)}, "response_type": {"code"},
		"redirect_uri": {"https://app.example/cb"}, "scope": {"me"}, "state": {"s"},
		"code_challenge": {"E9Melhoe2OwvFrEMTJguCQHS2ctIMkyC3iR2MFbZpQk"}, "code_challenge_method": {"S256"}}.Encode()

	rd.stop(t)
	// Every request needs the token store (Redis) first: the bearer
	// middleware of each transport, the password grant's throttle, the
	// pages' sessions.
	timed(t,
		stallCheck{"JSONAPI", jsonAPIGet(ts.URL, "/api/v1/devices", tn.me), jsonAPIUnavailable},
		stallCheck{"GraphQL", graphQLPost(ts.URL, tn.me, `{ me { id } }`), graphQLUnavailable},
		stallCheck{"OAuth", passwordGrant(ts.URL, tn), oauthUnavailable},
		stallCheck{"LoginPage", page(ts.URL, authorize), pageUnavailable},
		stallCheck{"DevicePage", page(ts.URL, "/device"), pageUnavailable},
		stallCheck{"Readyz", readyz(ts.URL), readyzDown("redis")},
	)
	rd.resume(t)
	wantOK(t, "GET /api/v1/devices", jsonAPIGet(ts.URL, "/api/v1/devices", tn.me))
	wantOK(t, "GET /oauth/authorize", page(ts.URL, authorize))
	wantOK(t, "GET /readyz", readyz(ts.URL))
}

// stalledPostgres returns the environment of a server whose PostgreSQL is
// reached through a proxy that the test can stall, and the environment of
// the CLI (which reaches it directly).
func stalledPostgres(t *testing.T) (server, cli testsupport.Env, proxy *tcpProxy) {
	t.Helper()
	cli = testsupport.PostgresEnv(t)
	u, err := url.Parse(cli.Get("ASSETGATE_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	proxy = startTCPProxy(t, u.Host)
	u.Host = proxy.addr()
	server = cli.With("ASSETGATE_DATABASE_URL", u.String(), "ASSETGATE_DATABASE_TIMEOUT", stallTimeout)
	return server, cli, proxy
}

func TestStalledPostgresAnswers503(t *testing.T) {
	t.Run("TokensInSQL", func(t *testing.T) {
		env, cli, proxy := stalledPostgres(t)
		ts := startServer(t, env)
		tn := newGQLTenant(t, cli, ts.URL, "Stall")

		proxy.stall()
		defer proxy.resume()
		// The bearer middleware's token look-up is the first SQL query.
		timed(t,
			stallCheck{"JSONAPI", jsonAPIGet(ts.URL, "/api/v1/devices", tn.me), jsonAPIUnavailable},
			stallCheck{"GraphQL", graphQLPost(ts.URL, tn.me, `{ me { id } }`), graphQLUnavailable},
			stallCheck{"OAuth", passwordGrant(ts.URL, tn), oauthUnavailable},
			stallCheck{"Readyz", readyz(ts.URL), readyzDown("database")},
		)
		proxy.resume()
		// The connections that timed out were discarded: the next
		// requests get their own answers, not the late ones.
		wantOK(t, "GET /api/v1/devices", jsonAPIGet(ts.URL, "/api/v1/devices", tn.me))
		wantOK(t, "POST /oauth/token", passwordGrant(ts.URL, tn))
		wantOK(t, "GET /readyz", readyz(ts.URL))
	})
	t.Run("TokensInRedis", func(t *testing.T) {
		rd := startPrivateRedis(t)
		env, cli, proxy := stalledPostgres(t)
		env, cli = env.With("ASSETGATE_REDIS_URL", rd.url()), cli.With("ASSETGATE_REDIS_URL", rd.url())
		ts := startServer(t, env)
		tn := newGQLTenant(t, cli, ts.URL, "Stall")

		proxy.stall()
		defer proxy.resume()
		// The token resolves (Redis); the services' queries time out.
		timed(t,
			stallCheck{"JSONAPI", jsonAPIGet(ts.URL, "/api/v1/devices", tn.me), jsonAPIUnavailable},
			stallCheck{"GraphQL", graphQLPost(ts.URL, tn.me, `{ devices(first: 5) { edges { node { id } } } }`), graphQLUnavailable},
		)
		proxy.resume()
		wantOK(t, "GET /api/v1/devices", jsonAPIGet(ts.URL, "/api/v1/devices", tn.me))
	})
}

// TestLockedSQLiteAnswers503 holds SQLite's write lock from another
// connection: writes wait for it up to the database timeout, not the
// ten-second busy timeout, and are answered 503.
func TestLockedSQLiteAnswers503(t *testing.T) {
	env := testsupport.SQLiteEnv(t).With("ASSETGATE_DATABASE_TIMEOUT", stallTimeout)
	ts := startServer(t, env)
	tn := newGQLTenant(t, env, ts.URL, "Stall")

	path := strings.TrimPrefix(env.Get("ASSETGATE_DATABASE_URL"), "sqlite:")
	locker, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	conn, err := locker.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")

	group := map[string]any{"data": map[string]any{"type": "device-groups", "attributes": map[string]any{"name": "Locked out"}}}
	timed(t,
		stallCheck{"JSONAPI", jsonAPIPost(ts.URL, "/api/v1/device-groups", tn.me, group), jsonAPIUnavailable},
		stallCheck{"GraphQL", graphQLPost(ts.URL, tn.me, `mutation { createDeviceGroup(input: {name: "Locked out"}) { deviceGroup { id } } }`), graphQLUnavailable},
		stallCheck{"OAuth", passwordGrant(ts.URL, tn), oauthUnavailable},
	)
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	wantOK(t, "POST /oauth/token", passwordGrant(ts.URL, tn))
}

// TestRedisLogLinesAreJSON checks that what go-redis logs by itself (here:
// failed dials to a Redis that went away) arrives as JSON records of the
// service's log, not as plain lines on the process's stderr.
func TestRedisLogLinesAreJSON(t *testing.T) {
	rd := startPrivateRedis(t)
	env := testsupport.SQLiteEnv(t).With("ASSETGATE_REDIS_URL", rd.url(), "ASSETGATE_REDIS_TIMEOUT", stallTimeout)
	ts := startServer(t, env)
	if err := rd.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = rd.cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Each readiness check needs a connection, and dials a closed
		// port.
		res := readyz(ts.URL)(t)
		res.Body.Close()
		if strings.Contains(ts.stderr.String(), `"msg":"go-redis"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no go-redis record in the service's log within 10s:\n%s", ts.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(ts.stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == "go-redis" {
			msg, _ := rec["message"].(string)
			if rec["level"] != "WARN" || !strings.Contains(msg, "dial") {
				t.Fatalf("go-redis record %v: want level WARN and the dial failure in message", rec)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("no go-redis record")
	}
}
