package e2e

import (
	"github.com/assetgate/assetgate/internal/testsupport"

	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assetgate/assetgate/jsonapi"
)

// These tests take a store away for real while requests keep coming:
// Redis killed (its port refuses connections) and started again empty, and
// PostgreSQL cut off by a proxy that drops every connection and refuses new
// ones, then restored. They check what the operator was promised: a fast
// 503 with Retry-After in each protocol's format while the store is gone
// (never a 200 for a token that could not be checked, never a 500), /readyz
// 503 and /healthz 200, success again within 2 s of the store's return
// without restarting assetgate, and no acknowledged write lost.

// recoveryBudget is how soon after a store is back requests must succeed.
const recoveryBudget = 2 * time.Second

// outageClient gives up long before any stall could end.
var outageClient = &http.Client{Timeout: 8 * time.Second}

// cutProxy forwards TCP connections to a target until cut: then it closes
// every connection it holds and refuses new ones (accepts and closes them
// at once, as a host whose service is gone) until restore.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.drop() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			cut := p.cut
			p.mu.Unlock()
			if cut {
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close(); u.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// drop closes every forwarded connection.
func (p *cutProxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// cutOff drops every connection and refuses new ones until restore.
func (p *cutProxy) cutOff() {
	p.mu.Lock()
	p.cut = true
	p.mu.Unlock()
	p.drop()
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// probe is one kind of request the load sends.
type probe struct {
	name string
	send func() (*http.Response, error)
	// down says the probe cannot succeed while the store is gone: it must
	// see 503s (others may also succeed by another way, such as a device
	// token checked in the database while Redis is down).
	down bool
}

// loadStats counts the answers of each probe by status, and how long the
// slowest one took.
type loadStats struct {
	mu      sync.Mutex
	by      map[string]map[int]int
	slowest time.Duration
	bad     []string
}

func (s *loadStats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.by {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %v; ", n, s.by[n])
	}
	fmt.Fprintf(&b, "slowest %s", s.slowest)
	return b.String()
}

// runLoad sends the probes round robin from workers goroutines until stop
// is closed, checking each answer: 200/201, or 503 with Retry-After in the
// probe's format within the budget; anything else (a 500, a 401 for a
// valid token, a hang) is recorded as bad.
func runLoad(t *testing.T, workers int, probes []probe, budget time.Duration) (st *loadStats, halt func()) {
	t.Helper()
	st = &loadStats{by: map[string]map[int]int{}}
	stop := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	halt = func() { once.Do(func() { close(stop) }); wg.Wait() }
	var n atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := probes[i%len(probes)]
				start := time.Now()
				res, err := p.send()
				took := time.Since(start)
				n.Add(1)
				st.mu.Lock()
				st.slowest = max(st.slowest, took)
				if err != nil {
					st.bad = append(st.bad, fmt.Sprintf("%s: no answer after %s: %v", p.name, took, err))
					st.mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if st.by[p.name] == nil {
					st.by[p.name] = map[int]int{}
				}
				st.by[p.name][res.StatusCode]++
				switch {
				case res.StatusCode == http.StatusOK || res.StatusCode == http.StatusCreated:
				case res.StatusCode == http.StatusServiceUnavailable:
					if res.Header.Get("Retry-After") == "" {
						st.bad = append(st.bad, p.name+": 503 without Retry-After")
					}
					if took > budget {
						st.bad = append(st.bad, fmt.Sprintf("%s: 503 after %s", p.name, took))
					}
					if msg := formatProblem(p, body); msg != "" {
						st.bad = append(st.bad, p.name+": "+msg)
					}
				default:
					st.bad = append(st.bad, fmt.Sprintf("%s: status %d: %.200s", p.name, res.StatusCode, body))
				}
				st.mu.Unlock()
				time.Sleep(5 * time.Millisecond) // bounded load
			}
		}()
	}
	t.Cleanup(halt)
	return st, halt
}

// formatProblem says what is wrong with a 503 body of the probe's
// protocol, "" when nothing is; the body must never name internals.
func formatProblem(p probe, body []byte) string {
	s := string(body)
	for _, leak := range []string{"dial tcp", "connection refused", "ECONNREFUSED", "redis:", "pgx", "127.0.0.1:"} {
		if strings.Contains(s, leak) {
			return "internal detail in the body: " + s
		}
	}
	switch {
	case strings.HasPrefix(p.name, "jsonapi"):
		if !strings.Contains(s, `"status":"503"`) || !strings.Contains(s, `"code":"Unavailable"`) {
			return "not a JSON:API Unavailable error: " + s
		}
	case strings.HasPrefix(p.name, "graphql"):
		if !strings.Contains(s, `"UNAVAILABLE"`) {
			return "not a GraphQL UNAVAILABLE error: " + s
		}
	case strings.HasPrefix(p.name, "oauth"):
		if !strings.Contains(s, `"temporarily_unavailable"`) {
			return "not an OAuth temporarily_unavailable error: " + s
		}
	}
	return ""
}

func getWithToken(base, path, token string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Accept", jsonapi.MediaType)
		req.Header.Set("Authorization", "Bearer "+token)
		return outageClient.Do(req)
	}
}

