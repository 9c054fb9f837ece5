package oauth

import (
	"net/http"

	"github.com/assetgate/assetgate/resource"
)

// endpointLimits names the two rate limits of an endpoint: per client
// address, counted first, before anything of the request is read, and per
// client, counted once the client is authenticated (so that nobody can
// spend another client's quota by naming it).
type endpointLimits struct{ addr, client string }

var (
	tokenLimits               = endpointLimits{resource.LimitTokenAddr, resource.LimitTokenClient}
	introspectLimits          = endpointLimits{resource.LimitIntrospectAddr, resource.LimitIntrospectClient}
	revokeLimits              = endpointLimits{resource.LimitRevokeAddr, resource.LimitRevokeClient}
	deviceAuthorizationLimits = endpointLimits{resource.LimitDeviceAuthorizationAddr, resource.LimitDeviceAuthorizationClient}
)

// errRateLimited is the error of a request past a rate limit: RFC 6749
// has no code for it, so it is temporarily_unavailable (the code clients
// already treat as "retry later") with HTTP 429 and Retry-After.
func errRateLimited(err error) *Error {
	e := newError(CodeTemporarilyUnavailable, "Too many requests; try again later.")
	e.Status, e.RetryAfter = http.StatusTooManyRequests, resource.ErrorRetryAfter(err)
	return e
}

// limitAddr counts the request on the endpoint's per-address quota. Past
// it, it answers 429 and returns ok false; otherwise it returns the
// decision (nil when the quota is off), for limitClient.
func (s *Server) limitAddr(w http.ResponseWriter, r *http.Request, el endpointLimits) (addr *resource.RateDecision, ok bool) {
	d, err := s.limits.Take(r.Context(), el.addr, resource.AddrSubject(s.clientAddr(r)), "")
	if err != nil {
		setRateHeaders(w, d)
		s.writeError(w, errRateLimited(err))
		return nil, false
	}
	setRateHeaders(w, d)
	return d, true
}

// limitClient counts the request of the authenticated client app on the
// endpoint's per-client quota (the application's own, when the operator
// gave it one). Past it, it answers 429 and returns false.
func (s *Server) limitClient(w http.ResponseWriter, r *http.Request, el endpointLimits, addr *resource.RateDecision, clientID string) bool {
	d, err := s.limits.Take(r.Context(), el.client, clientID, clientID)
	setRateHeaders(w, addr, d)
	if err != nil {
		s.writeError(w, errRateLimited(err))
		return false
	}
	return true
}

// setRateHeaders sets the RateLimit-Policy and RateLimit header fields of
// the decisions on w (none when every quota is off).
func setRateHeaders(w http.ResponseWriter, ds ...*resource.RateDecision) {
	policy, state := resource.RateHeaders(ds...)
	if policy == "" {
		return
	}
	h := w.Header()
	h.Set("RateLimit-Policy", policy)
	h.Set("RateLimit", state)
}
