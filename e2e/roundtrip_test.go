package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
)

// respCounter is a TCP proxy in front of Redis that counts the commands
// clients send through it (RESP arrays), so a test can see exactly how many
// Redis round trips a request costs.
type respCounter struct {
	*tcpProxy
	n atomic.Int64
	// limits counts the rate limiter's commands (scripts on its "rl:"
	// keys) apart: they are not token store round trips.
	limits atomic.Int64
	// names records the command names, for failure messages.
	mu    sync.Mutex
	names []string
}

func startRESPCounter(t *testing.T, target string) *respCounter {
	t.Helper()
	c := &respCounter{}
	c.tcpProxy = startTCPProxyWith(t, target, func(r io.Reader) { c.parse(r) })
	return c
}

// parse reads a client's command stream and counts each top-level array.
func (c *respCounter) parse(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if !strings.HasPrefix(line, "*") {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		name, key := "", ""
		for i := 0; i < n; i++ {
			hdr, err := br.ReadString('\n')
			if err != nil {
				return
			}
			size, _ := strconv.Atoi(strings.TrimSpace(hdr[1:]))
			buf := make([]byte, size+2)
			if _, err := io.ReadFull(br, buf); err != nil {
				return
			}
			if i == 0 {
				name = strings.ToUpper(string(buf[:size]))
			}
			if i == 3 {
				key = string(buf[:size])
			}
		}
		if (name == "EVALSHA" || name == "EVAL") && strings.HasPrefix(key, wire.DefaultRedisPrefix+"rl:") {
			c.limits.Add(1)
			continue
		}
		switch name {
		case "HELLO", "CLIENT", "AUTH", "SELECT", "PING":
			continue // a new pooled connection's set-up, not a request's work
		}
		c.n.Add(1)
		c.mu.Lock()
		c.names = append(c.names, name)
		c.mu.Unlock()
	}
}

// resetLimits zeroes the count of rate limiter commands and returns what
// it was.
func (c *respCounter) resetLimits() int64 { return c.limits.Swap(0) }

// reset zeroes the count and returns what it was.
func (c *respCounter) reset() (int64, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := c.names
	c.names = nil
	return c.n.Swap(0), names
}

// TestOneTokenStoreRoundTrip counts the Redis commands of authenticated
// requests through a real server: each costs exactly one token-store round
// trip (the GET of the token), whatever else it does, with an access token
// or with a device token whose copy is in Redis (also one copied back after
// a miss: the warm-up request copies it).
func TestOneTokenStoreRoundTrip(t *testing.T) {
	opts, err := redis.ParseURL(storagetest.RequireEnv(t, storagetest.RedisURLEnv))
	if err != nil {
		t.Fatal(err)
	}
	counter := startRESPCounter(t, opts.Addr)
	env := testsupport.PostgresEnv(t).With("ASSETGATE_REDIS_URL", "redis://"+counter.addr()+"/"+strconv.Itoa(opts.DB))
	ts := startServer(t, env, "--demo", "--json")
	demo := parseDemo(t, ts)
	basic := demo.ClientID + ":" + demo.ClientSecret
	tok := postForm(t, ts.URL+"/oauth/token", basic, url.Values{"grant_type": {"client_credentials"}, "scope": {"app basic"}}, http.StatusOK)
	token := tok["access_token"].(string)
	deviceID := sendJSON(t, http.MethodPost, ts.URL+"/api/v1/devices", token,
		`{"data":{"type":"devices","attributes":{"name":"Round trip","imei":"`+testIMEI()+`"}}}`,
		http.StatusCreated)["data"].(map[string]any)["id"].(string)
	device := mintDeviceToken(t, env, demo.ClientID, demo.CustomerID, deviceID, "device:read")
	_, familyID, _ := resource.ParseToken(device)
	rc := redis.NewClient(&redis.Options{Addr: opts.Addr, DB: opts.DB})
	t.Cleanup(func() { rc.Close() })
	deviceKey := wire.DefaultRedisPrefix + "{" + familyID + "}:t:" + resource.KeyedHash(openGraph(t, env).Config().Key, device)

	for _, tc := range []struct {
		name string
		do   func()
	}{
		{"TokenInfo", func() { getJSON(t, ts.URL+"/oauth/token/info", token, http.StatusOK) }},
		{"JSONAPIDevices", func() {
			getJSON(t, ts.URL+"/api/v1/devices?page%5Bsize%5D=25&include=group", token, http.StatusOK)
		}},
		{"GraphQL", func() {
			sendGraphQL(t, ts.URL, token, `{ devices(first: 5) { totalCount edges { node { id group { id } } } } }`)
		}},
		{"Introspect", func() {
			postForm(t, ts.URL+"/oauth/introspect", basic, url.Values{"token": {token}}, http.StatusOK)
		}},
		{"DeviceToken", func() { getJSON(t, ts.URL+"/api/v1/devices/"+deviceID, device, http.StatusOK) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.do() // warm: connections dialled, caches filled
			counter.reset()
			counter.resetLimits()
			const n = 20
			for range n {
				tc.do()
			}
			got, names := counter.reset()
			if got != n {
				t.Fatalf("%d requests made %d Redis commands, want %d (one each): %v", n, got, n, names)
			}
			// The rate limits lease requests in growing batches: a
			// busy token or client costs a Redis call every few
			// requests, not one each.
			if limits := counter.resetLimits(); limits > n/2 {
				t.Fatalf("%d requests made %d rate limiter calls, want at most %d", n, limits, n/2)
			}
		})
	}
	t.Run("DeviceTokenAfterMiss", func(t *testing.T) {
		// Scripts cached, as after the first copy on any replica.
		if err := storage.NewRedisTokenStore(rc, wire.DefaultRedisPrefix).LoadScripts(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n, err := rc.Del(t.Context(), deviceKey).Result(); err != nil || n != 1 {
			t.Fatalf("delete the copy of the device token: %d, %v", n, err)
		}
		counter.reset()
		getJSON(t, ts.URL+"/api/v1/devices/"+deviceID, device, http.StatusOK) // copied back from SQL
		if got, names := counter.reset(); got != 2 {
			t.Fatalf("the request after the miss made %d Redis commands, want 2 (GET, copy): %v", got, names)
		}
		const n = 20
		for range n {
			getJSON(t, ts.URL+"/api/v1/devices/"+deviceID, device, http.StatusOK)
		}
		if got, names := counter.reset(); got != n {
			t.Fatalf("%d requests made %d Redis commands, want %d (one each): %v", n, got, n, names)
		}
	})
}

// parseDemo reads the JSON that serve --demo --json printed first.
func parseDemo(t *testing.T, ts *testServer) demoResult {
	t.Helper()
	line, _, _ := strings.Cut(ts.stdout.String(), "\n")
	var d demoResult
	if err := json.Unmarshal([]byte(line), &d); err != nil {
		t.Fatalf("demo output %q: %v", line, err)
	}
	return d
}