func gqlWithToken(base, token, query string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(`{"query":`+fmt.Sprintf("%q", query)+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		return outageClient.Do(req)
	}
}

func clientCredentials(base string, app map[string]any) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token",
			strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"app"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app["client_id"].(string), app["client_secret"].(string))
		return outageClient.Do(req)
	}
}

// status sends one request and returns its status (0 on a transport
// error).
func status(send func() (*http.Response, error)) int {
	res, err := send()
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// waitStatus polls send until it answers want, failing after budget.
func waitStatus(t *testing.T, what string, want int, budget time.Duration, send func() (*http.Response, error)) time.Duration {
	t.Helper()
	start := time.Now()
	got := 0
	for time.Since(start) < budget {
		if got = status(send); got == want {
			return time.Since(start)
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s: still %d after %s, want %d", what, got, budget, want)
	return 0
}

// TestRedisDownUnderLoad kills Redis while a bounded load of JSON:API,
// GraphQL, OAuth and event requests runs, then starts it again (empty).
func TestRedisDownUnderLoad(t *testing.T) {
	rd := startPrivateRedis(t)
	env := testsupport.PostgresEnv(t).With("ASSETGATE_REDIS_URL", rd.url(), "ASSETGATE_REDIS_TIMEOUT", "1s")
	ts := startServer(t, env)
	c := newAPIClientOf(t, ts.URL)
	tn := newAPITenant(t, env, c, "RedisDown")
	_, writer := issueDeviceToken(t, c, tn, "events:write", "events:read")
	backend := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "OutageBackend", "--grant", "client_credentials", "--scope", "app")

	// The device token's truth is in the database: it works again once
	// Redis is back, without a new token.
	acked := &ackedEvents{}
	probes := []probe{
		{name: "jsonapi GET events", send: getWithToken(ts.URL, "/api/v1/devices/"+tn.deviceID+"/events?page[size]=1", writer)},
		{name: "jsonapi POST event", send: acked.poster(ts.URL, tn.deviceID, writer)},
		{name: "graphql events", send: gqlWithToken(ts.URL, writer, `{ events(first: 1) { edges { node { id } } } }`)},
		// Whether the load's token requests fall into the outage depends
		// on timing; the one sent right after the kill below does.
		{name: "oauth client_credentials", send: clientCredentials(ts.URL, backend)},
	}
	st, halt := runLoad(t, 8, probes, 3*time.Second)
	time.Sleep(300 * time.Millisecond)

	rd.kill()
	down := time.Now()
	// An access token can only be checked in Redis: while it is gone the
	// answer is 503, never 200.
	if got := status(getWithToken(ts.URL, "/api/v1/devices", tn.app)); got != http.StatusServiceUnavailable {
		t.Errorf("an access token with Redis down: %d, want 503", got)
	}
	if got := status(getWithToken(ts.URL, "/api/v1/devices", "agat_made-up")); got == http.StatusOK {
		t.Errorf("a made-up token with Redis down: %d", got)
	}
	// Nor can a new access token be kept: no 200 for one that would not work.
	if got := status(clientCredentials(ts.URL, backend)); got != http.StatusServiceUnavailable {
		t.Errorf("client credentials with Redis down: %d, want 503", got)
	}
	waitStatus(t, "/readyz with Redis down", http.StatusServiceUnavailable, 3*time.Second, func() (*http.Response, error) { return outageClient.Get(ts.URL + "/readyz") })
	if got := status(func() (*http.Response, error) { return outageClient.Get(ts.URL + "/healthz") }); got != http.StatusOK {
		t.Errorf("/healthz with Redis down: %d, want 200", got)
	}
	time.Sleep(time.Until(down.Add(1500 * time.Millisecond)))

	rd.start(t)
	back := time.Now()
	took := waitStatus(t, "device token after Redis is back", http.StatusOK, recoveryBudget, getWithToken(ts.URL, "/api/v1/devices/"+tn.deviceID+"/events?page[size]=1", writer))
	waitStatus(t, "client credentials after Redis is back", http.StatusOK, recoveryBudget-time.Since(back)+took, clientCredentials(ts.URL, backend))
	waitStatus(t, "/readyz after Redis is back", http.StatusOK, recoveryBudget, func() (*http.Response, error) { return outageClient.Get(ts.URL + "/readyz") })
	time.Sleep(300 * time.Millisecond)
	halt()
	t.Logf("Redis down %.1fs; back in %s; answers: %s", back.Sub(down).Seconds(), took, st)
	checkLoad(t, st, probes)
	logServerErrors(t, ts)
	acked.verify(t, c, tn, writer)
}

// TestPostgresCutUnderLoad cuts PostgreSQL off behind a proxy (every
// connection dropped, new ones refused) under load, tokens in the
// database, then restores it.
func TestPostgresCutUnderLoad(t *testing.T) {
	cli := testsupport.PostgresEnv(t)
	u, err := url.Parse(cli.Get("ASSETGATE_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startCutProxy(t, u.Host)
	u.Host = proxy.addr()
	// A client retrying a rotation whose answer it lost (the connection
	// dropped after the commit) is within the refresh grace.
	env := cli.With("ASSETGATE_DATABASE_URL", u.String(), "ASSETGATE_DATABASE_TIMEOUT", "1s", "ASSETGATE_REFRESH_GRACE", "30s")
	ts := startServer(t, env)
	c := newAPIClientOf(t, ts.URL)
	tn := newAPITenant(t, cli, c, "PostgresCut")
	_, writer := issueDeviceToken(t, c, tn, "events:write", "events:read")
	mobile := mustCLI(t, cli, "", "app", "create", "--owner", tn.userID, "--name", "OutageMobile", "--grant", "password", "--grant", "refresh_token", "--scope", "me")

	acked := &ackedEvents{}
	refresh := &refreshChain{base: ts.URL, app: mobile}
	refresh.start(t, tn)
	probes := []probe{
		{name: "jsonapi GET events", send: getWithToken(ts.URL, "/api/v1/devices/"+tn.deviceID+"/events?page[size]=1", writer), down: true},
		{name: "jsonapi POST event", send: acked.poster(ts.URL, tn.deviceID, writer), down: true},
		{name: "graphql me", send: gqlWithToken(ts.URL, tn.me, `{ me { id } }`), down: true},
		{name: "oauth refresh", send: refresh.send, down: true},
	}
	st, halt := runLoad(t, 8, probes, 3*time.Second)
	time.Sleep(300 * time.Millisecond)

	proxy.cutOff()
	down := time.Now()
	waitStatus(t, "/readyz with PostgreSQL cut off", http.StatusServiceUnavailable, 3*time.Second, func() (*http.Response, error) { return outageClient.Get(ts.URL + "/readyz") })
	if got := status(func() (*http.Response, error) { return outageClient.Get(ts.URL + "/healthz") }); got != http.StatusOK {
		t.Errorf("/healthz with PostgreSQL cut off: %d, want 200", got)
	}
	time.Sleep(time.Until(down.Add(1500 * time.Millisecond)))

	proxy.restore()
	back := time.Now()
	took := waitStatus(t, "JSON:API after PostgreSQL is back", http.StatusOK, recoveryBudget, getWithToken(ts.URL, "/api/v1/devices/"+tn.deviceID+"/events?page[size]=1", writer))
	waitStatus(t, "/readyz after PostgreSQL is back", http.StatusOK, recoveryBudget, func() (*http.Response, error) { return outageClient.Get(ts.URL + "/readyz") })
	time.Sleep(300 * time.Millisecond)
	halt()
	t.Logf("PostgreSQL cut %.1fs; back in %s; answers: %s", back.Sub(down).Seconds(), took, st)
	checkLoad(t, st, probes)
	logServerErrors(t, ts)
	acked.verify(t, c, tn, writer)
	refresh.verify(t)
}

// checkLoad fails the test for every bad answer, and unless every probe
// saw both a success and a 503 (the outage was felt and survived).
func checkLoad(t *testing.T, st *loadStats, probes []probe) {
	t.Helper()
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, b := range st.bad {
		if i == 10 {
			t.Errorf("… and %d more", len(st.bad)-10)
			break
		}
		t.Error(b)
	}
	for _, p := range probes {
		by := st.by[p.name]
		if by[http.StatusOK]+by[http.StatusCreated] == 0 || (p.down && by[http.StatusServiceUnavailable] == 0) {
			t.Errorf("%s: answers %v, want successes (and 503s while the store is gone: %v)", p.name, by, p.down)
		}
	}
}

// ackedEvents posts events and remembers the ids of those acknowledged
// (201).
type ackedEvents struct {
	mu  sync.Mutex
	ids []string
	n   atomic.Int64
}

func (a *ackedEvents) poster(base, deviceID, token string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		body := fmt.Sprintf(`{"data":{"type":"events","attributes":{"event_type":"temperature","payload":{"celsius":%d}}}}`, a.n.Add(1)%100)
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/devices/"+deviceID+"/events", strings.NewReader(body))
		req.Header.Set("Content-Type", jsonapi.MediaType)
		req.Header.Set("Accept", jsonapi.MediaType)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := outageClient.Do(req)
		if err != nil || res.StatusCode != http.StatusCreated {
			return res, err
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if i := strings.Index(string(raw), `"id":"`); i >= 0 {
			id := string(raw[i+6:])
			id = id[:strings.IndexByte(id, '"')]
			a.mu.Lock()
			a.ids = append(a.ids, id)
			a.mu.Unlock()
		}
		res.Body = io.NopCloser(strings.NewReader(string(raw)))
		return res, nil
	}
}

// verify reads every acknowledged event back.
func (a *ackedEvents) verify(t *testing.T, c *apiClient, tn *apiTenant, token string) {
	t.Helper()
	a.mu.Lock()
	ids := append([]string(nil), a.ids...)
	a.mu.Unlock()
	if len(ids) == 0 {
		t.Fatal("no event was acknowledged")
	}
	for _, id := range ids {
		c.call(t, "GET", "/api/v1/events/"+id, token, nil).want(t, 200)
	}
	t.Logf("%d acknowledged events all read back", len(ids))
}

// refreshChain rotates one refresh token again and again; every rotation
// acknowledged (200) must have been stored: the last refresh token works
// after the outage. A rotation answered 5xx is ambiguous (the connection
// may have dropped after the commit): when the next try with the same
// token is invalid_grant, the unacknowledged rotation was stored, and the
// chain starts again with a password grant, as a client would.
type refreshChain struct {
	base      string
	app       map[string]any
	tn        *apiTenant
	mu        sync.Mutex
	current   string
	rotated   int
	ambiguous bool
	restarts  int
}

func (r *refreshChain) start(t *testing.T, tn *apiTenant) {
	t.Helper()
	r.tn = tn
	tok := postForm(t, r.base+"/oauth/token", clientBasic(r.app),
		url.Values{"grant_type": {"password"}, "username": {tn.email}, "password": {tenantPassword}, "scope": {"me"}}, http.StatusOK)
	r.current = tok["refresh_token"].(string)
}

// send rotates the current refresh token; one rotation at a time, so that
// the chain stays one line.
func (r *refreshChain) send() (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.current}}
	req, _ := http.NewRequest(http.MethodPost, r.base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(r.app["client_id"].(string), r.app["client_secret"].(string))
	res, err := outageClient.Do(req)
	if err == nil && res.StatusCode == http.StatusBadRequest && r.ambiguous {
		// The unacknowledged rotation was stored: start again.
		res.Body.Close()
		r.restarts++
		form = url.Values{"grant_type": {"password"}, "username": {r.tn.email}, "password": {tenantPassword}, "scope": {"me"}}
		req, _ = http.NewRequest(http.MethodPost, r.base+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(r.app["client_id"].(string), r.app["client_secret"].(string))
		res, err = outageClient.Do(req)
	}
	if err != nil || res.StatusCode != http.StatusOK {
		r.ambiguous = r.ambiguous || err != nil || res.StatusCode >= 500
		return res, err
	}
	r.ambiguous = false
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if i := strings.Index(string(raw), `"refresh_token":"`); i >= 0 {
		v := string(raw[i+17:])
		r.current = v[:strings.IndexByte(v, '"')]
		r.rotated++
	}
	res.Body = io.NopCloser(strings.NewReader(string(raw)))
	return res, nil
}

func (r *refreshChain) verify(t *testing.T) {
	t.Helper()
	res, err := r.send()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the last acknowledged refresh token after the outage: %d: %s", res.StatusCode, body)
	}
	t.Logf("%d acknowledged refresh rotations, the last one still good (%d restarts after an ambiguous 5xx)", r.rotated, r.restarts)
}

// logServerErrors shows the server's error lines when the test failed: the
// causes of unexpected answers.
func logServerErrors(t *testing.T, ts *testServer) {
	t.Helper()
	if !t.Failed() {
		return
	}
	for _, l := range strings.Split(ts.stderr.String(), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) {
			t.Log(l)
		}
	}
}
