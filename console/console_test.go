package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/assetgate/assetgate/console"
	graphexec "github.com/assetgate/assetgate/graph/exec"
	"github.com/assetgate/assetgate/internal/testsupport"
)

func get(t *testing.T, h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestHandler serves index.html with a strict Content-Security-Policy for
// the console's own routes, its assets by content hash, config.json, and
// nothing else.
func TestHandler(t *testing.T) {
	h := console.New("https://ag.example.com", nil, slog.New(slog.DiscardHandler))
	index, err := os.ReadFile("dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/console/", "/console/devices/0199", "/console/applications", "/console/callback?code=x&state=y"} {
		rec := get(t, h, http.MethodGet, p)
		csp := rec.Header().Get("Content-Security-Policy")
		if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), index) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s = %d %q, not index.html", p, rec.Code, rec.Header().Get("Content-Type"))
		}
		for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "connect-src 'self' wss://ag.example.com;", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Fatalf("GET %s: Content-Security-Policy %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
			t.Fatalf("Content-Security-Policy %q allows too much", csp)
		}
	}
	if rec := get(t, h, http.MethodGet, "/console?client_id=abc"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/console/?client_id=abc" {
		t.Fatalf("GET /console = %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := get(t, h, http.MethodPost, "/console/"); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /console/ = %d", rec.Code)
	}

	// Every asset index.html names is served, immutable, revalidated by ETag.
	refs := regexp.MustCompile(`(?:src|href)="(/console/assets/[^"]+)"`).FindAllStringSubmatch(string(index), -1)
	if len(refs) < 2 {
		t.Fatalf("index.html names %d assets", len(refs))
	}
	for _, m := range refs {
		rec := get(t, h, http.MethodGet, m[1])
		want, err := os.ReadFile(filepath.Join("dist", strings.TrimPrefix(m[1], "/console/")))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), want) || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s = %d %v", m[1], rec.Code, rec.Header())
		}
		if again := get(t, h, http.MethodGet, m[1], "If-None-Match", rec.Header().Get("ETag")); again.Code != http.StatusNotModified {
			t.Fatalf("GET %s with its ETag = %d", m[1], again.Code)
		}
	}
	for _, p := range []string{"/console/assets/nope.js", "/console/assets/../console.go", "/console/assets/"} {
		if rec := get(t, h, http.MethodGet, p); rec.Code != http.StatusNotFound {
			t.Fatalf("GET %s = %d, want 404", p, rec.Code)
		}
	}
	if rec := get(t, h, http.MethodGet, "/console/THIRD_PARTY_LICENSES.txt"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "== leaflet ") {
		t.Fatalf("licences: %d", rec.Code)
	}
}

// TestConfig hands out the client id the server knows, null without one,
// and null (logged) when finding it fails.
func TestConfig(t *testing.T) {
	read := func(t *testing.T, h http.Handler) map[string]any {
		t.Helper()
		rec := get(t, h, http.MethodGet, "/console/config.json")
		var m map[string]any
		if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
			t.Fatalf("config.json = %d %q", rec.Code, rec.Body)
		}
		return m
	}
	quiet := slog.New(slog.DiscardHandler)
	if m := read(t, console.New("http://x", nil, quiet)); m["clientId"] != nil || m["scope"] != "openid me" || m["callbackPath"] != "/console/callback" {
		t.Fatalf("without a client: %v", m)
	}
	with := console.New("http://x", func(context.Context) (string, error) { return "client-1", nil }, quiet)
	if m := read(t, with); m["clientId"] != "client-1" {
		t.Fatalf("with a client: %v", m)
	}
	var logged bytes.Buffer
	failing := console.New("http://x", func(context.Context) (string, error) { return "", errors.New("db down") }, slog.New(slog.NewTextHandler(&logged, nil)))
	if m := read(t, failing); m["clientId"] != nil || !strings.Contains(logged.String(), "db down") {
		t.Fatalf("failing: %v, log %q", m, logged.String())
	}
}

// TestIndexSelfContained: the page has no inline script or style and
// loads nothing from another origin.
func TestIndexSelfContained(t *testing.T) {
	index, err := os.ReadFile("dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`<script(?:\s[^>]*)?>\s*[^<\s]`, `<style`, `\sstyle=`, `\son[a-z]+=`, `(?i)(src|href)="(https?:)?//`} {
		if m := regexp.MustCompile(re).FindString(string(index)); m != "" {
			t.Fatalf("index.html has %q (%s)", m, re)
		}
	}
	err = filepath.WalkDir("dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".css") {
			return err
		}
		b, err := os.ReadFile(p)
		if m := regexp.MustCompile(`url\((['"]?)(https?:)?//`).Find(b); m != nil {
			t.Errorf("%s loads from another origin: %s", p, m)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTrustedDocuments: every operation the console sends is a valid
// document of the schema, one named operation per file, all names distinct.
func TestTrustedDocuments(t *testing.T) {
	schema := graphexec.NewExecutableSchema(graphexec.Config{}).Schema()
	files, err := filepath.Glob("trusted-documents/*.graphql")
	if err != nil || len(files) < 10 {
		t.Fatalf("%d trusted documents (%v)", len(files), err)
	}
	// The live streams: a device's events (its page) and the customer's
	// with connections (the devices page).
	subscriptions := map[string]bool{"ConsoleDeviceEventsLive": true, "ConsoleFleetEventsLive": true}
	names := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, errs := gqlparser.LoadQuery(schema, string(b))
		if len(errs) > 0 {
			t.Errorf("%s: %v", f, errs)
			continue
		}
		if len(doc.Operations) != 1 || doc.Operations[0].Name == "" {
			t.Errorf("%s: want one named operation", f)
			continue
		}
		op := doc.Operations[0]
		if prev, ok := names[op.Name]; ok {
			t.Errorf("%s and %s both name %s", prev, f, op.Name)
		}
		names[op.Name] = f
		if op.Operation == ast.Subscription && !subscriptions[op.Name] {
			t.Errorf("%s: unexpected subscription %s", f, op.Name)
		}
	}
}

// TestConsoleBuildFresh rebuilds the console from tools/console with the
// npm packages pinned in its package-lock.json and compares the result
// with the committed console/dist and console/trusted-documents (the build
// needs the npm registry, once).
func TestConsoleBuildFresh(t *testing.T) {
	testsupport.RequireTool(t, "npm", "Node.js and npm")
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	if b, err := run(ctx, "../scripts/build-console.sh", out); err != nil {
		t.Fatalf("scripts/build-console.sh: %v\n%s", err, b)
	}
	for _, dir := range []string{"dist", "trusted-documents"} {
		fresh, committed := tree(t, filepath.Join(out, dir)), tree(t, dir)
		for name, b := range fresh {
			if c, ok := committed[name]; !ok || !bytes.Equal(c, b) {
				t.Errorf("console/%s/%s differs from a fresh build (committed: %v): run make console and commit", dir, name, ok)
			}
		}
		for name := range committed {
			if _, ok := fresh[name]; !ok {
				t.Errorf("console/%s/%s is not in a fresh build: run make console and commit", dir, name)
			}
		}
	}
}

func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

// tree reads every file below dir, by slash-separated relative path.
func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
