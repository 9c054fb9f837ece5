package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// benchPolygon returns a star-shaped GeoJSON polygon of n vertices around
// (lat, lon), its radius r degrees of latitude, varied by up to 30%.
func benchPolygon(lat, lon, r float64, n int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 3))
	ps := make([]string, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		rr := r * (0.7 + 0.3*rng.Float64())
		ps = append(ps, fmt.Sprintf("[%.6f,%.6f]", lon+rr*math.Cos(a)/math.Cos(lat*math.Pi/180), lat+rr*math.Sin(a)))
	}
	ps = append(ps, ps[0])
	return `{"type":"Polygon","coordinates":[[` + strings.Join(ps, ",") + `]]}`
}

// BenchmarkJSONAPIGeogroupFilter measures filter[geogroup_inside] with a
// 200-vertex polygon over HTTP against a real server, for a customer with
// 100,000 devices spread over Germany (storagetest.SeedDevices): a
// region-sized polygon (about 1.6° by 2.5°, some 4% of the devices inside)
// and a large one (about 4° by 6.4°, some 25% inside), each a page of 25
// with its total. It reports p50 and p99 of each. Run with
//
//	go test . -run '^$' -bench BenchmarkJSONAPIGeogroupFilter -benchtime 300x
//
// (PostgreSQL needs ASSETGATE_TEST_DATABASE_URL).
func BenchmarkJSONAPIGeogroupFilter(b *testing.B) {
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
			cust, app := benchTenant(b, env, "Geo")
			benchSeed(b, env, map[string]int{cust: 100_000})
			benchVacuum(b, env)
			base := startServer(b, env).URL
			tok := benchToken(b, base, app)
			check := newAPIClient(b, base)
			ids := map[string]string{}
			for name, r := range map[string]float64{"region": 0.8, "large": 2} {
				ids[name] = benchCreateGeogroup(b, check, base, tok, name, benchPolygon(51, 10.5, r, 200, 9))
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			times := map[string][]time.Duration{}
			totals := map[string]int{}
			for b.Loop() {
				for _, name := range []string{"region", "large"} {
					took, total := benchGeoGet(b, client, base, tok, ids[name])
					times[name] = append(times[name], took)
					totals[name] = total
				}
			}
			for _, name := range []string{"region", "large"} {
				p50, p99 := benchPercentile(times[name], 50), benchPercentile(times[name], 99)
				b.ReportMetric(benchMicros(p50), "p50-"+name+"-µs")
				b.ReportMetric(benchMicros(p99), "p99-"+name+"-µs")
				b.Logf("%s over HTTP, %d requests, 200-vertex %s polygon (%d of 100,000 devices inside): p50 %v p99 %v",
					dialect, len(times[name]), name, totals[name], p50, p99)
			}
		})
	}
}

// benchVacuum vacuums the devices table on PostgreSQL, as autovacuum does
// after a bulk load, so that index-only scans need no heap fetches.
func benchVacuum(tb testing.TB, env testsupport.Env) {
	tb.Helper()
	ctx := context.Background()
	a := openGraph(tb, env)
	if a.DB.Dialect == storage.Postgres {
		if _, err := a.DB.ExecContext(ctx, "VACUUM devices"); err != nil {
			tb.Fatal(err)
		}
	}
}

// benchCreateGeogroup creates a geogroup and returns its id.
func benchCreateGeogroup(tb testing.TB, c *http.Client, base, token, name, geometry string) string {
	body, _ := json.Marshal(apiDoc("geogroups", "", map[string]any{"name": name, "geometry": json.RawMessage(geometry)}, nil))
	req, _ := http.NewRequest("POST", base+"/api/v1/geogroups", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/vnd.api+json")
	req.Header.Set("Accept", "application/vnd.api+json")
	res, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || res.StatusCode != http.StatusCreated {
		tb.Fatalf("create geogroup: %d %v", res.StatusCode, err)
	}
	return doc.Data.ID
}

// benchGeoGet lists the first page of the devices inside a geogroup and
// returns how long it took and the total; it fails unless the page is
// full.
func benchGeoGet(tb testing.TB, c *http.Client, base, token, id string) (time.Duration, int) {
	path := "/api/v1/devices?page[size]=25&filter[geogroup_inside]=" + id
	req, _ := http.NewRequest("GET", base+path, nil)
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
		tb.Fatalf("GET %s = %d: %v %s", path, res.StatusCode, err, body)
	}
	var doc struct {
		Data []any `json:"data"`
		Meta struct {
			Total int `json:"total"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Data) != 25 || doc.Meta.Total < 1000 {
		tb.Fatalf("unexpected page: %v %.300s", err, body)
	}
	return took, doc.Meta.Total
}
