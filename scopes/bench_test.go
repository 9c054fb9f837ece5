package scopes

import "testing"

func BenchmarkAllowed(b *testing.B) {
	principals := []*Principal{
		{Kind: KindUser, CustomerID: "c", UserID: "u", Scopes: []string{Me}},
		{Kind: KindApplication, CustomerID: "c", ClientID: "a", Scopes: []string{App, Basic}},
		{Kind: KindDevice, CustomerID: "c", DeviceID: "d", Permissions: []string{DeviceRead, EventsRead}},
	}
	rules := Table()
	for b.Loop() {
		for _, p := range principals {
			for _, r := range rules {
				_ = Allowed(p, r.Op)
			}
		}
	}
}
