package oauth

import "net/http"

// StatusPage writes a small page in the style of the authorization
// server's pages, with their security headers (see SetPageHeaders): a
// title and a message, for answers outside OAuth such as a path no route
// serves.
func (s *Server) StatusPage(w http.ResponseWriter, status int, title, message string) {
	s.render(w, status, "status", &pageData{Title: title, Error: message})
}

// SetPageHeaders sets on w the security headers of the authorization
// server's pages (Content-Security-Policy, X-Frame-Options,
// X-Content-Type-Options, Referrer-Policy, Cache-Control: no-store), for
// answers that go along with them without being pages.
func (s *Server) SetPageHeaders(w http.ResponseWriter) { s.setPageHeaders(w) }
