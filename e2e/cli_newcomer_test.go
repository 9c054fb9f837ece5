package e2e

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/storage"
)

// TestMigrateReportsApplied runs migrate on a fresh database: it reports
// the migrations it applied (not the empty second pass), then, run again,
// that nothing was pending.
func TestMigrateReportsApplied(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "storage", "migrations", "sqlite", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	env := testsupport.SQLiteEnv(t)
	first := mustCLI(t, env, "", "migrate")
	if first["applied_now"] != float64(len(files)) || first["status"] != "migrated" || first["database"] != storage.SQLite {
		t.Fatalf("migrate on a fresh database = %v, want %d applied", first, len(files))
	}
	if names, _ := first["applied"].([]any); len(names) != len(files) {
		t.Fatalf("applied names = %v", first["applied"])
	}
	again := mustCLI(t, env, "", "migrate")
	if again["applied_now"] != 0.0 || again["status"] != "up to date" {
		t.Fatalf("migrate again = %v", again)
	}
}

// TestServeJSONStdout checks that with --json every line serve prints on
// stdout is one JSON object, the listening line included.
func TestServeJSONStdout(t *testing.T) {
	ts := startServer(t, testsupport.SQLiteEnv(t), "--demo", "--json")
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(ts.stdout.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("stdout %q: want the demo and the listening lines", ts.stdout.String())
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("a stdout line is not JSON: %q", l)
		}
	}
	var last map[string]any
	_ = json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if last["status"] != "listening" || last["url"] != ts.URL {
		t.Fatalf("listening line %v, want url %s", last, ts.URL)
	}
}

// TestDemoListensOnLoopback starts serve --demo without ASSETGATE_ADDR or
// --addr: it listens on 127.0.0.1:8080 only, since it prints live
// credentials, and says so. With an address given, that address is used.
func TestDemoListensOnLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		t.Skipf("127.0.0.1:8080 is taken on this machine (%v): the demo's default address cannot be tried", err)
	}
	ln.Close()
	env := testsupport.SQLiteEnv(t)
	delete(env, "ASSETGATE_ADDR")
	ts := startServer(t, env, "--demo")
	if ts.URL != "http://127.0.0.1:8080" {
		t.Fatalf("demo listens on %s, want http://127.0.0.1:8080", ts.URL)
	}
	if !strings.Contains(ts.stdout.String(), "127.0.0.1 only") {
		t.Fatalf("the demo does not say it listens on loopback only:\n%s", ts.stdout.String())
	}
	// Another interface's address of this host does not reach it.
	if c, err := net.DialTimeout("tcp", "[::1]:8080", time.Second); err == nil {
		c.Close()
		t.Fatal("the demo answers on ::1 too")
	}
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	// An address given wins.
	explicit := startServer(t, env.With("ASSETGATE_ADDR", "127.0.0.1:0"), "--demo")
	if explicit.URL == "http://127.0.0.1:8080" {
		t.Fatal("ASSETGATE_ADDR was ignored by --demo")
	}
}
