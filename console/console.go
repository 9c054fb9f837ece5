// Package console serves the customer console: a single-page application
// built from tools/console by scripts/build-console.sh into dist/, which
// is embedded in the binary (building the server needs nothing but Go).
// The console is a public OAuth client of assetgate itself: it signs in
// through the authorization endpoint with PKCE and calls /graphql like any
// other client, so nothing here is private to it.
package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// Path is where the console is served.
const Path = "/console"

// CallbackPath is the console's OAuth redirect URI path, on the
// issuer's origin.
const CallbackPath = Path + "/callback"

// ApplicationName is the name of the console's OAuth application, as
// serve --demo and `assetgate app create-console` create it.
const ApplicationName = "Console"

// Scope is what the console asks for: the user's own API (me) and an ID
// token (openid).
const Scope = "openid me"

// dist is the build of tools/console (index.html and assets/).
//
//go:embed dist
var dist embed.FS

// TrustedDocuments is the folder (relative to the repository's root) of the
// console's GraphQL operations, one *.graphql file each, written by the
// build: ASSETGATE_GRAPHQL_TRUSTED_DOCUMENTS may point at it (with other
// apps' documents beside them).
const TrustedDocuments = "console/trusted-documents"

// RedirectURI is the console's redirect URI on issuer.
func RedirectURI(issuer string) string { return strings.TrimSuffix(issuer, "/") + CallbackPath }

// Handler serves the console: its files under /console/assets/,
// /console/config.json, and index.html for every other path under
// /console (the application routes in the browser).
type Handler struct {
	index    file
	files    map[string]file // by path below Path, "assets/x.js"
	csp      string
	clientID func(context.Context) (string, error)
	log      *slog.Logger
}

// file is one embedded file with what its responses carry.
type file struct {
	body []byte
	typ  string
	etag string
}

// New returns the console's handler for a server whose public origin is
// issuer's (the WebSocket of GraphQL subscriptions is allowed there).
// clientID, when not nil, tells config.json the console's OAuth client id
// (serve --demo: the demo customer's); its errors go to log.
func New(issuer string, clientID func(context.Context) (string, error), log *slog.Logger) *Handler {
	h := &Handler{files: map[string]file{}, csp: policy(issuer), clientID: clientID, log: log}
	err := fs.WalkDir(dist, "dist", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := dist.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		typ := mime.TypeByExtension(path.Ext(name))
		if typ == "" {
			typ = "application/octet-stream"
		}
		rel := strings.TrimPrefix(name, "dist/")
		f := file{body: body, typ: typ, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		if rel == "index.html" {
			h.index = f
		} else {
			h.files[rel] = f
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	if h.index.body == nil {
		panic("console: dist/index.html is missing: run make console")
	}
	return h
}

// policy is the console's Content-Security-Policy: its own origin only,
// no inline script or style, the GraphQL WebSocket on the issuer's origin,
// no framing.
func policy(issuer string) string {
	connect := "'self'"
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		ws := "ws://"
		if u.Scheme == "https" {
			ws = "wss://"
		}
		connect += " " + ws + u.Host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
		"connect-src " + connect + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// ServeHTTP implements http.Handler for GET and HEAD under Path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == Path {
		to := Path + "/"
		if r.URL.RawQuery != "" {
			to += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, to, http.StatusMovedPermanently)
		return
	}
	rel := strings.TrimPrefix(r.URL.Path, Path+"/")
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	switch {
	case rel == "config.json":
		h.serveConfig(w, r)
	case strings.HasPrefix(rel, "assets/"):
		f, ok := h.files[rel]
		if !ok {
			http.NotFound(w, r)
			return
		}
		// The build names assets by their content: they never change.
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		serve(w, r, f)
	default:
		if f, ok := h.files[rel]; ok && !strings.Contains(rel, "/") {
			hd.Set("Cache-Control", "public, max-age=3600")
			serve(w, r, f)
			return
		}
		// index.html for the application's own routes (/console/devices/ID).
		hd.Set("Content-Security-Policy", h.csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-cache")
		serve(w, r, h.index)
	}
}

// serveConfig writes what the console needs before sign-in: its OAuth
// client id (a public value; null when this server has none to offer, and
// the console then takes it from its address, ?client_id=) and the scope.
func (h *Handler) serveConfig(w http.ResponseWriter, r *http.Request) {
	var id *string
	if h.clientID != nil {
		v, err := h.clientID(r.Context())
		if err != nil {
			h.log.ErrorContext(r.Context(), "console: finding its client id", "err", err)
		} else if v != "" {
			id = &v
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"clientId": id, "scope": Scope, "callbackPath": CallbackPath})
}

// serve writes f, revalidated by its ETag.
func serve(w http.ResponseWriter, r *http.Request, f file) {
	w.Header().Set("Content-Type", f.typ)
	w.Header().Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
