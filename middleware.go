package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/assetgate/assetgate/metrics"
	"github.com/assetgate/assetgate/tracing"
)

// statusRecorder remembers the status code a handler wrote and counts the
// bytes of the body.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flushing
// for event streams, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// requestIDHeader carries a request's id, from the client or made here.
const requestIDHeader = "X-Request-Id"

// requestID returns the client's X-Request-Id when it is a sane one (1 to
// 64 letters, digits, '-', '_', '.'), so that a client's traces join the
// server's log, and a new random id otherwise.
func requestID(r *http.Request) string {
	id := r.Header.Get(requestIDHeader)
	ok := len(id) > 0 && len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if ok {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// logRequests is the access log: one line per request at info (warn for
// 5xx) with the method, the route pattern that served it, the path, the
// status, the duration, the bytes written, the client's address (as
// clientAddr tells it, see package clientaddr) and the
// request id, which the response carries in X-Request-Id. Query strings
// and headers are never logged: they may carry tokens.
// ASSETGATE_LOG_LEVEL=warn silences it. next must be the ServeMux itself,
// so that the request's Pattern is known when it returns.
//
// It also records the HTTP metrics of m (see package metrics): requests in
// flight, and per route pattern, method and status the duration and the
// body sizes (the request's as its Content-Length declares it).
//
// With tr (nil is off) it makes the request's server span, named after the
// route pattern, and the access line (with every line logged with the
// request's context) carries its trace id.
func logRequests(log *slog.Logger, clientAddr func(*http.Request) string, m *metrics.Metrics, tr *tracing.Tracing, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		w.Header().Set(requestIDHeader, id)
		rec := &statusRecorder{ResponseWriter: w}
		m.RequestStarted(r.Method)
		var span trace.Span
		if tr != nil {
			var ctx context.Context
			ctx, span = tr.StartRequest(r)
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		m.RequestDone(r.Pattern, r.Method, rec.status, r.ContentLength, rec.bytes, time.Since(start))
		if span != nil {
			tracing.EndRequest(span, r.Method, metrics.RouteOf(r.Pattern), rec.status)
		}
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelWarn
		}
		if !log.Enabled(r.Context(), level) {
			return
		}
		addr := clientAddr(r)
		log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method), slog.String("route", r.Pattern), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Int64("duration_ms", time.Since(start).Milliseconds()),
			slog.Int64("bytes", rec.bytes), slog.String("client_address", addr), slog.String("request_id", id))
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
