package oauth

import (
	"context"
	"net/http"

	"github.com/assetgate/assetgate/resource"
)

// CodeUnsupportedTokenType is the error of a revocation request whose
// token_type_hint the server does not know (RFC 7009 §2.2.1).
const CodeUnsupportedTokenType = "unsupported_token_type"

// Token type hints of RFC 7009 §2.1 (and RFC 7662 §2.1).
const (
	hintAccessToken  = "access_token"
	hintRefreshToken = "refresh_token"
)

// Revoke returns the handler of "POST /oauth/revoke" (RFC 7009).
func (s *Server) Revoke() http.Handler { return http.HandlerFunc(s.handleRevoke) }

// handleRevoke is the revocation endpoint. The client authenticates exactly
// as at the token endpoint (a public client sends its client_id). The token
// is found by its own prefix, whatever token_type_hint says (the hint is
// only checked to be one of the two known values; anything else is 400
// unsupported_token_type). Revoking a refresh token revokes its whole
// family, access tokens included; revoking an access token revokes it
// alone. An unknown, expired or already revoked token, and a token issued
// to another client, are answered 200 with an empty body and left as they
// are (RFC 7009 §2.2).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	addrLimit, ok := s.limitAddr(w, r, revokeLimits)
	if !ok {
		return
	}
	form, app, err := s.readClientForm(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if !s.limitClient(w, r, revokeLimits, addrLimit, app.ID) {
		return
	}
	ctx := r.Context()
	token := form.Get("token")
	if token == "" {
		s.writeError(w, errInvalidRequest("token is missing."))
		return
	}
	switch hint := form.Get("token_type_hint"); hint {
	case "", hintAccessToken, hintRefreshToken:
	default:
		s.writeError(w, &Error{Code: CodeUnsupportedTokenType, Status: http.StatusBadRequest,
			Description: "token_type_hint must be access_token or refresh_token."})
		return
	}
	if err := s.revokeOwn(ctx, app, token); err != nil {
		s.writeError(w, err)
		return
	}
	s.metrics.Revoked(form.Get("token_type_hint"))
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
}

// revokeOwn revokes token when it is a live access or refresh token issued
// to app; any other token is left alone without an error.
func (s *Server) revokeOwn(ctx context.Context, app *resource.Application, token string) error {
	prefix, familyID, ok, err := s.parseToken(ctx, token)
	if err != nil {
		return err
	}
	if !ok || (prefix != resource.AccessTokenPrefix && prefix != resource.RefreshTokenPrefix) {
		return nil
	}
	t, err := s.tokens.FindToken(ctx, familyID, resource.KeyedHash(s.cfg.Key, token))
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil
	} else if err != nil {
		return err
	}
	if t.ClientID != app.ID {
		s.log.Warn("oauth: revocation of another client's token ignored", "client_id", app.ID, "family_id", familyID)
		return nil
	}
	return s.revoke(ctx, token, prefix)
}
