package graph

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// graphiqlFiles are GraphiQL's and React's browser builds, copied from
// their npm packages by scripts/build-graphiql.sh, and the page's own
// script and style sheet.
//
//go:embed graphiql/*.js graphiql/*.css graphiql/THIRD_PARTY_LICENSES.txt
var graphiqlFiles embed.FS

// graphiqlCSP allows the page nothing but its own origin: scripts and
// style sheets from the assets path, requests to the endpoint (HTTP and
// WebSocket), GraphiQL's inline SVG and font data, and no framing.
const graphiqlCSP = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var graphiqlPage = template.Must(template.New("graphiql").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>assetgate GraphQL</title>
<link rel="stylesheet" href="{{.Assets}}/graphiql.min.css">
<link rel="stylesheet" href="{{.Assets}}/assetgate-graphiql.css">
</head>
<body>
<div id="graphiql" data-endpoint="{{.Endpoint}}"><div class="assetgate-loading">Loading GraphiQL…</div></div>
<script src="{{.Assets}}/react.production.min.js"></script>
<script src="{{.Assets}}/react-dom.production.min.js"></script>
<script src="{{.Assets}}/graphiql.min.js"></script>
<script src="{{.Assets}}/assetgate-graphiql.js"></script>
</body>
</html>
`))

// graphiql serves the GraphiQL page at the endpoint and its files under
// the endpoint's path + "/assets/", all from the binary.
type graphiql struct {
	page   []byte
	prefix string // endpoint path + "/assets/"
	files  map[string]graphiqlFile
}

// graphiqlFile is one embedded file with what its responses carry.
type graphiqlFile struct {
	body []byte
	typ  string
	etag string
}

// newGraphiQL returns the GraphiQL handler of the endpoint at path.
func newGraphiQL(endpoint string) *graphiql {
	g := &graphiql{prefix: endpoint + "/assets/", files: map[string]graphiqlFile{}}
	var page bytes.Buffer
	if err := graphiqlPage.Execute(&page, struct{ Assets, Endpoint string }{strings.TrimSuffix(g.prefix, "/"), endpoint}); err != nil {
		panic(err)
	}
	g.page = page.Bytes()
	err := fs.WalkDir(graphiqlFiles, "graphiql", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := graphiqlFiles.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		typ := mime.TypeByExtension(path.Ext(name))
		if typ == "" {
			typ = "text/plain; charset=utf-8"
		}
		g.files[path.Base(name)] = graphiqlFile{body: body, typ: typ, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return g
}

// servePage writes the page with its Content-Security-Policy.
func (g *graphiql) servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", graphiqlCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(g.page)
}

// serveAsset writes one of the page's files (GET or HEAD), revalidated by
// its ETag; anything else under the assets path is 404.
func (g *graphiql) serveAsset(w http.ResponseWriter, r *http.Request) {
	f, ok := g.files[strings.TrimPrefix(r.URL.Path, g.prefix)]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.typ)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
