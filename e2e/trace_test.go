package e2e

import (
	"github.com/assetgate/assetgate/internal/testsupport"

	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/assetgate/assetgate/resource"
)

// otlpReceiver is an in-process OTLP/HTTP trace endpoint: it decodes every
// ExportTraceServiceRequest posted to /v1/traces and keeps the spans.
type otlpReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	spans    []*tracepb.Span
	services map[string]bool
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{services: map[string]bool{}}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.Error(w, "not here", http.StatusNotFound)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, _ := io.ReadAll(body)
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &req); err != nil {
			t.Errorf("OTLP receiver: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					rcv.services[kv.GetValue().GetStringValue()] = true
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				rcv.spans = append(rcv.spans, ss.GetSpans()...)
			}
		}
		rcv.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

// waitSpan waits for a span of the given name whose attribute key has
// value (key "" matches any) and returns it.
func (rcv *otlpReceiver) waitSpan(t *testing.T, name, key, value string) *tracepb.Span {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rcv.mu.Lock()
		for _, s := range rcv.spans {
			if s.GetName() == name && (key == "" || attr(s, key) == value) {
				rcv.mu.Unlock()
				return s
			}
		}
		rcv.mu.Unlock()
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("no span %q (%s=%s) within 10s; got %v", name, key, value, rcv.names())
	return nil
}

// children returns the spans whose parent is p (waiting a moment for
// batches still on their way).
func (rcv *otlpReceiver) children(p *tracepb.Span) []*tracepb.Span {
	time.Sleep(100 * time.Millisecond)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range rcv.spans {
		if bytes.Equal(s.GetParentSpanId(), p.GetSpanId()) && bytes.Equal(s.GetTraceId(), p.GetTraceId()) {
			out = append(out, s)
		}
	}
	return out
}

