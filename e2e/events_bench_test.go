package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// The event benchmarks run the `assetgate serve` binary and talk to it
// over HTTP. Run them with
//
//	go test ./e2e -run '^$' -bench 'BenchmarkEvent' -benchtime 3000x
//
// (the postgres+redis rows need ASSETGATE_TEST_DATABASE_URL and
// ASSETGATE_TEST_REDIS_URL, and skip without them).

// benchEventEnv returns the environment of a benchmark row: "sqlite" or
// "postgres+redis".
func benchEventEnv(b *testing.B, row string) testsupport.Env {
	dir := b.TempDir()
	env := testsupport.Env{
		"ASSETGATE_ADDR": "127.0.0.1:0", "ASSETGATE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "assetgate.db"),
		"ASSETGATE_SECRET_KEY_FILE": filepath.Join(dir, "secret.key"), "ASSETGATE_LOG_LEVEL": "error",
	}
	if row == "postgres+redis" {
		env["ASSETGATE_REDIS_URL"] = storagetest.RequireEnv(b, storagetest.RedisURLEnv)
		env["ASSETGATE_DATABASE_URL"] = storagetest.PostgresURL(b)
	}
	return env
}

// benchDevices makes a customer with n devices, each with a device token
// with the given permissions, issued through the service into the token
// store the server uses; it returns the device ids and the tokens.
func benchDevices(b *testing.B, env testsupport.Env, n int, permissions ...string) (devices, tokens []string) {
	b.Helper()
	ctx := context.Background()
	a := openGraphWith(b, env, true)
	cust, err := a.Customers.Create(ctx, "Bench events")
	if err != nil {
		b.Fatal(err)
	}
	user, err := a.Users.Create(ctx, cust.ID, "events-"+cust.ID+"@bench.example.com", tenantPassword)
	if err != nil {
		b.Fatal(err)
	}
	me := scopes.NewContext(ctx, &scopes.Principal{Kind: scopes.KindUser, CustomerID: cust.ID, UserID: user.ID,
		ClientID: "bench", Scopes: []string{scopes.Me}})
	for range n {
		d, err := a.Devices.Create(me, resource.DeviceInput{Name: "Bench", IMEI: storagetest.NewIMEI()})
		if err != nil {
			b.Fatal(err)
		}
		_, token, err := a.DeviceTokens.Create(me, d.ID, resource.DeviceTokenInput{Name: "bench", Permissions: permissions})
		if err != nil {
			b.Fatal(err)
		}
		devices, tokens = append(devices, d.ID), append(tokens, token)
	}
	return devices, tokens
}

// benchEventBody is a temperature event document.
var benchEventBody = []byte(`{"data":{"type":"events","attributes":{"event_type":"temperature","payload":{"celsius":21.5}}}}`)

// benchPost ingests one event with a device token and returns its id.
func benchPost(tb testing.TB, c *http.Client, base, deviceID, token string) string {
	req, _ := http.NewRequest("POST", base+"/api/v1/devices/"+deviceID+"/events", bytes.NewReader(benchEventBody))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/vnd.api+json")
	req.Header.Set("Accept", "application/vnd.api+json")
	res, err := c.Do(req)
	if err != nil {
		tb.Error(err)
		return ""
	}
	defer res.Body.Close()
	var doc struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || res.StatusCode != http.StatusCreated {
		tb.Errorf("POST event: %d %v", res.StatusCode, err)
	}
	return doc.Data.ID
}

// BenchmarkEventIngest measures ingest throughput over HTTP with device
// tokens: as many concurrent clients as devices (each device's ingests are
// ordered by its row lock), reporting events per second.
func BenchmarkEventIngest(b *testing.B) {
	for _, row := range []string{"sqlite", "postgres+redis"} {
		b.Run(row, func(b *testing.B) {
			env := benchEventEnv(b, row)
			const clients = 16
			devices, tokens := benchDevices(b, env, clients, scopes.EventsWrite)
			base := startServer(b, env).URL
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			var next atomic.Int64
			b.SetParallelism((clients + 1) / 2) // clients goroutines on 2 CPUs
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1)-1) % clients
				for pb.Next() {
					benchPost(b, c, base, devices[i], tokens[i])
				}
			})
			rate := float64(b.N) / time.Since(start).Seconds()
			b.ReportMetric(rate, "events/s")
			b.Logf("%s: %d events by %d device tokens in parallel: %.0f events/s", row, b.N, clients, rate)
		})
	}
}

// BenchmarkEventStreamLatency measures ingest-to-subscriber latency: 100
// SSE clients follow one device; each iteration posts one event and waits
// until all 100 have it; the latency of a delivery is from just before the
// POST is sent to when the subscriber read the event. With Redis the
// subscribers are on another replica than the one that ingests.
func BenchmarkEventStreamLatency(b *testing.B) {
	for _, row := range []string{"sqlite", "postgres+redis"} {
		b.Run(row, func(b *testing.B) {
			env := benchEventEnv(b, row)
			devices, tokens := benchDevices(b, env, 1, scopes.EventsWrite, scopes.EventsRead)
			ingestURL := startServer(b, env).URL
			streamURL := ingestURL
			if row == "postgres+redis" {
				streamURL = startServer(b, env).URL
			}
			const subscribers = 100
			type delivery struct {
				id string
				at time.Time
			}
			got := make(chan delivery, subscribers*16)
			var wg sync.WaitGroup
			for range subscribers {
				s := openSSE(b, streamURL, devices[0], tokens[0], "")
				wg.Go(func() {
					for {
						select {
						case e := <-s.events:
							got <- delivery{e.id, time.Now()}
						case <-s.done:
							return
						}
					}
				})
			}
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
			benchPost(b, c, ingestURL, devices[0], tokens[0]) // warm up: every subscriber gets it
			for range subscribers {
				<-got
			}
			var samples []time.Duration
			for b.Loop() {
				sent := time.Now()
				id := benchPost(b, c, ingestURL, devices[0], tokens[0])
				for range subscribers {
					select {
					case d := <-got:
						if d.id != id {
							b.Fatalf("a subscriber got %s, want %s", d.id, id)
						}
						samples = append(samples, d.at.Sub(sent))
					case <-time.After(10 * time.Second):
						b.Fatal("a subscriber did not get the event within 10s")
					}
				}
			}
			p50, p99 := benchPercentile(samples, 50), benchPercentile(samples, 99)
			b.ReportMetric(benchMicros(p50), "p50-µs")
			b.ReportMetric(benchMicros(p99), "p99-µs")
			b.Logf("%s: %d events × %d SSE subscribers: ingest-to-subscriber p50 %v, p99 %v",
				row, len(samples)/subscribers, subscribers, p50, p99)
		})
	}
}
