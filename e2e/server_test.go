package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/redis/go-redis/v9"
)

func TestServe(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			ts := startServer(t, env)

			resp, err := http.Get(ts.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || body.Status != "ok" || body.Checks["database"] != "ok" {
				t.Fatalf("readyz = %d %+v", resp.StatusCode, body)
			}
			if _, withRedis := env["ASSETGATE_REDIS_URL"]; withRedis && body.Checks["redis"] != "ok" {
				t.Fatalf("readyz does not check redis: %+v", body.Checks)
			}
			if err := ts.stop(); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			if _, err := http.Get(ts.URL + "/healthz"); err == nil {
				t.Fatal("server still answers after shutdown")
			}
		})
	}
}

// TestServeFinishesInFlightRequests checks graceful shutdown: a request that
// is being served when the signal arrives still gets its whole answer.
func TestServeFinishesInFlightRequests(t *testing.T) {
	ts := startServer(t, testsupport.SQLiteEnv(t))
	// A slow client: the body of a request is sent in two parts, so the
	// request is in flight when shutdown starts.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/healthz", pr)
	req.ContentLength = 2
	got := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- -1
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	pw.Write([]byte("a"))
	time.Sleep(100 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop() }()
	time.Sleep(100 * time.Millisecond)
	pw.Write([]byte("b"))
	pw.Close()
	if code := <-got; code != http.StatusOK {
		t.Fatalf("in-flight request got %d, want 200", code)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestServeCreatesDefaultDataFolder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	env := testsupport.Env{"ASSETGATE_ADDR": "127.0.0.1:0", "ASSETGATE_LOG_LEVEL": "warn"}
	startServer(t, env)
	for _, f := range []string{"data/assetgate.db", "data/secret.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not created: %v", f, err)
		}
	}
	st, err := os.Stat(filepath.Join(dir, "data/secret.key"))
	if err == nil && st.Mode().Perm() != 0o600 {
		t.Errorf("secret.key mode = %v, want 0600", st.Mode().Perm())
	}
}

func TestReadyzReportsDownRedis(t *testing.T) {
	env := testsupport.SQLiteEnv(t)
	// A Redis that answered at start but is gone later is reported as down;
	// here the server starts with a live Redis from a tiny TCP proxy that is
	// then closed.
	redisURL := os.Getenv("ASSETGATE_TEST_REDIS_URL")
	if redisURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ASSETGATE_TEST_REDIS_URL is not set: CI must run this test")
		}
		t.Skip("ASSETGATE_TEST_REDIS_URL is not set")
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startTCPProxy(t, opts.Addr)
	ts := startServer(t, env.With("ASSETGATE_REDIS_URL", "redis://"+proxy.addr()))
	proxy.close()
	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusServiceUnavailable || body.Checks["redis"] != "down" || body.Checks["database"] != "ok" {
		t.Fatalf("readyz = %d %+v, want 503 with redis down", resp.StatusCode, body)
	}
}

func TestDebugServerOffByDefault(t *testing.T) {
	ts := startServer(t, testsupport.SQLiteEnv(t))
	resp, err := http.Get(ts.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("pprof on the service port: %d, want 404", resp.StatusCode)
	}
}

func TestDebugServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	startServer(t, testsupport.SQLiteEnv(t).With("ASSETGATE_DEBUG_ADDR", addr))
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pprof on the debug address: %d", resp.StatusCode)
	}
}
