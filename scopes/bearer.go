package scopes

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// Realm is the realm of every bearer challenge assetgate sends.
const Realm = "assetgate"

// QueryParam is the query parameter that may carry a token on routes that
// opt in with AllowQueryToken (the event stream, for EventSource clients
// that cannot set headers).
const QueryParam = "authorization"

// maxTokenLen bounds the tokens the middleware passes on; assetgate's own
// are far shorter.
const maxTokenLen = 1024

// AuthError is a bearer authentication or authorization failure of RFC 6750
// §3. A transport renders it in its own format with the status in Status,
// and calls Challenge to set the WWW-Authenticate header.
type AuthError struct {
	// Status is the HTTP status: 400, 401 or 403.
	Status int
	// Code is the RFC 6750 error code: "" (no credentials were sent),
	// "invalid_request", "invalid_token" or "insufficient_scope".
	Code string
	// Description is a human-readable explanation, safe to show.
	Description string
	// Scope lists, space-separated, the scopes that would allow the request
	// (insufficient_scope only).
	Scope string
}

// Error implements the error interface.
func (e *AuthError) Error() string {
	if e.Code == "" {
		return "unauthenticated: " + e.Description
	}
	return e.Code + ": " + e.Description
}

// Is makes errors.Is match any AuthError with the same status and code, so
// errors.Is(err, ErrInvalidToken) holds whatever the description.
func (e *AuthError) Is(target error) bool {
	t, ok := target.(*AuthError)
	return ok && t.Status == e.Status && t.Code == e.Code
}

// Errors of the bearer middleware. Resolvers return ErrInvalidToken (or an
// error that Is it) for a token that is unknown, expired or revoked.
var (
	// ErrMissingToken is a request without bearer credentials: 401 with a
	// bare challenge.
	ErrMissingToken = &AuthError{Status: http.StatusUnauthorized, Description: "A bearer token is required."}
	// ErrInvalidToken is a token that does not resolve: 401 with
	// error="invalid_token".
	ErrInvalidToken = &AuthError{Status: http.StatusUnauthorized, Code: "invalid_token",
		Description: "The access token is invalid, expired or revoked."}
	// ErrInvalidRequest is a malformed request: an empty bearer token, two
	// Authorization headers, or a token sent in two ways at once.
	ErrInvalidRequest = &AuthError{Status: http.StatusBadRequest, Code: "invalid_request",
		Description: "The request carries a malformed bearer token."}
)

// InsufficientScope returns the 403 error of a principal that may not
// perform op, naming the scopes that would allow it.
func InsufficientScope(op Operation) *AuthError {
	r, _ := Lookup(op)
	return &AuthError{Status: http.StatusForbidden, Code: "insufficient_scope",
		Description: "The access token does not allow this operation.", Scope: strings.Join(r.Scopes, " ")}
}

// Challenge sets the WWW-Authenticate header for err when it is (or wraps)
// an *AuthError and returns its status; ok is false, and nothing is set, for
// any other error.
func Challenge(w http.ResponseWriter, err error) (status int, ok bool) {
	var e *AuthError
	if !errors.As(err, &e) {
		return 0, false
	}
	v := `Bearer realm="` + Realm + `"`
	if e.Code != "" {
		v += `, error="` + e.Code + `"`
		if e.Description != "" {
			v += `, error_description="` + quoteSafe(e.Description) + `"`
		}
	}
	if e.Scope != "" {
		v += `, scope="` + quoteSafe(e.Scope) + `"`
	}
	w.Header().Set("WWW-Authenticate", v)
	return e.Status, true
}

// quoteSafe drops the characters that cannot appear in a quoted-string of a
// challenge parameter (RFC 6750 §3 restricts them to printable ASCII without
// '"' and '\').
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

// Resolver turns a bearer token into its principal. It returns
// ErrInvalidToken (or an error that Is it) for a token that is unknown,
// expired or revoked; any other error is internal.
type Resolver func(ctx context.Context, token string) (*Principal, error)

