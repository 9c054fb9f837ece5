package metrics

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the server's HTTP metrics, named after the
// OpenTelemetry HTTP semantic conventions (http.server.request.duration,
// http.server.active_requests, http.server.request.body.size,
// http.server.response.body.size) in Prometheus' spelling.
type httpMetrics struct {
	duration, reqSize, respSize *prometheus.HistogramVec
	active                      *prometheus.GaugeVec
	activeBy                    [len(knownMethods) + 1]prometheus.Gauge

	mu       sync.RWMutex
	children map[routeKey]*routeObservers
}

// routeKey is one label set of the request histograms.
type routeKey struct {
	route  string
	method uint8 // index into knownMethods; len(knownMethods) is _OTHER
	status int
}

// routeObservers are the histogram children of one label set, resolved
// once: a request then costs a map look-up and three observations.
type routeObservers struct {
	duration, reqSize, respSize prometheus.Observer
}

// knownMethods are the methods that keep their name in
// http_request_method; any other is "_OTHER", as the conventions say.
var knownMethods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}

func methodIndex(m string) uint8 {
	for i, k := range knownMethods {
		if k == m {
			return uint8(i)
		}
	}
	return uint8(len(knownMethods))
}

func methodName(i uint8) string {
	if int(i) < len(knownMethods) {
		return knownMethods[i]
	}
	return "_OTHER"
}

// durationBuckets are the conventions' advised boundaries, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// sizeBuckets: 64 B to 4 MiB, by factors of four.
var sizeBuckets = prometheus.ExponentialBuckets(64, 4, 9)

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	labels := []string{"http_route", "http_request_method", "http_response_status_code"}
	h := &httpMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_server_request_duration_seconds",
			Help: "Duration of HTTP server requests, by route pattern, method and status code.", Buckets: durationBuckets}, labels),
		reqSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_server_request_body_size_bytes",
			Help: "Size of HTTP server request bodies (as declared by Content-Length, or as read).", Buckets: sizeBuckets}, labels),
		respSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_server_response_body_size_bytes",
			Help: "Size of HTTP server response bodies as written.", Buckets: sizeBuckets}, labels),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "http_server_active_requests",
			Help: "HTTP server requests in flight, by method."}, []string{"http_request_method"}),
		children: map[routeKey]*routeObservers{},
	}
	reg.MustRegister(h.duration, h.reqSize, h.respSize, h.active)
	for i := range h.activeBy {
		h.activeBy[i] = h.active.WithLabelValues(methodName(uint8(i)))
	}
	return h
}

// RouteOf returns the http_route of a net/http ServeMux pattern: the
// pattern without its method ("GET /api/v1/devices/{id}" is
// "/api/v1/devices/{id}"); a request no pattern matched has "".
func RouteOf(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// RequestStarted counts a request in flight; RequestDone ends it.
func (m *Metrics) RequestStarted(method string) {
	if m != nil {
		m.http.activeBy[methodIndex(method)].Inc()
	}
}

// RequestDone records a request that RequestStarted counted: pattern is
// the ServeMux pattern that served it (Request.Pattern after the mux
// returned), status the status written, reqBytes and respBytes the body
// sizes (reqBytes < 0 when unknown), d how long it took.
func (m *Metrics) RequestDone(pattern, method string, status int, reqBytes, respBytes int64, d time.Duration) {
	if m == nil {
		return
	}
	h := m.http
	mi := methodIndex(method)
	h.activeBy[mi].Dec()
	key := routeKey{route: RouteOf(pattern), method: mi, status: status}
	h.mu.RLock()
	o := h.children[key]
	h.mu.RUnlock()
	if o == nil {
		o = h.resolve(key)
	}
	o.duration.Observe(d.Seconds())
	if reqBytes >= 0 {
		o.reqSize.Observe(float64(reqBytes))
	}
	o.respSize.Observe(float64(respBytes))
}

// resolve makes the observers of a label set seen for the first time.
func (h *httpMetrics) resolve(key routeKey) *routeObservers {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o := h.children[key]; o != nil {
		return o
	}
	labels := prometheus.Labels{"http_route": key.route, "http_request_method": methodName(key.method),
		"http_response_status_code": strconv.Itoa(key.status)}
	o := &routeObservers{duration: h.duration.With(labels), reqSize: h.reqSize.With(labels), respSize: h.respSize.With(labels)}
	h.children[key] = o
	return o
}
