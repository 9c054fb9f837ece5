package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func TestRouteOf(t *testing.T) {
	for pattern, want := range map[string]string{
		"GET /api/v1/devices/{id}": "/api/v1/devices/{id}",
		"/api/v1/":                 "/api/v1/",
		"POST /oauth/token":        "/oauth/token",
		"":                         "",
	} {
		if got := RouteOf(pattern); got != want {
			t.Errorf("RouteOf(%q) = %q, want %q", pattern, got, want)
		}
	}
}

// TestNameSetBounds: a learning set keeps its first max names and calls
// the rest "other"; a fixed set knows only its names; names that are not
// GraphQL names never become label values.
func TestNameSetBounds(t *testing.T) {
	s := NewNameSet(3)
	for i := range 3 {
		if got := s.Label(fmt.Sprintf("Op%d", i)); got != fmt.Sprintf("Op%d", i) {
			t.Fatalf("Label(Op%d) = %q", i, got)
		}
	}
	if got := s.Label("Op3"); got != "other" {
		t.Fatalf("fourth name = %q, want other", got)
	}
	if got := s.Label("Op1"); got != "Op1" {
		t.Fatalf("known name = %q", got)
	}
	for _, bad := range []string{"agat_secret-token", strings.Repeat("a", 65), "1abc", "other", "a b"} {
		if got := NewNameSet(10).Label(bad); got != "other" {
			t.Errorf("Label(%q) = %q, want other", bad, got)
		}
	}
	if got := s.Label(""); got != "anonymous" {
		t.Fatalf("empty name = %q", got)
	}
	f := FixedNameSet("Trusted")
	if f.Label("Trusted") != "Trusted" || f.Label("Unknown") != "other" {
		t.Fatalf("fixed set: %q %q", f.Label("Trusted"), f.Label("Unknown"))
	}
}

// TestBoundedLabels: values that come from outside are kept to known sets.
func TestBoundedLabels(t *testing.T) {
	m := New(nil)
	m.TokenIssued("urn:evil:"+strings.Repeat("x", 100), false)
	m.DevicePolled("made_up")
	m.JSONAPIError("not a code!")
	m.Revoked("bogus")
	m.RequestStarted("BREW")
	m.RequestDone("GET /x", "BREW", 418, 0, 0, time.Millisecond)
	for fam, want := range map[string]string{
		"assetgate_oauth_tokens_issued_total": "other",
		"assetgate_oauth_device_polls_total":  "other",
		"assetgate_jsonapi_errors_total":      "other",
		"assetgate_oauth_revocations_total":   "none",
	} {
		mfs, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range mfs {
			if mf.GetName() != fam {
				continue
			}
			for _, mm := range mf.GetMetric() {
				for _, l := range mm.GetLabel() {
					if l.GetValue() == want {
						found = true
					}
				}
			}
		}
		if !found {
			t.Errorf("%s has no %q label", fam, want)
		}
	}
	var g dto.Metric
	if err := m.http.active.WithLabelValues("_OTHER").Write(&g); err != nil {
		t.Fatal(err)
	}
	if n := g.GetGauge().GetValue(); n != 0 {
		t.Errorf("active _OTHER = %v after the request ended", n)
	}
}

// TestNilMetrics: every method is a no-op on nil.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.TokenIssued("password", true)
	m.RequestStarted("GET")
	m.RequestDone("GET /", "GET", 200, 1, 1, time.Millisecond)
	m.StreamOpened(TransportSSE)()
	m.WebSocketOpened()()
	m.GraphQLOperation("x", "")
	m.LoginThrottled("account")
	m.RateLimited("oauth", "client")
}

// TestRequestDoneAllocations: recording a request of a label set seen
// before allocates nothing.
func TestRequestDoneAllocations(t *testing.T) {
	m := New(nil)
	m.RequestDone("GET /api/v1/devices/{id}", "GET", 200, 0, 512, time.Millisecond)
	allocs := testing.AllocsPerRun(1000, func() {
		m.RequestStarted("GET")
		m.RequestDone("GET /api/v1/devices/{id}", "GET", 200, 0, 512, time.Millisecond)
	})
	if allocs != 0 {
		t.Fatalf("RequestStarted+RequestDone allocate %v times per request, want 0", allocs)
	}
}

func BenchmarkRequestDone(b *testing.B) {
	m := New(nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.RequestStarted("POST")
			m.RequestDone("POST /oauth/token", "POST", 200, 64, 300, time.Millisecond)
		}
	})
}
