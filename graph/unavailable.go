package graph

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// A GraphQL response usually has status 200 whatever its errors. One whose
// errors include UNAVAILABLE (a store did not answer in time) is answered
// 503 with Retry-After instead, as the JSON:API and OAuth endpoints answer
// the same failure, so that clients and proxies know to try again later;
// its body is the GraphQL response all the same, with any data the other
// fields resolved.

// unavailableKey is the context key of a request's *atomic.Bool that the
// error presenter sets when it presents an UNAVAILABLE error.
type unavailableKey struct{}

// withUnavailable returns ctx carrying flag.
func withUnavailable(ctx context.Context, flag *atomic.Bool) context.Context {
	return context.WithValue(ctx, unavailableKey{}, flag)
}

// markUnavailable records in ctx's request that its response is a 503.
func markUnavailable(ctx context.Context) {
	if flag, ok := ctx.Value(unavailableKey{}).(*atomic.Bool); ok {
		flag.Store(true)
	}
}

// setRetryAfter sets the Retry-After header of an UNAVAILABLE response.
func setRetryAfter(h http.Header) {
	h.Set("Retry-After", strconv.Itoa(int(resource.UnavailableRetryAfter/time.Second)))
}

// unavailableWriter turns the status 200 of a response marked unavailable
// into 503 with Retry-After. gqlgen presents a response's errors before it
// writes any of it, so the mark is known by then.
type unavailableWriter struct {
	http.ResponseWriter
	unavailable *atomic.Bool
	wrote       bool
}

// WriteHeader implements http.ResponseWriter.
func (w *unavailableWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if code == http.StatusOK && w.unavailable.Load() {
			setRetryAfter(w.Header())
			code = http.StatusServiceUnavailable
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *unavailableWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *unavailableWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
