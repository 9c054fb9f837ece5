package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// benchRow is one kind of request of BenchmarkGraphQL.
type benchRow struct {
	name string
	req  func() *http.Request
	// check validates one answer body.
	check func(body []byte) error
	lat   []time.Duration
	wall  time.Duration
}

// BenchmarkGraphQL measures, in the same run and in turns, three requests
// over HTTP: a bare net/http handler that does one Redis GET (the floor of
// any authenticated request: the token lookup is one Redis round trip), and
// against the real server binary (tokens in Redis) an authenticated
// `{ me { id email } }` and `devices(first: 25)` with each device's group,
// for a customer with 1,000 devices. Each b.Loop iteration sends 8
// concurrent requests of each kind. It reports requests/s and p99 of each
// and the ratios to the baseline. Run with
//
//	ASSETGATE_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test ./e2e -run '^$' -bench BenchmarkGraphQL -benchtime 5s
//
// (on PostgreSQL too with ASSETGATE_TEST_DATABASE_URL).
func BenchmarkGraphQL(b *testing.B) {
	redisURL := storagetest.RequireEnv(b, storagetest.RedisURLEnv)
	for _, dialect := range storagetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			dir := b.TempDir()
			env := testsupport.Env{
				"ASSETGATE_ADDR": "127.0.0.1:0", "ASSETGATE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "assetgate.db"),
				"ASSETGATE_SECRET_KEY_FILE": filepath.Join(dir, "secret.key"), "ASSETGATE_LOG_LEVEL": "error",
				"ASSETGATE_REDIS_URL": redisURL,
			}
			if dialect == storage.Postgres {
				env["ASSETGATE_DATABASE_URL"] = storagetest.PostgresURL(b)
			}
			cust, app := benchTenant(b, env, "GraphBench")
			benchSeed(b, env, map[string]int{cust: 1_000})
			base := startServer(b, env).URL
			appToken := benchToken(b, base, app)
			meToken := benchUserToken(b, env, base, cust)

			rc := storagetest.MustOpenRedis(b)
			key := storagetest.MustRedisPrefix(b, rc) + "baseline"
			if err := rc.Set(b.Context(), key, `{"data":{"me":{"id":"`+cust+`"}}}`, time.Hour).Err(); err != nil {
				b.Fatal(err)
			}
			bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				v, err := rc.Get(r.Context(), key).Bytes()
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(v)
			}))
			b.Cleanup(bare.Close)

			const devicesQuery = `{ devices(first: 25) { totalCount edges { node { id name imei fault group { id name } } } } }`
			rows := []*benchRow{
				{name: "net/http + Redis GET", req: func() *http.Request {
					req, _ := http.NewRequest(http.MethodGet, bare.URL, nil)
					return req
				}, check: func(body []byte) error { return expect(bytes.Contains(body, []byte(cust)), body) }},
				{name: "GraphQL { me { id email } }", req: func() *http.Request {
					return benchGraphQL(base, meToken, `{ me { id email } }`)
				}, check: func(body []byte) error { return expect(bytes.Contains(body, []byte(`"email"`)), body) }},
				{name: "GraphQL devices(first: 25) { group }", req: func() *http.Request {
					return benchGraphQL(base, appToken, devicesQuery)
				}, check: func(body []byte) error {
					var r struct {
						Data struct {
							Devices struct {
								Edges []struct {
									Node struct {
										Group *struct{ ID string } `json:"group"`
									} `json:"node"`
								} `json:"edges"`
							} `json:"devices"`
						} `json:"data"`
						Errors []any `json:"errors"`
					}
					err := json.Unmarshal(body, &r)
					return expect(err == nil && len(r.Errors) == 0 && len(r.Data.Devices.Edges) == 25 && r.Data.Devices.Edges[0].Node.Group != nil, body)
				}},
			}
			const concurrency = 8
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * concurrency}, Timeout: 30 * time.Second}
			for _, row := range rows { // warm up and check, outside the timing
				for range concurrency {
					benchDo(b, client, row)
				}
				row.lat, row.wall = nil, 0
			}
			for b.Loop() {
				for _, row := range rows {
					start := time.Now()
					var wg sync.WaitGroup
					var mu sync.Mutex
					for range concurrency {
						wg.Go(func() {
							d := benchDo(b, client, row)
							mu.Lock()
							row.lat = append(row.lat, d)
							mu.Unlock()
						})
					}
					wg.Wait()
					row.wall += time.Since(start)
				}
			}
			var report strings.Builder
			fmt.Fprintf(&report, "%s, tokens in Redis, %d concurrent requests per kind, in turns:\n", dialect, concurrency)
			fmt.Fprintf(&report, "  %-40s %10s %10s %10s %8s %8s\n", "request", "req/s", "p50", "p99", "req/s÷", "p99×")
			baseRPS, baseP99 := rps(rows[0]), benchPercentile(rows[0].lat, 99)
			for i, row := range rows {
				p50, p99 := benchPercentile(row.lat, 50), benchPercentile(row.lat, 99)
				fmt.Fprintf(&report, "  %-40s %10.0f %10v %10v %8.2f %8.2f\n", row.name, rps(row), p50.Round(time.Microsecond),
					p99.Round(time.Microsecond), baseRPS/rps(row), float64(p99)/float64(baseP99))
				metric := []string{"baseline", "me", "devices"}[i]
				b.ReportMetric(rps(row), metric+"-req/s")
				b.ReportMetric(benchMicros(p99), metric+"-p99-µs")
				if i > 0 {
					b.ReportMetric(baseRPS/rps(row), metric+"-slowdown")
				}
			}
			b.Log("\n" + report.String())
		})
	}
}

// rps is a row's requests per second over the time its turns took.
func rps(r *benchRow) float64 { return float64(len(r.lat)) / r.wall.Seconds() }

// benchGraphQL is a GraphQL POST with a bearer token.
func benchGraphQL(base, token, query string) *http.Request {
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// benchDo sends one request of a row, checks the answer and returns how
// long it took.
func benchDo(b *testing.B, c *http.Client, row *benchRow) time.Duration {
	start := time.Now()
	res, err := c.Do(row.req())
	if err != nil {
		b.Error(err)
		return 0
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(start)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", res.StatusCode)
	}
	if err == nil {
		err = row.check(body)
	}
	if err != nil {
		b.Errorf("%s: %v", row.name, err)
	}
	return took
}

func expect(ok bool, body []byte) error {
	if ok {
		return nil
	}
	return fmt.Errorf("unexpected answer %.300s", body)
}

// benchUserToken makes a user of the customer and a password-grant
// application, and returns a `me` token of that user.
func benchUserToken(b *testing.B, env testsupport.Env, base, customerID string) string {
	email := "me-" + customerID + "@bench.example.com"
	user := mustCLI(b, env, tenantPassword+"\n", "user", "create", "--customer", customerID, "--email", email, "--password-stdin")["id"].(string)
	app := mustCLI(b, env, "", "app", "create", "--owner", user, "--name", "Mobile", "--grant", "password")
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(url.Values{
		"grant_type": {"password"}, "username": {email}, "password": {tenantPassword}, "scope": {"me"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(app["client_id"].(string), app["client_secret"].(string))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("password token: %d %v", res.StatusCode, err)
	}
	return tok.AccessToken
}
