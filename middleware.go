package main

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer (flushing
// for event streams, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs one line per request at debug level (warn for 5xx). It
// logs the path only: query strings may carry secrets and are never logged.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		level := slog.LevelDebug
		if rec.status >= 500 {
			level = slog.LevelWarn
		}
		log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", time.Since(start).Milliseconds())
	})
}

// hstsPolicy is the Strict-Transport-Security of an https issuer: two years
// (the value the HSTS preload list asks for), the issuer host's subdomains
// included. preload is left out: entering the browsers' preload list is the
// operator's decision for the whole domain.
const hstsPolicy = "max-age=63072000; includeSubDomains"

// strictTransport sets Strict-Transport-Security on every response when the
// issuer is https (RFC 6797), so that a browser that once reached the
// service never again sends a login form or a token over plain http. The
// issuer decides, not the request: behind a TLS-terminating proxy the
// request arrives over http. With an http issuer (local development) it
// returns next unchanged.
func strictTransport(issuer string, next http.Handler) http.Handler {
	if !strings.HasPrefix(issuer, "https://") {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", hstsPolicy)
		next.ServeHTTP(w, r)
	})
}
