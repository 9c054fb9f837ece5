package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// testEnv is a set of environment variables for run().
type testEnv map[string]string

func (e testEnv) get(name string) string { return e[name] }

// with returns a copy of e with more variables set.
func (e testEnv) with(kv ...string) testEnv {
	out := testEnv{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// baseEnv returns an environment for run() with a temporary key file, no
// database and no Redis, listening on a free loopback port.
func baseEnv(t *testing.T) testEnv {
	t.Helper()
	return testEnv{
		"ASSETGATE_ADDR":            "127.0.0.1:0",
		"ASSETGATE_SECRET_KEY_FILE": filepath.Join(t.TempDir(), "secret.key"),
		"ASSETGATE_LOG_LEVEL":       "warn",
		// Tests that scrape metrics give a free port of their own.
		"ASSETGATE_METRICS_ADDR": "off",
	}
}

// sqliteEnv returns baseEnv with a temporary SQLite file.
func sqliteEnv(t *testing.T) testEnv {
	t.Helper()
	return baseEnv(t).with("ASSETGATE_DATABASE_URL", storagetest.SQLiteURL(t))
}

// postgresEnv returns baseEnv with a throw-away PostgreSQL database
// (skipped without ASSETGATE_TEST_DATABASE_URL, failed in CI).
func postgresEnv(t *testing.T) testEnv {
	t.Helper()
	return baseEnv(t).with("ASSETGATE_DATABASE_URL", storagetest.PostgresURL(t))
}

// envs returns the environments end-to-end tests run on: SQLite, and
// PostgreSQL + Redis.
func envs() map[string]func(t *testing.T) testEnv {
	return map[string]func(t *testing.T) testEnv{
		storage.SQLite: sqliteEnv,
		"postgres+redis": func(t *testing.T) testEnv {
			return postgresEnv(t).with("ASSETGATE_REDIS_URL", storagetest.RequireEnv(t, storagetest.RedisURLEnv))
		},
	}
}

// testServer is a running `assetgate serve` started through run().
type testServer struct {
	URL    string
	stdout *testsupport.SyncBuffer
	stderr *testsupport.SyncBuffer
	stop   func() error
}

// startServer runs `assetgate serve` with env (plus extra args) on a free
// port, waits until /healthz answers, and stops it when the test ends.
func startServer(t *testing.T, env testEnv, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &testsupport.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"assetgate", "serve"}, args...), env.get, strings.NewReader(""), pw, stderr)
		pw.Close()
		done <- err
	}()
	urlc := make(chan string, 1)
	out := &testsupport.SyncBuffer{}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			out.Write([]byte(line + "\n"))
			if u, ok := listeningURL(line); ok {
				urlc <- u
			}
		}
	}()
	var base string
	select {
	case base = <-urlc:
	case err := <-done:
		cancel()
		t.Fatalf("serve returned early: %v\nstderr: %s", err, stderr.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve did not start in 30s\nstderr: %s", stderr.String())
	}
	ts := &testServer{URL: base, stdout: out, stderr: stderr}
	var once sync.Once
	var stopErr error
	ts.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = context.DeadlineExceeded
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("serve did not stop cleanly: %v\nstderr: %s", err, stderr.String())
		}
	})
	waitHealthy(t, base)
	return ts
}

// waitHealthy polls /healthz until it answers 200.
func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s/healthz did not answer 200 within 10s", base)
}

// cliResult is what one CLI invocation printed and returned.
type cliResult struct {
	stdout, stderr string
	err            error
	code           int
}

// runCLI runs one assetgate command through run() with stdin.
func runCLI(t *testing.T, env testEnv, stdin string, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"assetgate"}, args...), env.get, strings.NewReader(stdin), &stdout, &stderr)
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), err: err, code: exitCode(err)}
}

// jsonOf decodes a CLI's --json output; it fails the test when it is not one
// JSON object.
func (r cliResult) jsonOf(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return m
}

// mustCLI runs a command that must succeed and returns its --json output.
func mustCLI(t *testing.T, env testEnv, stdin string, args ...string) map[string]any {
	t.Helper()
	r := runCLI(t, env, stdin, append(args, "--json")...)
	if r.err != nil {
		t.Fatalf("%v: %v\nstderr: %s", args, r.err, r.stderr)
	}
	return r.jsonOf(t)
}

// listeningURL returns the URL of serve's listening line, in its text form
// ("assetgate listening on URL") or its --json form
// ({"status":"listening","url":URL}).
func listeningURL(line string) (string, bool) {
	if u, ok := strings.CutPrefix(line, "assetgate listening on "); ok {
		return u, true
	}
	var v struct{ Status, URL string }
	if json.Unmarshal([]byte(line), &v) == nil && v.Status == "listening" && v.URL != "" {
		return v.URL, true
	}
	return "", false
}
