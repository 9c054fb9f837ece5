package oauth

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

//go:embed templates/pages.html templates/style.css
var templateFS embed.FS

// pageCSS is the style sheet of every page, inlined and allowed by its hash
// in the Content-Security-Policy.
func pageCSS() string {
	b, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	return string(b)
}

func parsePages() *template.Template {
	return template.Must(template.ParseFS(templateFS, "templates/pages.html"))
}

// pageCSP returns the Content-Security-Policy of the pages: nothing but the
// inline style sheet, and never in a frame (clickjacking).
func pageCSP() string {
	sum := sha256.Sum256([]byte(pageCSS()))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"base-uri 'none'; frame-ancestors 'none'"
}

// hiddenField is one hidden input of a page's form.
type hiddenField struct{ Name, Value string }

// pageData is what the templates show.
type pageData struct {
	Title     string
	CSS       template.CSS
	AppName   string
	Action    string
	CSRF      string
	Params    []hiddenField
	Email     string
	UserEmail string
	Scopes    []string
	Error     string
	// Code is the OAuth error code an error page names, if any.
	Code string
}

// scopeText says in words what a scope lets an application do.
var scopeText = map[string]string{
	resource.ScopeMe:      "act on your behalf: read and change your account, applications, devices and events",
	resource.ScopeApp:     "read and change your customer's devices and events",
	resource.ScopeBasic:   "read your customer's devices and events",
	resource.ScopeOpenID:  "sign you in and know your account id",
	resource.ScopeProfile: "see your user name",
	resource.ScopeEmail:   "see your e-mail address",
}

// setPageHeaders sets the security headers of every page and redirect of
// the authorization endpoint.
func (s *Server) setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// render writes the page name with status.
func (s *Server) render(w http.ResponseWriter, status int, name string, d *pageData) {
	d.CSS = s.css
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, d); err != nil {
		s.log.Error("oauth: render page", "page", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	s.setPageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// unstorableMessage is the error page of a form or query string that holds
// NUL characters or invalid UTF-8 (see storableParams).
const unstorableMessage = "The form holds characters that cannot be used. Go back and type it again."

// renderError shows an error page.
func (s *Server) renderError(w http.ResponseWriter, status int, message string) {
	title := "Something went wrong"
	switch status {
	case http.StatusBadRequest:
		title = "Invalid request"
	case http.StatusForbidden:
		title = "Request refused"
	case http.StatusTooManyRequests:
		title = "Too many attempts"
	case http.StatusServiceUnavailable:
		title = "Temporarily unavailable"
	}
	s.render(w, status, "error", &pageData{Title: title, Error: message})
}

// renderOAuthError shows an OAuth error of an authorization request on an
// error page (400), with its code and description, instead of redirecting.
func (s *Server) renderOAuthError(w http.ResponseWriter, e *Error) {
	s.render(w, http.StatusBadRequest, "error", &pageData{Title: "Invalid request", Error: e.Description, Code: e.Code})
}

// renderFailure shows the error page of a request that failed on the
// server's side: 503 with Retry-After for temporarily_unavailable (a store
// did not answer in time), 500 for anything else.
func (s *Server) renderFailure(w http.ResponseWriter, e *Error) {
	if e.Code == CodeTemporarilyUnavailable {
		w.Header().Set("Retry-After", e.header().Get("Retry-After"))
		s.renderError(w, http.StatusServiceUnavailable, "The service is temporarily unavailable. Try again in a moment.")
		return
	}
	s.renderError(w, http.StatusInternalServerError, "The server could not handle the request.")
}

// formData returns the page data of a form for an authorization request.
func formData(title, action string, ar *authRequest, sess *session) *pageData {
	d := &pageData{Title: title, Action: action, AppName: ar.app.Name, CSRF: sess.CSRF}
	for _, k := range authParams {
		if v := ar.params.Get(k); v != "" {
			d.Params = append(d.Params, hiddenField{k, v})
		}
	}
	for _, sc := range strings.Fields(ar.scope) {
		d.Scopes = append(d.Scopes, scopeText[sc])
	}
	return d
}
