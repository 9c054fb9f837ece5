package resource

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Quota is a rate limit: at most Limit requests in any Window, as a
// generic cell rate algorithm (GCRA) counts them: a burst of Limit at once,
// then one more every Window/Limit. A Limit of 0 is no limit.
type Quota struct {
	Limit  int
	Window time.Duration
}

// Off reports whether the quota limits nothing.
func (q Quota) Off() bool { return q.Limit <= 0 || q.Window <= 0 }

// String writes the quota as ParseQuota reads it.
func (q Quota) String() string {
	if q.Off() {
		return "off"
	}
	return strconv.Itoa(q.Limit) + "/" + q.Window.String()
}

// interval is the time one request of the quota costs.
func (q Quota) interval() time.Duration { return max(time.Nanosecond, q.Window/time.Duration(q.Limit)) }

// ParseQuota reads "LIMIT/WINDOW" (600/1m, 20/10s) or "off". The window is
// a Go duration from 1s to 24h; the limit 1 to 1,000,000,000.
func ParseQuota(s string) (Quota, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Quota{}, nil
	}
	n, w, ok := strings.Cut(s, "/")
	limit, err := strconv.Atoi(n)
	if !ok || err != nil || limit < 1 || limit > 1_000_000_000 {
		return Quota{}, fmt.Errorf("%q is not LIMIT/WINDOW (e.g. 600/1m) or off", s)
	}
	window, err := time.ParseDuration(w)
	if err != nil || window < time.Second || window > 24*time.Hour {
		return Quota{}, fmt.Errorf("%q: the window must be a duration from 1s to 24h", s)
	}
	return Quota{Limit: limit, Window: window}, nil
}

// Names of the rate limits. The OAuth endpoints count each request per
// client address before anything else and, once the client is
// authenticated, per client; the APIs count per token (per token family,
// so that refreshing an access token does not start its quota afresh).
const (
	LimitTokenClient               = "token.client"
	LimitTokenAddr                 = "token.addr"
	LimitIntrospectClient          = "introspect.client"
	LimitIntrospectAddr            = "introspect.addr"
	LimitRevokeClient              = "revoke.client"
	LimitRevokeAddr                = "revoke.addr"
	LimitDeviceAuthorizationClient = "device_authorization.client"
	LimitDeviceAuthorizationAddr   = "device_authorization.addr"
	LimitJSONAPIToken              = "jsonapi.token"
	LimitGraphQLToken              = "graphql.token"
)

// DefaultQuotas are the quotas a deployment keeps unless it sets others.
// They are far above what a well-behaved client sends and far below what
// a flood does: a confidential client asks for a token when its previous
// one expires (hours), a resource server introspects each call it gets,
// an app's user makes a few API calls per screen.
func DefaultQuotas() map[string]Quota {
	m := time.Minute
	return map[string]Quota{
		LimitTokenClient: {600, m}, LimitTokenAddr: {1200, m},
		LimitIntrospectClient: {12000, m}, LimitIntrospectAddr: {12000, m},
		LimitRevokeClient: {300, m}, LimitRevokeAddr: {600, m},
		LimitDeviceAuthorizationClient: {60, m}, LimitDeviceAuthorizationAddr: {120, m},
		LimitJSONAPIToken: {1200, m}, LimitGraphQLToken: {600, m},
	}
}

// ParseQuotas reads a list of NAME=QUOTA separated by commas
// ("token.client=6000/1m, jsonapi.token=off") into a map; every name must
// be one of DefaultQuotas'.
func ParseQuotas(s string) (map[string]Quota, error) {
	known := DefaultQuotas()
	out := map[string]Quota{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, value, ok := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if _, isKnown := known[name]; !ok || !isKnown {
			return nil, fmt.Errorf("%q is not NAME=QUOTA with a NAME among %s", f, strings.Join(QuotaNames(), ", "))
		}
		q, err := ParseQuota(value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = q
	}
	return out, nil
}

// ParseClientQuotas reads the per-application overrides: entries
// separated by ';', each a client id, a space and a ParseQuotas list
// ("5f0c…e1 token.client=6000/1m,jsonapi.token=off; 9a…").
func ParseClientQuotas(s string) (map[string]map[string]Quota, error) {
	out := map[string]map[string]Quota{}
	for _, e := range strings.Split(s, ";") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		id, list, _ := strings.Cut(e, " ")
		if !ValidID(id) {
			return nil, fmt.Errorf("%q does not start with a client id", e)
		}
		qs, err := ParseQuotas(list)
		if err != nil {
			return nil, fmt.Errorf("client %s: %w", id, err)
		} else if len(qs) == 0 {
			return nil, fmt.Errorf("client %s: no quota given", id)
		}
		out[id] = qs
	}
	return out, nil
}

