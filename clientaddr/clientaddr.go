// Package clientaddr tells the address of the client a request comes from:
// the peer of the connection, or, when that peer is a proxy the operator
// trusts, the address the proxies forwarded (X-Forwarded-For, or Forwarded
// of RFC 7239). The access log, the login throttle and the rate limits all
// read the address through Resolver.Addr, so they always agree on who the
// client is. It depends on the standard library only.
package clientaddr

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds a request's client address. The zero Resolver trusts no
// proxy: the address is always the connection's peer.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a resolver that trusts the proxies in the prefixes.
func New(trusted []netip.Prefix) *Resolver {
	r := &Resolver{}
	for _, p := range trusted {
		r.trusted = append(r.trusted, p.Masked())
	}
	return r
}

// ParsePrefixes reads a comma-separated list of CIDR prefixes
// ("10.0.0.0/8, 192.0.2.7/32, ::1/128"); a bare address counts as its
// own /32 or /128. Empty text is an empty list.
func ParsePrefixes(text string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(text, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR prefix", f)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix", f)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Trusts reports whether a is the address of a trusted proxy.
func (r *Resolver) Trusts(a netip.Addr) bool {
	if r == nil {
		return false
	}
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Addr returns the client address of req as text (an IPv4 or IPv6
// address, without port or zone).
//
// The connection's peer is the client unless it is a trusted proxy. Then
// the forwarding header is read: Forwarded when the request has one, else
// X-Forwarded-For, every field line of it in order. Each proxy appends the
// address it received the request from, so the list is walked from its
// right end, skipping trusted proxies; the first address that is not
// trusted is the client. An entry that is not an address (a typo, "unknown",
// an obfuscated identifier) stops the walk: the last trusted hop is the
// client, since what came before it cannot be vouched for. When every hop
// is trusted, the leftmost one is the client.
func (r *Resolver) Addr(req *http.Request) string {
	peer, ok := parseHost(req.RemoteAddr)
	if !ok {
		return req.RemoteAddr // not an IP connection (a test, a unix socket)
	}
	if r == nil || len(r.trusted) == 0 || !r.Trusts(peer) {
		return peer.String()
	}
	hops := forwarded(req.Header)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHost(hops[i])
		if !ok {
			break
		}
		client = a
		if !r.Trusts(a) {
			break
		}
	}
	return client.String()
}

// forwarded returns the addresses the proxies forwarded, leftmost (the
// farthest hop) first: the for= parameters of Forwarded when there is one,
// else the entries of X-Forwarded-For.
func forwarded(h http.Header) []string {
	var hops []string
	if lines := h.Values("Forwarded"); len(lines) > 0 {
		for _, line := range lines {
			for _, elem := range strings.Split(line, ",") {
				for _, pair := range strings.Split(elem, ";") {
					name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(strings.TrimSpace(name), "for") {
						hops = append(hops, strings.Trim(strings.TrimSpace(value), `"`))
					}
				}
			}
		}
		return hops
	}
	for _, line := range h.Values("X-Forwarded-For") {
		for _, entry := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(entry))
		}
	}
	return hops
}

// parseHost reads an address with or without a port: "192.0.2.7",
// "192.0.2.7:443", "2001:db8::1", "[2001:db8::1]:443", "[2001:db8::1]".
// IPv4-mapped IPv6 addresses become IPv4; zones are dropped.
func parseHost(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