// ErrorHandler writes the response of a request the middleware refuses.
// err is an *AuthError, or an error of the resolver, which the handler must
// not show to the client: a time-out of the token store
// (resource.ErrorCode gives resource.EUnavailable) is answered 503 with
// Retry-After, anything else is internal.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// Option changes how Bearer reads tokens.
type Option func(*options)

type options struct {
	queryToken bool
	admit      Admitter
}

// Admitter decides whether the request of a resolved principal goes on:
// the per-token rate limits. It may set headers on h (those of the
// response, sent whatever the outcome); a non-nil error, such as a
// resource error of code RateLimited, goes to the ErrorHandler.
type Admitter func(ctx context.Context, h http.Header, p *Principal) error

// Admit makes the middleware ask admit about every principal it resolved
// before the request goes on; nil admits every one.
func Admit(admit Admitter) Option {
	return func(o *options) { o.admit = admit }
}

// AllowQueryToken makes the middleware also accept the token in the
// ?authorization= query parameter. Only the event stream route opts in; on
// every other route the parameter is never read.
func AllowQueryToken() Option {
	return func(o *options) { o.queryToken = true }
}

// Bearer returns middleware that authenticates each request with its bearer
// token: it resolves the token once (one store round trip at most) and
// passes the request on with the principal in its context (see FromContext).
// A request without a token, or with one that does not resolve, goes to
// onError instead, with ErrMissingToken, ErrInvalidToken, ErrInvalidRequest
// or the resolver's internal error.
func Bearer(resolve Resolver, onError ErrorHandler, opts ...Option) func(http.Handler) http.Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, r2, err := bearerToken(r, o.queryToken)
			if err != nil {
				onError(w, r, err)
				return
			}
			p, err := resolve(r.Context(), token)
			if err == nil && p == nil {
				err = ErrInvalidToken
			}
			if err != nil {
				onError(w, r, err)
				return
			}
			if o.admit != nil {
				if err := o.admit(r.Context(), w.Header(), p); err != nil {
					onError(w, r, err)
					return
				}
			}
			next.ServeHTTP(w, r2.WithContext(NewContext(r2.Context(), p)))
		})
	}
}

// bearerToken returns the token of r and the request to pass on (without
// the query parameter that carried the token, if any, so it never reaches a
// handler's links or logs).
func bearerToken(r *http.Request, queryToken bool) (string, *http.Request, error) {
	headers := r.Header.Values("Authorization")
	if len(headers) > 1 {
		return "", nil, ErrInvalidRequest
	}
	var fromQuery []string
	if queryToken {
		fromQuery = r.URL.Query()[QueryParam]
	}
	switch {
	case len(headers) == 1 && len(fromQuery) > 0, len(fromQuery) > 1:
		return "", nil, ErrInvalidRequest
	case len(fromQuery) == 1:
		token, err := checkToken(fromQuery[0])
		if err != nil {
			return "", nil, err
		}
		r2 := r.Clone(r.Context())
		q := r2.URL.Query()
		q.Del(QueryParam)
		r2.URL.RawQuery = q.Encode()
		r2.RequestURI = r2.URL.RequestURI()
		return token, r2, nil
	case len(headers) == 0:
		return "", nil, ErrMissingToken
	}
	scheme, rest, _ := strings.Cut(headers[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// Another scheme (Basic...): no bearer credentials were sent.
		return "", nil, ErrMissingToken
	}
	token, err := checkToken(strings.TrimLeft(rest, " "))
	return token, r, err
}

// checkToken accepts a token that has the b64token form of RFC 6750 §2.1;
// ErrInvalidRequest when it is empty, ErrInvalidToken when it cannot be a
// token.
func checkToken(t string) (string, error) {
	if t == "" {
		return "", ErrInvalidRequest
	}
	if len(t) > maxTokenLen {
		return "", ErrInvalidToken
	}
	body := strings.TrimRight(t, "=")
	if body == "" {
		return "", ErrInvalidToken
	}
	for _, c := range []byte(body) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			return "", ErrInvalidToken
		}
	}
	return t, nil
}
