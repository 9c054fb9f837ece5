package oauth

import (
	"context"
	"net/http"

	"github.com/assetgate/assetgate/resource"
)

// loginFrom is where a login comes from: the client address, the
// application of a password grant (its attempts count per account, client
// and address: an app has no cookie to prove it signed in before), or the
// browser's known-browser entries on the pages.
type loginFrom struct {
	addr     string
	client   string
	browsers []resource.KnownBrowser
}

// pageLogin is where a login on the pages comes from.
func (s *Server) pageLogin(r *http.Request) loginFrom {
	return loginFrom{addr: s.clientAddr(r), browsers: s.knownBrowsers(r)}
}

// login authenticates a user by e-mail and password on behalf of app, for the
// login page and the password grant. UserService.Authenticate throttles it
// per account and per client address (resource.LoginThrottle): past a
// limit it is refused with errThrottled before the password is checked,
// and with errUnavailable when every password hashing slot stays busy.
// Each failure is logged with the account's keyed hash, never with what
// was typed as the e-mail (it may be a password) nor the password. A user
// of another customer than the application's cannot log in to it.
func (s *Server) login(ctx context.Context, app *resource.Application, email, password string, from loginFrom) (*resource.User, error) {
	addr := from.addr
	ctx = resource.NewContextWithLoginOrigin(resource.NewContextWithClientAddr(ctx, addr),
		resource.LoginOrigin{Client: from.client, Browsers: from.browsers})
	u, err := s.users.Authenticate(ctx, email, password)
	switch resource.ErrorCode(err) {
	case "":
	case resource.EUnauthenticated:
		s.log.Warn("oauth: login failed: wrong e-mail or password", "account", s.throttle.Account(email), "address", addr, "client_id", app.ID)
		return nil, errInvalidGrant("Invalid e-mail or password.")
	case resource.ERateLimited:
		s.log.Warn("oauth: login refused: throttled", "account", s.throttle.Account(email), "address", addr, "client_id", app.ID)
		return nil, errThrottled(resource.ErrorRetryAfter(err))
	case resource.EUnavailable:
		s.log.Warn("oauth: login refused: password hashing busy", "account", s.throttle.Account(email), "address", addr, "client_id", app.ID)
		return nil, errUnavailable("The server is busy; try again shortly.", resource.ErrorRetryAfter(err))
	default:
		return nil, err
	}
	if u.CustomerID != app.CustomerID {
		s.log.Warn("oauth: login failed: user of another customer", "user_id", u.ID, "address", addr, "client_id", app.ID)
		return nil, errInvalidGrant("Invalid e-mail or password.")
	}
	return u, nil
}

// loginExternal authenticates a user by an external authentication token,
// throttled per client address on the counter of login.
func (s *Server) loginExternal(ctx context.Context, app *resource.Application, token, addr string) (*resource.User, error) {
	u, err := s.users.AuthenticateExternal(resource.NewContextWithClientAddr(ctx, addr), token)
	switch resource.ErrorCode(err) {
	case "":
	case resource.EUnauthenticated:
		s.log.Warn("oauth: login failed: unknown external authentication token", "address", addr, "client_id", app.ID)
		return nil, errInvalidGrant("Invalid external authentication token.")
	case resource.ERateLimited:
		s.log.Warn("oauth: external token login refused: throttled", "address", addr, "client_id", app.ID)
		return nil, errThrottled(resource.ErrorRetryAfter(err))
	default:
		return nil, err
	}
	if u.CustomerID != app.CustomerID {
		s.log.Warn("oauth: login failed: user of another customer", "user_id", u.ID, "address", addr, "client_id", app.ID)
		return nil, errInvalidGrant("Invalid external authentication token.")
	}
	return u, nil
}

// loginRefusal returns the status and message the login page shows for a
// failed login: 429 past the throttle's limits and 503 when password
// hashing is busy, both with Retry-After set on w; 200 with the error's
// description otherwise.
func loginRefusal(w http.ResponseWriter, e *Error) (int, string) {
	switch e.Status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", e.header().Get("Retry-After"))
		return e.Status, "Too many failed logins. Wait a few minutes, then try again."
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", e.header().Get("Retry-After"))
		return e.Status, "The server is busy. Wait a moment, then try again."
	}
	return http.StatusOK, e.Description
}
