package resource

import (
	"context"
	"testing"
	"time"
)

func TestParseQuota(t *testing.T) {
	for in, want := range map[string]Quota{"600/1m": {600, time.Minute}, " 5/10s ": {5, 10 * time.Second}, "off": {}} {
		got, err := ParseQuota(in)
		if err != nil || got != want {
			t.Errorf("ParseQuota(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "600", "0/1m", "-1/1m", "5/1ms", "5/48h", "five/1m", "5/soon"} {
		if _, err := ParseQuota(bad); err == nil {
			t.Errorf("ParseQuota(%q) accepted", bad)
		}
	}
	qs, err := ParseQuotas("token.client=6000/1m, jsonapi.token=off")
	if err != nil || qs[LimitTokenClient] != (Quota{6000, time.Minute}) || !qs[LimitJSONAPIToken].Off() || len(qs) != 2 {
		t.Fatalf("ParseQuotas = %v, %v", qs, err)
	}
	if _, err := ParseQuotas("tokens=5/1m"); err == nil {
		t.Fatal("unknown name accepted")
	}
	id := NewID()
	cs, err := ParseClientQuotas(id + " token.client=1/1m,revoke.client=2/1m; " + NewID() + " graphql.token=off")
	if err != nil || len(cs) != 2 || cs[id][LimitRevokeClient] != (Quota{2, time.Minute}) {
		t.Fatalf("ParseClientQuotas = %v, %v", cs, err)
	}
}

func TestMemoryRateLimiterGCRA(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := NewMemoryRateLimiter(func() time.Time { return now })
	q := Quota{Limit: 3, Window: time.Minute}
	for i := range 3 {
		d, _ := m.Take(context.Background(), "k", q)
		if !d.Allowed || d.Remaining != 2-i {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d, _ := m.Take(context.Background(), "k", q)
	if d.Allowed || d.RetryAfter != 20*time.Second || d.Remaining != 0 || d.Reset != time.Minute {
		t.Fatalf("past the burst: %+v", d)
	}
	if d, _ := m.Take(context.Background(), "other", q); !d.Allowed {
		t.Fatalf("another key refused: %+v", d)
	}
	now = now.Add(20 * time.Second) // one request's worth back
	if d, _ := m.Take(context.Background(), "k", q); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after 20s: %+v", d)
	}
	if d, _ := m.Take(context.Background(), "k", q); d.Allowed {
		t.Fatalf("second after 20s allowed: %+v", d)
	}
	now = now.Add(time.Hour)
	if d, _ := m.Take(context.Background(), "k", q); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after an hour: %+v", d)
	}
}

func TestRateLimitsOverridesAndHeaders(t *testing.T) {
	app := NewID()
	var events []LimitEvent
	l := &RateLimits{Limiter: NewMemoryRateLimiter(nil),
		Quotas:  map[string]Quota{LimitTokenClient: {2, time.Minute}, LimitRevokeClient: {}},
		Clients: map[string]map[string]Quota{app: {LimitTokenClient: {4, time.Minute}}},
		Observe: func(e LimitEvent) { events = append(events, e) }}
	allowed := func(client string) int {
		n := 0
		for range 10 {
			if _, err := l.Take(context.Background(), LimitTokenClient, client, client); err == nil {
				n++
			} else if ErrorCode(err) != ERateLimited || ErrorRetryAfter(err) <= 0 || len(RateLimitedDecisions(err)) != 1 {
				t.Fatalf("refusal %v", err)
			}
		}
		return n
	}
	if n := allowed(NewID()); n != 2 {
		t.Fatalf("default client: %d allowed, want 2", n)
	}
	if n := allowed(app); n != 4 {
		t.Fatalf("overridden client: %d allowed, want 4", n)
	}
	if len(events) != 14 || events[0] != (LimitEvent{Kind: "rate_limited", Limit: LimitTokenClient}) {
		t.Fatalf("events %v", events)
	}
	if d, err := l.Take(context.Background(), LimitRevokeClient, "x", ""); d != nil || err != nil {
		t.Fatalf("quota off: %v, %v", d, err)
	}
	if d, err := (*RateLimits)(nil).Take(context.Background(), LimitTokenClient, "x", ""); d != nil || err != nil {
		t.Fatalf("nil limits: %v, %v", d, err)
	}
	policy, state := RateHeaders(
		&RateDecision{Name: "token.addr", Quota: Quota{1200, time.Minute}, Remaining: 1199, Reset: 50 * time.Millisecond},
		nil,
		&RateDecision{Name: "token.client", Quota: Quota{600, time.Minute}, Remaining: 0, Reset: 59500 * time.Millisecond})
	if policy != `"token.addr";q=1200;w=60, "token.client";q=600;w=60` || state != `"token.addr";r=1199;t=1, "token.client";r=0;t=60` {
		t.Fatalf("headers %q / %q", policy, state)
	}
}

func TestAddrSubject(t *testing.T) {
	for in, want := range map[string]string{"192.0.2.7": "192.0.2.7", "2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "pipe": "pipe"} {
		if got := AddrSubject(in); got != want {
			t.Errorf("AddrSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkRateLimitsTake is what a request pays for one quota counted in
// memory, with the headers it answers: the per-token limit of an API
// request, or one of the two quotas of an OAuth request.
func BenchmarkRateLimitsTake(b *testing.B) {
	l := &RateLimits{Limiter: NewMemoryRateLimiter(nil), Quotas: map[string]Quota{LimitJSONAPIToken: {1_000_000_000, time.Minute}}}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d, err := l.Take(ctx, LimitJSONAPIToken, "family-id-of-the-token", "client")
			if err != nil {
				b.Fatal(err)
			}
			_, _ = RateHeaders(d)
		}
	})
}
