package oauth

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// Key prefixes of the login throttle in the ephemeral store. Accounts are
// named by the keyed hash of their e-mail.
const (
	failUserKeyPrefix = "oauth:login-fail:user:"
	failAddrKeyPrefix = "oauth:login-fail:addr:"
	lockUserKeyPrefix = "oauth:login-lock:user:"
	lockAddrKeyPrefix = "oauth:login-lock:addr:"
)

// remoteAddr returns the IP address of the peer of r, the default
// Deps.ClientAddr.
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// login authenticates a user by e-mail and password on behalf of app, for the
// login page and the password grant. Failed logins are counted per account
// and per client address over Config.LoginWindow; past the limits every
// attempt, right or wrong, is refused with errThrottled until the window
// ends. Each failure is logged, never with the password. A user of another
// customer than the application's cannot log in to it.
func (s *Server) login(ctx context.Context, app *resource.Application, email, password, addr string) (*resource.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	userKey := resource.KeyedHash(s.cfg.Key, email)
	if err := s.checkThrottle(ctx, lockUserKeyPrefix+userKey, lockAddrKeyPrefix+addr); err != nil {
		s.log.Warn("oauth: login refused: throttled", "email", email, "address", addr, "client_id", app.ID)
		return nil, err
	}
	u, err := s.users.Authenticate(ctx, email, password)
	if resource.ErrorCode(err) == resource.EUnauthenticated {
		s.log.Warn("oauth: login failed: wrong e-mail or password", "email", email, "address", addr, "client_id", app.ID)
		if err := s.countFailure(ctx, failUserKeyPrefix+userKey, lockUserKeyPrefix+userKey, s.cfg.MaxFailuresPerUser); err != nil {
			return nil, err
		}
		if err := s.countFailure(ctx, failAddrKeyPrefix+addr, lockAddrKeyPrefix+addr, s.cfg.MaxFailuresPerAddr); err != nil {
			return nil, err
		}
		return nil, errInvalidGrant("Invalid e-mail or password.")
	} else if err != nil {
		return nil, err
	}
	if u.CustomerID != app.CustomerID {
		s.log.Warn("oauth: login failed: user of another customer", "email", email, "address", addr, "client_id", app.ID)
		return nil, errInvalidGrant("Invalid e-mail or password.")
	}
	return u, nil
}

// loginExternal authenticates a user by an external authentication token,
// throttled per client address like login.
func (s *Server) loginExternal(ctx context.Context, app *resource.Application, token, addr string) (*resource.User, error) {
	if err := s.checkThrottle(ctx, lockAddrKeyPrefix+addr); err != nil {
		s.log.Warn("oauth: external token login refused: throttled", "address", addr, "client_id", app.ID)
		return nil, err
	}
	u, err := s.users.AuthenticateExternal(ctx, token)
	if resource.ErrorCode(err) == resource.EUnauthenticated {
		s.log.Warn("oauth: login failed: unknown external authentication token", "address", addr, "client_id", app.ID)
		if err := s.countFailure(ctx, failAddrKeyPrefix+addr, lockAddrKeyPrefix+addr, s.cfg.MaxFailuresPerAddr); err != nil {
			return nil, err
		}
		return nil, errInvalidGrant("Invalid external authentication token.")
	} else if err != nil {
		return nil, err
	}
	if u.CustomerID != app.CustomerID {
		s.log.Warn("oauth: login failed: user of another customer", "user_id", u.ID, "address", addr, "client_id", app.ID)
		return nil, errInvalidGrant("Invalid external authentication token.")
	}
	return u, nil
}

// checkThrottle returns errThrottled when any of the lock keys is set.
func (s *Server) checkThrottle(ctx context.Context, lockKeys ...string) error {
	for _, k := range lockKeys {
		_, err := s.ephemeral.Get(ctx, k)
		if err == nil {
			return errThrottled(s.cfg.LoginWindow)
		} else if resource.ErrorCode(err) != resource.ENotFound {
			return err
		}
	}
	return nil
}

// countFailure counts one failed login under failKey and sets lockKey for
// the rest of the window once limit failures are reached.
func (s *Server) countFailure(ctx context.Context, failKey, lockKey string, limit int) error {
	n, err := s.ephemeral.Incr(ctx, failKey, s.cfg.LoginWindow)
	if err != nil {
		return err
	}
	if n >= int64(limit) {
		return s.ephemeral.Put(ctx, lockKey, []byte("1"), s.cfg.LoginWindow)
	}
	return nil
}
