package clientaddr

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestAddr(t *testing.T) {
	trusted, err := ParsePrefixes("127.0.0.1/32, 10.0.0.0/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	r := New(trusted)
	cases := []struct {
		name, remote string
		header       http.Header
		want         string
	}{
		{"untrusted peer: headers ignored", "192.0.2.9:5000", http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "192.0.2.9"},
		{"trusted peer without header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"trusted peer, one hop", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"spoofed left entries skipped", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.66, 198.51.100.1, 10.1.2.3"}}, "198.51.100.1"},
		{"several field lines", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.66", "198.51.100.1,10.1.2.3"}}, "198.51.100.1"},
		{"every hop trusted: leftmost", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"10.9.9.9, 10.1.2.3"}}, "10.9.9.9"},
		{"garbage stops at last trusted hop", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"198.51.100.1, nonsense, 10.1.2.3"}}, "10.1.2.3"},
		{"entry with port", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"198.51.100.1:4711"}}, "198.51.100.1"},
		{"ipv6 entry", "[::1]:5000", http.Header{"X-Forwarded-For": {"2001:db8::7"}}, "2001:db8::7"},
		{"forwarded wins over xff", "127.0.0.1:5000", http.Header{
			"Forwarded":       {`for=198.51.100.1;proto=https, for="[2001:db8:cafe::17]:4711"`},
			"X-Forwarded-For": {"203.0.113.1"}}, "2001:db8:cafe::17"},
		{"forwarded obfuscated stops", "127.0.0.1:5000", http.Header{"Forwarded": {`for=_hidden, for=10.0.0.5`}}, "10.0.0.5"},
		{"forwarded unknown from peer", "127.0.0.1:5000", http.Header{"Forwarded": {`for=unknown`}}, "127.0.0.1"},
		{"ipv4-mapped peer", "[::ffff:127.0.0.1]:5000", http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"not an ip peer", "pipe", http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "pipe"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := &http.Request{RemoteAddr: c.remote, Header: c.header}
			if req.Header == nil {
				req.Header = http.Header{}
			}
			if got := r.Addr(req); got != c.want {
				t.Fatalf("Addr = %q, want %q", got, c.want)
			}
		})
	}
}

func TestZeroResolverTrustsNothing(t *testing.T) {
	req := &http.Request{RemoteAddr: "127.0.0.1:1", Header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}
	var r *Resolver
	if got := r.Addr(req); got != "127.0.0.1" {
		t.Fatalf("nil resolver: %q", got)
	}
	if got := New(nil).Addr(req); got != "127.0.0.1" {
		t.Fatalf("empty resolver: %q", got)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes(" 192.0.2.0/24 ,2001:db8::/32,,198.51.100.7, ::ffff:10.0.0.0/104")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("10.0.0.0/8")}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "nonsense", "10.0.0/8"} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
