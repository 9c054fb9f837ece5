// Package e2e holds the whole-program tests: each runs the real assetgate
// binary, built once by TestMain, as its own process with an environment
// of ASSETGATE_* settings, and talks to it over HTTP or through its
// command-line interface. Tests of the root package's own functions stay at
// the root.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
	"github.com/assetgate/assetgate/wire/wiretest"
)

// binary is the path of the assetgate binary TestMain built.
var binary string

// repoRoot is the repository's root folder (the parent of e2e/), where the
// README, Dockerfile and go.mod are.
const repoRoot = ".."

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

// buildAndRun builds the binary into a temporary folder, runs the tests and
// removes the folder.
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "assetgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "assetgate")
	build := exec.Command("go", "build", "-o", binary, "github.com/assetgate/assetgate")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// command returns the binary with args and env as its only ASSETGATE_*
// settings: the ones of the test process (its ASSETGATE_TEST_* included)
// are dropped, as are its GOMEMLIMIT and GOGC.
func command(ctx context.Context, env testsupport.Env, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "ASSETGATE_") || name == "GOMEMLIMIT" || name == "GOGC" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// envs returns the environments end-to-end tests run on: SQLite, and
// PostgreSQL + Redis.
func envs() map[string]func(t *testing.T) testsupport.Env {
	return map[string]func(t *testing.T) testsupport.Env{
		storage.SQLite: testsupport.SQLiteEnv,
		"postgres+redis": func(t *testing.T) testsupport.Env {
			return testsupport.PostgresEnv(t).With("ASSETGATE_REDIS_URL", storagetest.RequireEnv(t, storagetest.RedisURLEnv))
		},
	}
}

// testServer is a running `assetgate serve` process.
type testServer struct {
	URL    string
	pid    int
	stdout *testsupport.SyncBuffer
	stderr *testsupport.SyncBuffer
	stop   func() error
	// kill ends the process with SIGKILL (no shutdown of any kind) and
	// waits until it is gone; the test's end then has nothing to stop.
	kill func(t testing.TB)
}

// startServer runs `assetgate serve` with env (plus extra args) on the
// address of env (a free port with testsupport.BaseEnv), waits until
// /healthz answers, and stops it with SIGTERM when the test ends.
func startServer(t testing.TB, env testsupport.Env, args ...string) *testServer {
	t.Helper()
	cmd := command(context.Background(), env, append([]string{"serve"}, args...)...)
	pr, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{stdout: &testsupport.SyncBuffer{}, stderr: &testsupport.SyncBuffer{}}
	cmd.Stderr = ts.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ts.pid = cmd.Process.Pid
	done := make(chan error, 1)
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			ts.stdout.Write([]byte(line + "\n"))
			if u, ok := listeningURL(line); ok {
				select {
				case urlc <- u:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
		done <- cmd.Wait()
	}()
	var once sync.Once
	var stopErr error
	ts.stop = func() error {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				stopErr = errors.New("the server did not stop on SIGTERM within 30s")
			}
		})
		return stopErr
	}
	ts.kill = func(t testing.TB) {
		t.Helper()
		once.Do(func() {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the server did not die on SIGKILL")
			}
		})
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("serve did not stop cleanly: %v\nstderr: %s", err, ts.stderr.String())
		}
	})
	select {
	case ts.URL = <-urlc:
	case err := <-done:
		once.Do(func() {}) // it has stopped: nothing for the clean-up to stop
		t.Fatalf("serve returned early: %v\nstderr: %s", err, ts.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start in 60s\nstderr: %s", ts.stderr.String())
	}
	waitHealthy(t, ts.URL)
	return ts
}

// waitHealthy polls /healthz until it answers 200.
func waitHealthy(t testing.TB, base string) {
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

// cliResult is what one CLI invocation printed and how it exited.
type cliResult struct {
	stdout, stderr string
	err            error // nil when the exit status is 0
	code           int
}

// runCLI runs one assetgate command of the binary with env and stdin.
func runCLI(t testing.TB, env testsupport.Env, stdin string, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := command(context.Background(), env, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), err: err, code: code}
}

// jsonOf decodes a CLI's --json output; it fails the test when it is not one
// JSON object.
func (r cliResult) jsonOf(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return m
}

// mustCLI runs a command that must succeed and returns its --json output.
func mustCLI(t testing.TB, env testsupport.Env, stdin string, args ...string) map[string]any {
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

// openGraph opens, in the test process, the service graph over the
// database of env (the one the binary uses), without its Redis: the tests
// seed and inspect through it what no API or command reaches.
func openGraph(t testing.TB, env testsupport.Env) *wire.App {
	t.Helper()
	return openGraphWith(t, env, false)
}

// openGraphWith is openGraph, with the Redis of env (when it names
// one) if withRedis is true, as serve has it. It reads the settings the
// graph needs from env: the database, Redis, issuer, server key (the key
// file is made, as the binary makes it, when missing), password hash
// wait and database time-out.
func openGraphWith(t testing.TB, env testsupport.Env, withRedis bool) *wire.App {
	t.Helper()
	cfg := wire.DefaultConfig()
	cfg.DatabaseURL = env.Get("ASSETGATE_DATABASE_URL")
	if cfg.DatabaseURL == "" {
		t.Fatal("openGraph: the environment names no ASSETGATE_DATABASE_URL")
	}
	cfg.Issuer = "http://localhost:8080"
	if v := env.Get("ASSETGATE_ISSUER"); v != "" {
		cfg.Issuer = strings.TrimSuffix(v, "/")
	}
	if withRedis {
		cfg.RedisURL = env.Get("ASSETGATE_REDIS_URL")
	}
	for name, dst := range map[string]*time.Duration{
		"ASSETGATE_PASSWORD_HASH_WAIT": &cfg.PasswordHashWait,
		"ASSETGATE_DATABASE_TIMEOUT":   &cfg.DatabaseTimeout,
	} {
		if v := env.Get(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			*dst = d
		}
	}
	cfg.Key = serverKey(t, env)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return wiretest.MustNew(t, cfg)
}

// serverKey returns the server key of env: ASSETGATE_SECRET_KEY, or the
// contents of ASSETGATE_SECRET_KEY_FILE, which it writes as the binary
// would (64 hex digits, mode 0600) when the file does not exist yet.
func serverKey(t testing.TB, env testsupport.Env) []byte {
	t.Helper()
	if k := env.Get("ASSETGATE_SECRET_KEY"); k != "" {
		return []byte(k)
	}
	path := env.Get("ASSETGATE_SECRET_KEY_FILE")
	if path == "" {
		t.Fatal("openGraph: the environment names no server key")
	}
	if b, err := os.ReadFile(path); err == nil {
		return []byte(strings.TrimSpace(string(b)))
	} else if !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	key := hex.EncodeToString(raw[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return serverKey(t, env)
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(key + "\n"); err != nil {
		t.Fatal(err)
	}
	return []byte(key)
}
