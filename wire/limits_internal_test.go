package wire

import (
	"testing"

	"github.com/assetgate/assetgate/metrics"
	"github.com/assetgate/assetgate/resource"
)

// TestCountLimits: each refusal of a rate limit is counted under its
// protocol and limit, each throttling step of a login under its kind, a
// login failure is left to the login's own count, and every event still
// reaches the next observer.
func TestCountLimits(t *testing.T) {
	m := metrics.New(metrics.NewNameSet(10))
	var passed []resource.LimitEvent
	observe := countLimits(m, func(e resource.LimitEvent) { passed = append(passed, e) })
	events := []resource.LimitEvent{
		{Kind: "rate_limited", Limit: resource.LimitTokenAddr},
		{Kind: "rate_limited", Limit: resource.LimitJSONAPIToken},
		{Kind: "rate_limited", Limit: resource.LimitGraphQLToken},
		{Kind: "account_locked", Limit: resource.CounterLogin},
		{Kind: "login_failed", Limit: resource.CounterLogin},
	}
	for _, e := range events {
		observe(e)
	}
	if len(passed) != len(events) {
		t.Fatalf("the next observer saw %d events, want %d", len(passed), len(events))
	}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			key := f.GetName()
			for _, l := range s.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = s.GetCounter().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"assetgate_rate_limited_total limit=token.addr protocol=oauth": 1,
		"assetgate_rate_limited_total limit=token protocol=jsonapi":    1,
		"assetgate_rate_limited_total limit=token protocol=graphql":    1,
		"assetgate_login_throttled_total scope=account_locked":         1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	for key := range got {
		if key == "assetgate_login_throttled_total scope=login_failed" {
			t.Errorf("a login failure was counted as a throttling step")
		}
	}
}
