package oauth

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// Introspect returns the handler of "POST /oauth/introspect" (RFC 7662).
func (s *Server) Introspect() http.Handler { return http.HandlerFunc(s.handleIntrospect) }

// introspection is the answer about an active token (RFC 7662 §2.2).
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope"`
	ClientID  string `json:"client_id"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat"`
	Sub       string `json:"sub"`
	Aud       string `json:"aud"`
	Iss       string `json:"iss"`
}

// inactive is the whole answer about any token that is not active for the
// caller.
func inactive() map[string]bool { return map[string]bool{"active": false} }

// handleIntrospect is the introspection endpoint. The caller is either a
// confidential client, authenticated as at the token endpoint
// (client_secret_basic or client_secret_post; a public client is
// invalid_client), or the bearer of an access token with scope `app`
// (invalid or missing: 401 with a Bearer challenge; without `app`: 403
// insufficient_scope). Only tokens of the caller's own customer are
// described: an unknown, expired or revoked token, a device token, or a
// token of another customer is exactly {"active": false}.
//
// An active access token is described with token_type Bearer, an active
// refresh token with token_type refresh_token; sub is the user of a user
// token and the client of an application token, aud the client, iss the
// issuer, username the user's e-mail. token_type_hint is not needed: the
// token's prefix says what it is.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	addrLimit, ok := s.limitAddr(w, r, introspectLimits)
	if !ok {
		return
	}
	form, err := readForm(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	ctx := r.Context()
	var customerID, clientID string
	if isBearerRequest(r) {
		if customerID, clientID, err = s.introspectionBearer(ctx, r, form.Has("client_secret")); err != nil {
			s.writeBearerError(w, err)
			return
		}
	} else {
		app, err := s.authenticateClient(ctx, r, form)
		if err != nil {
			s.writeError(w, err)
			return
		}
		if app.Public() {
			s.writeError(w, errInvalidClient("A public client cannot introspect tokens."))
			return
		}
		customerID, clientID = app.CustomerID, app.ID
	}
	if !s.limitClient(w, r, introspectLimits, addrLimit, clientID) {
		return
	}
	token := form.Get("token")
	if token == "" {
		s.writeError(w, errInvalidRequest("token is missing."))
		return
	}
	t, err := s.introspectable(ctx, token)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if t == nil || t.CustomerID != customerID {
		s.metrics.Introspected(false)
		writeJSON(w, http.StatusOK, nil, inactive())
		return
	}
	s.metrics.Introspected(true)
	writeJSON(w, http.StatusOK, nil, s.describe(t))
}

// introspectionBearer authenticates an introspection caller by its bearer
// token, which must carry scope `app`, and returns its customer and
// client.
func (s *Server) introspectionBearer(ctx context.Context, r *http.Request, alsoSecret bool) (string, string, error) {
	if alsoSecret {
		return "", "", scopes.ErrInvalidRequest
	}
	t, err := s.bearerAccessToken(ctx, r)
	if err != nil {
		return "", "", err
	}
	if !slices.Contains(strings.Fields(t.Scope), resource.ScopeApp) {
		return "", "", &scopes.AuthError{Status: http.StatusForbidden, Code: "insufficient_scope",
			Description: "Introspection needs a token with scope app.", Scope: resource.ScopeApp}
	}
	return t.CustomerID, t.ClientID, nil
}

// introspectable returns the live access or refresh token record of token,
// or nil when there is none.
func (s *Server) introspectable(ctx context.Context, token string) (*resource.Token, error) {
	prefix, familyID, ok, err := s.parseToken(ctx, token)
	if err != nil {
		return nil, err
	} else if !ok {
		return nil, nil
	}
	var kind resource.TokenKind
	switch prefix {
	case resource.AccessTokenPrefix:
		kind = resource.TokenAccess
	case resource.RefreshTokenPrefix:
		kind = resource.TokenRefresh
	default:
		return nil, nil
	}
	t, err := s.tokens.FindToken(ctx, familyID, resource.KeyedHash(s.cfg.Key, token))
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if t.Kind != kind || t.Expired(s.now()) {
		return nil, nil
	}
	return t, nil
}

// describe presents an active token.
func (s *Server) describe(t *resource.Token) *introspection {
	in := &introspection{
		Active: true, Scope: t.Scope, ClientID: t.ClientID, Username: t.Username,
		TokenType: "Bearer", Iat: t.IssuedAt.Unix(),
		Sub: t.UserID, Aud: t.ClientID, Iss: s.cfg.Issuer,
	}
	if t.Kind == resource.TokenRefresh {
		in.TokenType = hintRefreshToken
	}
	if in.Sub == "" {
		in.Sub = t.ClientID
	}
	if !t.ExpiresAt.IsZero() {
		in.Exp = t.ExpiresAt.Unix()
	}
	return in
}
