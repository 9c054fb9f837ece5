package graph_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/storage"
)

// cdnAsset matches the CDN URLs of the GraphiQL page: package, version and
// file of an npm package.
var cdnAsset = regexp.MustCompile(`https://cdn\.jsdelivr\.net/npm/((?:@[^/@"]+/)?[^/@"]+)@([^/"]+)/([^"]+)`)

// graphiqlAssets returns the files the GraphiQL page loads from its CDN,
// keyed by URL, taken from the same npm packages (the CDN serves them
// unchanged, so the page's subresource integrity hashes hold; Chromium
// checks them). This machine reaches the npm registry but not the CDN;
// packages are cached between runs.
func graphiqlAssets(t *testing.T, page string) map[string][]byte {
	t.Helper()
	testsupport.RequireTool(t, "npm", "Node.js and npm")
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "assetgate-test", "npm")
	must(t, os.MkdirAll(dir, 0o755))
	assets := map[string][]byte{}
	for _, m := range cdnAsset.FindAllStringSubmatch(page, -1) {
		url, pkg, version, file := m[0], m[1], m[2], m[3]
		tgz := filepath.Join(dir, strings.NewReplacer("@", "", "/", "-").Replace(pkg)+"-"+version+".tgz")
		if _, err := os.Stat(tgz); err != nil {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			out, err := exec.CommandContext(ctx, "npm", "pack", "--silent", "--pack-destination", dir, pkg+"@"+version).CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("npm pack %s@%s: %v\n%s", pkg, version, err, out)
			}
		}
		assets[url] = fileOf(t, tgz, "package/"+file)
	}
	if len(assets) < 3 {
		t.Fatalf("the GraphiQL page loads %d CDN files, want at least 3:\n%s", len(assets), page)
	}
	return assets
}

// fileOf returns one file of a gzipped tar archive.
func fileOf(t *testing.T, tgz, name string) []byte {
	t.Helper()
	f, err := os.Open(tgz)
	must(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	must(t, err)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s has no %s: %v", tgz, name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			must(t, err)
			return b
		}
	}
}

// serveAssets answers the browser's requests to the CDN with assets, and
// fails any other.
func serveAssets(t *testing.T, browser context.Context, assets map[string][]byte) {
	t.Helper()
	events := chromedp.Events(browser, fetch.RequestPaused)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			body, ok := assets[ev.Request.URL]
			if !ok {
				_, _ = chromedp.Call(browser, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: "BlockedByClient"})
				continue
			}
			typ := mime.TypeByExtension(path.Ext(ev.Request.URL))
			_, _ = chromedp.Call(browser, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: 200, Body: body,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: typ}, {Name: "Access-Control-Allow-Origin", Value: "*"}},
			})
		}
	}()
	if _, err := chromedp.Call(browser, fetch.Enable, fetch.EnableParams{
		Patterns: []*fetch.RequestPattern{{URLPattern: "https://cdn.jsdelivr.net/*"}},
	}); err != nil {
		t.Fatal(err)
	}
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
	browser := testsupport.NewBrowser(t)
	serveAssets(t, browser, graphiqlAssets(t, string(html)))

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
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GraphiQL shows %q, want the user %s", shown, e.a.user.ID)
}