func (rcv *otlpReceiver) names() []string {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var out []string
	for _, s := range rcv.spans {
		out = append(out, s.GetName())
	}
	return out
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// childNamed returns the child of p with the name, failing the test
// without one.
func childNamed(t *testing.T, rcv *otlpReceiver, p *tracepb.Span, pred func(*tracepb.Span) bool, what string) *tracepb.Span {
	t.Helper()
	for range 40 {
		for _, c := range rcv.children(p) {
			if pred(c) {
				return c
			}
		}
	}
	var names []string
	for _, c := range rcv.children(p) {
		names = append(names, c.GetName())
	}
	t.Fatalf("span %q has no child %s; its children: %v", p.GetName(), what, names)
	return nil
}

func isSQL(s *tracepb.Span) bool {
	return s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && attr(s, "db.query.text") != ""
}

// TestTracesEndToEnd runs `assetgate serve` exporting to an in-process
// OTLP receiver and checks the span trees of one JSON:API request (server
// span named after the route → SQL statements, and the Redis token look-up
// with Redis) and one GraphQL request (server span → operation → root
// field → SQL); that the trace id is in the request's access log line;
// and that a caller's traceparent is ignored unless
// ASSETGATE_TRUST_TRACE_HEADERS=true.
func TestTracesEndToEnd(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			rcv := newOTLPReceiver(t)
			env := mkenv(t).With("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL, "OTEL_SERVICE_NAME", "assetgate-test",
				"OTEL_TRACES_SAMPLER", "always_on", "OTEL_BSP_SCHEDULE_DELAY", "50", "ASSETGATE_LOG_LEVEL", "info")
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			tn := newAPITenant(t, env, c, "Traces")
			withRedis := env.Get("ASSETGATE_REDIS_URL") != ""
			// A caller's trace context, which this server must not adopt.
			const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
			const traceparent = "00-" + callerTrace + "-00f067aa0ba902b7-01"

			t.Run("jsonapi", func(t *testing.T) {
				reqID := "trace-" + resource.NewID()
				req, _ := http.NewRequest("GET", ts.URL+"/api/v1/devices/"+tn.deviceID, nil)
				req.Header.Set("Authorization", "Bearer "+tn.me)
				req.Header.Set("Accept", "application/vnd.api+json")
				req.Header.Set("X-Request-Id", reqID)
				req.Header.Set("Traceparent", traceparent)
				if status, body := doRequest(t, req); status != http.StatusOK {
					t.Fatalf("GET device = %d: %s", status, body)
				}
				root := rcv.waitSpan(t, "GET /api/v1/devices/{id}", "url.path", "/api/v1/devices/"+tn.deviceID)
				if root.GetKind() != tracepb.Span_SPAN_KIND_SERVER || len(root.GetParentSpanId()) != 0 {
					t.Fatalf("server span kind %v parent %x, want a server root", root.GetKind(), root.GetParentSpanId())
				}
				if hex.EncodeToString(root.GetTraceId()) == callerTrace {
					t.Fatal("the caller's traceparent was adopted without ASSETGATE_TRUST_TRACE_HEADERS")
				}
				if attr(root, "http.route") != "/api/v1/devices/{id}" {
					t.Fatalf("http.route %q", attr(root, "http.route"))
				}
				childNamed(t, rcv, root, isSQL, "SQL statement")
				if withRedis {
					childNamed(t, rcv, root, func(s *tracepb.Span) bool { return strings.HasPrefix(s.GetName(), "redis ") }, "Redis command")
				}
				line := accessLine(t, ts, reqID)
				if line["trace_id"] != hex.EncodeToString(root.GetTraceId()) {
					t.Fatalf("access line trace_id %v, span trace %x", line["trace_id"], root.GetTraceId())
				}
			})

			t.Run("graphql", func(t *testing.T) {
				gql(t, ts.URL, tn.me, `query TraceDevices { devices(first: 5) { edges { node { id name } } } }`, nil).ok(t)
				var root *tracepb.Span
				for range 100 {
					for _, s := range rcv.snapshot() {
						if s.GetName() == "POST /graphql" {
							for _, ch := range rcv.children(s) {
								if ch.GetName() == "query TraceDevices" {
									root = s
								}
							}
						}
					}
					if root != nil {
						break
					}
					time.Sleep(25 * time.Millisecond)
				}
				if root == nil {
					t.Fatalf("no POST /graphql span with a child 'query TraceDevices'; spans: %v", rcv.names())
				}
				op := childNamed(t, rcv, root, func(s *tracepb.Span) bool { return s.GetName() == "query TraceDevices" }, "query TraceDevices")
				field := childNamed(t, rcv, op, func(s *tracepb.Span) bool { return s.GetName() == "Query.devices" }, "Query.devices")
				childNamed(t, rcv, field, isSQL, "SQL statement")
			})

			rcv.mu.Lock()
			service := rcv.services["assetgate-test"]
			rcv.mu.Unlock()
			if !service {
				t.Errorf("no spans of service.name assetgate-test (OTEL_SERVICE_NAME)")
			}
		})
	}

	t.Run("trusted trace headers", func(t *testing.T) {
		rcv := newOTLPReceiver(t)
		ts := startServer(t, testsupport.SQLiteEnv(t).With("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL, "OTEL_BSP_SCHEDULE_DELAY", "50",
			"ASSETGATE_TRUST_TRACE_HEADERS", "true"))
		req, _ := http.NewRequest("GET", ts.URL+"/readyz", nil)
		req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		doRequest(t, req)
		s := rcv.waitSpan(t, "GET /readyz", "", "")
		if hex.EncodeToString(s.GetTraceId()) != "4bf92f3577b34da6a3ce929d0e0e4736" || hex.EncodeToString(s.GetParentSpanId()) != "00f067aa0ba902b7" {
			t.Fatalf("span trace %x parent %x: the trusted traceparent was not followed", s.GetTraceId(), s.GetParentSpanId())
		}
	})

	t.Run("bad sampler", func(t *testing.T) {
		r := runCLI(t, testsupport.SQLiteEnv(t).With("OTEL_TRACES_SAMPLER", "sometimes"), "", "serve")
		if r.code != 2 || !strings.Contains(r.stderr, "OTEL_TRACES_SAMPLER") {
			t.Fatalf("serve with a bad sampler: code %d, stderr %s", r.code, r.stderr)
		}
	})
}

func (rcv *otlpReceiver) snapshot() []*tracepb.Span {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]*tracepb.Span(nil), rcv.spans...)
}

// accessLine returns the access log line of the request id, waiting for it.
func accessLine(t *testing.T, ts *testServer, reqID string) map[string]any {
	t.Helper()
	for range 100 {
		sc := bufio.NewScanner(strings.NewReader(ts.stderr.String()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "request" && m["request_id"] == reqID {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no access line for request %s", reqID)
	return nil
}
