package e2e

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
)

// TestHealthcheck checks `assetgate healthcheck`, the container image's
// HEALTHCHECK (the distroless image has no shell and no curl): exit 0 when
// /healthz answers 200 in time, 1 otherwise.
func TestHealthcheck(t *testing.T) {
	env := testsupport.BaseEnv(t)
	t.Run("OK", func(t *testing.T) {
		ts := startServer(t, testsupport.SQLiteEnv(t))
		r := runCLI(t, env, "", "healthcheck", "--url", ts.URL+"/healthz", "--json")
		if r.code != 0 || r.jsonOf(t)["status"] != "ok" {
			t.Fatalf("code %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("OKDefaultURLFromAddr", func(t *testing.T) {
		// Without --url it asks the port ASSETGATE_ADDR listens on, on
		// the loopback interface.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			w.Write([]byte(`{"status":"ok"}`))
		}))
		defer srv.Close()
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		for _, addr := range []string{":" + port, "0.0.0.0:" + port, "127.0.0.1:" + port} {
			if r := runCLI(t, env.With("ASSETGATE_ADDR", addr), "", "healthcheck"); r.code != 0 {
				t.Fatalf("ASSETGATE_ADDR=%s: code %d, stderr %s", addr, r.code, r.stderr)
			}
		}
	})
	t.Run("ErrUnhealthy", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		r := runCLI(t, env, "", "healthcheck", "--url", srv.URL+"/healthz")
		if r.code != 1 || !strings.Contains(r.stderr, "503") {
			t.Fatalf("code %d, stderr %s", r.code, r.stderr)
		}
	})
	t.Run("ErrDown", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if r := runCLI(t, env, "", "healthcheck", "--url", "http://"+addr+"/healthz"); r.code != 1 {
			t.Fatalf("code %d, stderr %s", r.code, r.stderr)
		}
	})
	t.Run("ErrTimeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		start := time.Now()
		r := runCLI(t, env, "", "healthcheck", "--url", srv.URL+"/healthz", "--timeout", "200ms")
		if r.code != 1 || time.Since(start) > 5*time.Second {
			t.Fatalf("code %d after %v, stderr %s", r.code, time.Since(start), r.stderr)
		}
	})
	t.Run("ErrUsage", func(t *testing.T) {
		for _, args := range [][]string{{"--url", "ftp://127.0.0.1/healthz"}, {"--url", "not a url"}, {"extra"}} {
			if r := runCLI(t, env, "", append([]string{"healthcheck"}, args...)...); r.code != 2 {
				t.Fatalf("%v: code %d, stderr %s", args, r.code, r.stderr)
			}
		}
	})
}