// QuotaNames returns the names of the rate limits, sorted.
func QuotaNames() []string {
	var names []string
	for n := range DefaultQuotas() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RateDecision is the outcome of counting one request on a quota.
type RateDecision struct {
	// Name is the rate limit's name (a RateLimit-Policy item).
	Name    string
	Quota   Quota
	Allowed bool
	// Remaining is how many more requests the quota allows now.
	Remaining int
	// Reset is how long until the quota is whole again.
	Reset time.Duration
	// RetryAfter, when refused, is how long until one request is allowed.
	RetryAfter time.Duration
}

// RateLimiter counts requests on quotas, each under a key.
type RateLimiter interface {
	// Take counts one request under key on q. An error means the count
	// could not be made (a store down); the decision is then meaningless.
	Take(ctx context.Context, key string, q Quota) (RateDecision, error)
}

// LimitEvent is one refusal by a rate limit, or one step of the login
// throttle, for metrics. Its fields are bounded values: names, never an
// address, account or client id.
type LimitEvent struct {
	// Kind is "rate_limited", or a login step: "login_delayed" (a pair of
	// account and address waits), "login_refused_addr" (an address past
	// its failures over every account), "account_locked" (an account
	// refuses strangers).
	Kind string
	// Limit is the rate limit's name, or the login counter's
	// (CounterLogin, CounterDeviceCode, "password").
	Limit string
}

// RateLimits applies the named quotas: the defaults, the operator's
// settings, and per-application overrides.
type RateLimits struct {
	Limiter RateLimiter
	// Quotas by name; a missing name is DefaultQuotas'.
	Quotas map[string]Quota
	// Clients overrides Quotas for the requests of one application (by
	// client id): its per-client quotas and its tokens' quotas.
	Clients map[string]map[string]Quota
	// Log receives a line per refusal; nil discards them.
	Log *slog.Logger
	// Observe, when set, is told of every refusal (metrics count them).
	Observe func(LimitEvent)
}

// Quota returns the quota of name for the client (an application's id,
// or "" for none).
func (l *RateLimits) Quota(name, clientID string) Quota {
	if o, ok := l.Clients[clientID]; ok && clientID != "" {
		if q, ok := o[name]; ok {
			return q
		}
	}
	if q, ok := l.Quotas[name]; ok {
		return q
	}
	return DefaultQuotas()[name]
}

// Take counts one request of subject (an address, a client id, a token
// family) on the quota name and returns the decision, or nil when the
// quota is off or l is nil. A refusal is also returned as an ERateLimited
// *Error carrying the decision. When the limiter cannot count, the request
// is let through: the limiter's own fallback (see the Redis limiter) and
// the request's other checks decide.
func (l *RateLimits) Take(ctx context.Context, name, subject, clientID string) (*RateDecision, error) {
	if l == nil || l.Limiter == nil {
		return nil, nil
	}
	q := l.Quota(name, clientID)
	if q.Off() {
		return nil, nil
	}
	d, err := l.Limiter.Take(ctx, name+":"+subject, q)
	if err != nil {
		return nil, nil
	}
	d.Name, d.Quota = name, q
	if d.Allowed {
		return &d, nil
	}
	if l.Log != nil {
		l.Log.WarnContext(ctx, "rate limit: request refused", "limit", name, "client_id", clientID,
			"retry_after_ms", d.RetryAfter.Milliseconds())
	}
	if l.Observe != nil {
		l.Observe(LimitEvent{Kind: "rate_limited", Limit: name})
	}
	return &d, &Error{Code: ERateLimited, Message: "Too many requests; try again later.", RetryAfter: d.RetryAfter,
		Limits: []RateDecision{d}}
}

// AddrSubject returns the subject a client address is counted under: the
// address itself for IPv4, its /64 network for IPv6 (one subscriber's
// share, which a client can walk through at will).
func AddrSubject(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Is4() || a.Is4In6() {
		return addr
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// RateHeaders returns the values of the RateLimit-Policy and RateLimit
// header fields (the IETF httpapi ratelimit-headers draft: a list of
// policy items, `"name";q=600;w=60` and `"name";r=42;t=17`) of the
// decisions, in order; nil decisions are skipped.
func RateHeaders(ds ...*RateDecision) (policy, state string) {
	var p, s []byte
	for _, d := range ds {
		if d == nil {
			continue
		}
		if len(p) > 0 {
			p, s = append(p, ", "...), append(s, ", "...)
		}
		p = append(p, '"')
		p = append(p, d.Name...)
		p = append(p, `";q=`...)
		p = strconv.AppendInt(p, int64(d.Quota.Limit), 10)
		p = append(p, ";w="...)
		p = strconv.AppendInt(p, int64(RetryAfterSeconds(d.Quota.Window)), 10)
		s = append(s, '"')
		s = append(s, d.Name...)
		s = append(s, `";r=`...)
		s = strconv.AppendInt(s, int64(max(0, d.Remaining)), 10)
		s = append(s, ";t="...)
		s = strconv.AppendInt(s, int64(max(0, int((d.Reset+time.Second-1)/time.Second))), 10)
	}
	return string(p), string(s)
}

// RateLimitedDecisions returns the decisions an ERateLimited error of a
// rate limit carries, or nil.
func RateLimitedDecisions(err error) []RateDecision {
	var e *Error
	if errors.As(err, &e) && e.Code == ERateLimited {
		return e.Limits
	}
	return nil
}

// MemoryRateLimiter is a RateLimiter in this process's memory: the limits
// of one replica. The zero value is not usable; use NewMemoryRateLimiter.
type MemoryRateLimiter struct {
	seed   maphash.Seed
	shards [64]gcraShard
	now    func() time.Time
}

type gcraShard struct {
	mu sync.Mutex
	// tat is each key's theoretical arrival time: a key is whole again
	// once the clock passes it, and then needs no entry.
	tat   map[string]time.Time
	swept time.Time
}

// maxShardKeys is how many keys a shard holds before it drops those whose
// quota is whole again.
const maxShardKeys = 4096

// NewMemoryRateLimiter returns an empty in-memory limiter; now nil is
// time.Now.
func NewMemoryRateLimiter(now func() time.Time) *MemoryRateLimiter {
	if now == nil {
		now = time.Now
	}
	m := &MemoryRateLimiter{seed: maphash.MakeSeed(), now: now}
	for i := range m.shards {
		m.shards[i].tat = map[string]time.Time{}
	}
	return m
}

// Take implements RateLimiter; it never fails.
func (m *MemoryRateLimiter) Take(_ context.Context, key string, q Quota) (RateDecision, error) {
	return m.TakeN(key, q, 1), nil
}

// TakeN counts n requests at once under key on q: all of them, or none.
func (m *MemoryRateLimiter) TakeN(key string, q Quota, n int) RateDecision {
	sh := &m.shards[maphash.String(m.seed, key)%uint64(len(m.shards))]
	now := m.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	tat, ok := sh.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	d := gcra(now, tat, q, n)
	if d.Allowed {
		tat = tat.Add(time.Duration(n) * q.interval())
		if !ok && len(sh.tat) >= maxShardKeys && now.Sub(sh.swept) > time.Second {
			for k, t := range sh.tat {
				if t.Before(now) {
					delete(sh.tat, k)
				}
			}
			sh.swept = now
		}
		sh.tat[key] = tat
	}
	return d
}

// gcra decides n requests at now for a key whose theoretical arrival time
// is tat (not before now).
func gcra(now, tat time.Time, q Quota, n int) RateDecision {
	t := q.interval()
	newTat := tat.Add(time.Duration(n) * t)
	allowAt := newTat.Add(-q.Window)
	if now.Before(allowAt) {
		used := tat.Sub(now)
		return RateDecision{Remaining: int((q.Window - used) / t), Reset: used, RetryAfter: allowAt.Sub(now)}
	}
	used := newTat.Sub(now)
	return RateDecision{Allowed: true, Remaining: int((q.Window - used) / t), Reset: used}
}
