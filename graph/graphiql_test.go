package graph_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/assetgate/assetgate/graph"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/storage"
)

// offline lets the browser reach origin only: any request elsewhere fails
// (this machine has no internet; neither may the page need it). It returns
// the URLs refused and the Content-Security-Policy violations the page
// reported, as they happen.
func offline(t *testing.T, browser context.Context, origin string) (refused, violations func() []string) {
	t.Helper()
	var mu sync.Mutex
	var out, csp []string
	paused := chromedp.Events(browser, fetch.RequestPaused)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			if strings.HasPrefix(ev.Request.URL, origin+"/") {
				_, _ = chromedp.Call(browser, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				continue
			}
			mu.Lock()
			out = append(out, ev.Request.URL)
			mu.Unlock()
			_, _ = chromedp.Call(browser, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: "BlockedByClient"})
		}
	}()
	messages := chromedp.Console(browser)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				csp = append(csp, m.Text)
				mu.Unlock()
			}
		}
	}()
	if _, err := chromedp.Call(browser, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}}); err != nil {
		t.Fatal(err)
	}
	get := func(s *[]string) func() []string {
		return func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), (*s)...)
		}
	}
	return get(&out), get(&csp)
}

// TestGraphiQL loads the GraphiQL page in headless Chromium, puts a bearer
// token in its headers editor's storage, runs a query and reads the result
// in the page.
func TestGraphiQL(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{})
	req, _ := http.NewRequest(http.MethodGet, e.url, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	html, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET text/html = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("Content-Security-Policy %q", csp)
	}
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(string(html)); m != "" {
		t.Fatalf("the page loads from another origin (%s):\n%s", m, html)
	}
	browser := testsupport.NewBrowser(t)
	u, _ := url.Parse(e.url)
	refused, violations := offline(t, browser, u.Scheme+"://"+u.Host)

	// GraphiQL keeps its editors in localStorage: fill them before the
	// page's scripts run, with a query and the bearer token header.
	headers := `{"Authorization": "Bearer ` + e.me(e.a) + `"}`
	if _, err := chromedp.Call(browser, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `localStorage.setItem("graphiql:query", "{ me { id email } }");
			localStorage.setItem("graphiql:headers", ` + "`" + headers + "`" + `);`,
	}); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(browser,
		chromedp.Navigate(e.url),
		chromedp.WaitVisible(chromedp.CSS(".graphiql-execute-button")),
	)
	if err != nil {
		t.Fatalf("load GraphiQL: %v", err)
	}
	// The query is in the editor before it is run.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		shown, err := chromedp.Run(browser, chromedp.Evaluate[string](`(document.querySelector(".graphiql-query-editor") || {}).innerText || ""`))
		if err == nil && strings.Contains(shown, "email") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the query editor shows %q", shown)
		}
	}
	if err := chromedp.Do(browser, chromedp.Click(chromedp.CSS(".graphiql-execute-button"))); err != nil {
		t.Fatalf("run the query: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var shown string
	for time.Now().Before(deadline) {
		shown, err = chromedp.Run(browser, chromedp.Evaluate[string](`(document.querySelector(".graphiql-response") || {}).innerText || ""`))
		if err == nil && strings.Contains(shown, e.a.user.ID) && strings.Contains(shown, e.a.user.Email) {
			if r := refused(); len(r) > 0 {
				t.Errorf("the page asked for other origins: %q", r)
			}
			if v := violations(); len(v) > 0 {
				t.Errorf("Content-Security-Policy violations: %q", v)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GraphiQL shows %q, want the user %s", shown, e.a.user.ID)
}

// TestGraphiQLAssets serves the page's files from the binary under the
// endpoint's path, revalidated by ETag, and nothing else there; with
// introspection off there is neither page nor files.
func TestGraphiQLAssets(t *testing.T) {
	get := func(t *testing.T, u string, h ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		for i := 0; i+1 < len(h); i += 2 {
			req.Header.Set(h[i], h[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		must(t, err)
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	e := newEnv(t, storage.SQLite, options{})
	u, _ := url.Parse(e.url)
	assets := u.Scheme + "://" + u.Host + "/graphql/assets/"
	for file, typ := range map[string]string{
		"graphiql.min.js": "text/javascript", "graphiql.min.css": "text/css", "react.production.min.js": "text/javascript",
		"react-dom.production.min.js": "text/javascript", "assetgate-graphiql.js": "text/javascript", "assetgate-graphiql.css": "text/css",
	} {
		res := get(t, assets+file)
		body, _ := io.ReadAll(res.Body)
		want, err := os.ReadFile(filepath.Join("graphiql", file))
		must(t, err)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), typ) || !bytes.Equal(body, want) {
			t.Fatalf("GET %s = %d %q, %d bytes (want %d)", file, res.StatusCode, res.Header.Get("Content-Type"), len(body), len(want))
		}
		etag := res.Header.Get("ETag")
		if etag == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s headers %v", file, res.Header)
		}
		if again := get(t, assets+file, "If-None-Match", etag); again.StatusCode != http.StatusNotModified {
			t.Fatalf("GET %s with its ETag = %d, want 304", file, again.StatusCode)
		}
	}
	for _, p := range []string{"nope.js", "../graphiql.go", "sub/graphiql.min.js"} {
		if res := get(t, assets+p); res.StatusCode != http.StatusNotFound {
			t.Fatalf("GET assets/%s = %d, want 404", p, res.StatusCode)
		}
	}

	off := newEnv(t, storage.SQLite, options{cfg: func(c *graph.Config) { c.IntrospectionEnabled = false }})
	u, _ = url.Parse(off.url)
	if res := get(t, u.Scheme+"://"+u.Host+"/graphql/assets/graphiql.min.js"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("introspection off: assets = %d, want 404", res.StatusCode)
	}
	if res := get(t, off.url, "Accept", "text/html"); strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("introspection off: GET text/html = %d %s, want no page", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

// TestGraphiQLAssetsFresh rebuilds the files scripts/build-graphiql.sh
// copies from the npm packages pinned in tools/graphiql/package-lock.json
// and compares them with the committed ones (the build needs the npm
// registry).
func TestGraphiQLAssetsFresh(t *testing.T) {
	testsupport.RequireTool(t, "npm", "Node.js and npm")
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, "../scripts/build-graphiql.sh", out).CombinedOutput(); err != nil {
		t.Fatalf("scripts/build-graphiql.sh: %v\n%s", err, b)
	}
	built, err := os.ReadDir(out)
	must(t, err)
	if len(built) < 5 {
		t.Fatalf("the build wrote %d files", len(built))
	}
	for _, f := range built {
		fresh, err := os.ReadFile(filepath.Join(out, f.Name()))
		must(t, err)
		committed, err := os.ReadFile(filepath.Join("graphiql", f.Name()))
		if err != nil || !bytes.Equal(fresh, committed) {
			t.Errorf("graph/graphiql/%s differs from a fresh build (%v): run scripts/build-graphiql.sh and commit", f.Name(), err)
		}
	}
}
