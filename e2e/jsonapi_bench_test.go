package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// benchQuery is the device list whose speed the benchmark tracks: a
// filtered, sorted page with its groups included.
const benchQuery = "/api/v1/devices?filter[fault]=true&sort=-last_event_at&page[size]=25&include=group"

// BenchmarkJSONAPIDeviceList measures benchQuery over HTTP against the real
// server binary on a free port for a customer with 1,000 devices and one
// with 100,000 in the same database, alternating, and reports p50 and p99
// of each and the ratio 100k/1k. Run with
//
//	go test ./e2e -run '^$' -bench BenchmarkJSONAPIDeviceList -benchtime 2000x
//
// (PostgreSQL needs ASSETGATE_TEST_DATABASE_URL).
func BenchmarkJSONAPIDeviceList(b *testing.B) {
	for _, dialect := range storagetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			dir := b.TempDir()
			env := testsupport.Env{
				"ASSETGATE_ADDR": "127.0.0.1:0", "ASSETGATE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "assetgate.db"),
				"ASSETGATE_SECRET_KEY_FILE": filepath.Join(dir, "secret.key"), "ASSETGATE_LOG_LEVEL": "error",
			}
			if dialect == storage.Postgres {
				env["ASSETGATE_DATABASE_URL"] = storagetest.PostgresURL(b)
			}
			smallCust, smallApp := benchTenant(b, env, "Small")
			largeCust, largeApp := benchTenant(b, env, "Large")
			start := time.Now()
			benchSeed(b, env, map[string]int{smallCust: 1_000, largeCust: 100_000})
			b.Logf("%s: seeded 101,000 devices in %v", dialect, time.Since(start).Round(time.Millisecond))
			base := startServer(b, env).URL
			small, large := benchToken(b, base, smallApp), benchToken(b, base, largeApp)

			// One validated request per size, outside the timing.
			check := newAPIClient(b, base)
			for _, tok := range []string{small, large} {
				benchGet(b, check, base, tok)
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			var tSmall, tLarge []time.Duration
			for b.Loop() {
				tSmall = append(tSmall, benchGet(b, client, base, small))
				tLarge = append(tLarge, benchGet(b, client, base, large))
			}
			p50s, p99s := benchPercentile(tSmall, 50), benchPercentile(tSmall, 99)
			p50l, p99l := benchPercentile(tLarge, 50), benchPercentile(tLarge, 99)
			b.ReportMetric(benchMicros(p50s), "p50-1k-µs")
			b.ReportMetric(benchMicros(p99s), "p99-1k-µs")
			b.ReportMetric(benchMicros(p50l), "p50-100k-µs")
			b.ReportMetric(benchMicros(p99l), "p99-100k-µs")
			b.ReportMetric(float64(p50l)/float64(p50s), "ratio-p50")
			b.ReportMetric(float64(p99l)/float64(p99s), "ratio-p99")
			b.Logf("%s over HTTP, %d requests each: 1k p50 %v p99 %v; 100k p50 %v p99 %v; ratio p50 %.2f p99 %.2f",
				dialect, len(tSmall), p50s, p99s, p50l, p99l, float64(p50l)/float64(p50s), float64(p99l)/float64(p99s))
		})
	}
}

// benchGet sends benchQuery and returns how long it took; it fails unless
// the answer is a page of 25 faulty devices with their groups.
func benchGet(tb testing.TB, c *http.Client, base, token string) time.Duration {
	req, _ := http.NewRequest("GET", base+benchQuery, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.api+json")
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(start)
	if err != nil || res.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s = %d: %v %s", benchQuery, res.StatusCode, err, body)
	}
	var doc struct {
		Data []struct {
			Attributes struct {
				Fault bool `json:"fault"`
			} `json:"attributes"`
		} `json:"data"`
		Included []any `json:"included"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Data) != 25 || !doc.Data[0].Attributes.Fault || len(doc.Included) == 0 {
		tb.Fatalf("unexpected page: %v %.300s", err, body)
	}
	return took
}

// benchTenant makes a customer with a user and a client-credentials
// application (scope app); it returns the customer id and the app.
func benchTenant(tb testing.TB, env testsupport.Env, name string) (string, map[string]any) {
	cust := mustCLI(tb, env, "", "customer", "create", "--name", name)["id"].(string)
	user := mustCLI(tb, env, tenantPassword+"\n", "user", "create", "--customer", cust, "--email", strings.ToLower(name)+"@bench.example.com", "--password-stdin")["id"].(string)
	app := mustCLI(tb, env, "", "app", "create", "--owner", user, "--name", "Bench", "--grant", "client_credentials", "--scope", "app")
	return cust, app
}

// benchToken gets an `app` token with client credentials.
func benchToken(tb testing.TB, base string, app map[string]any) string {
	req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"app"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(app["client_id"].(string), app["client_secret"].(string))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		tb.Fatalf("token: %d %v", res.StatusCode, err)
	}
	return tok.AccessToken
}

// benchSeed gives each customer 20 groups and n devices (see
// storagetest.SeedDevices).
func benchSeed(tb testing.TB, env testsupport.Env, counts map[string]int) {
	tb.Helper()
	ctx := context.Background()
	// One seeding statement writes 100,000 rows.
	a := openGraph(tb, env.With("ASSETGATE_DATABASE_TIMEOUT", "5m"))
	seed := uint64(5)
	for cust, n := range counts {
		if err := storagetest.SeedDevices(ctx, a.DB, cust, n, seed); err != nil {
			tb.Fatal(err)
		}
		seed++
	}
}

func benchMicros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// benchPercentile returns the p-th percentile (nearest rank) of samples.
func benchPercentile(samples []time.Duration, p int) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return s[max((len(s)*p+99)/100-1, 0)]
}
