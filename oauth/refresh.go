package oauth

import (
	"context"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// findRefresh returns the live refresh token presented in a refresh request,
// checking that it was issued to the authenticated client (go-oauth2 checks
// neither the caller's credentials nor the token's client; defect 1). A
// token that is not live may be a rotated-out one being replayed: then
// RotateRefresh is still asked, so that reuse revokes the family.
func (s *Server) findRefresh(ctx context.Context, tr *tokenRequest, token string) (*resource.Token, error) {
	if tr.refresh != nil {
		return tr.refresh, nil
	}
	fail := errInvalidGrant("The refresh token is invalid, expired, revoked or was issued to another client.")
	prefix, familyID, ok := resource.ParseToken(token)
	if !ok || prefix != resource.RefreshTokenPrefix {
		return nil, fail
	}
	hash := resource.KeyedHash(s.cfg.Key, token)
	t, err := s.tokens.FindToken(ctx, familyID, hash)
	if resource.ErrorCode(err) == resource.ENotFound {
		if err := s.detectReuse(ctx, tr.app, familyID, hash); err != nil {
			return nil, err
		}
		return nil, fail
	} else if err != nil {
		return nil, err
	}
	if t.Kind != resource.TokenRefresh || t.ClientID != tr.app.ID || t.Expired(s.clock()) {
		return nil, fail
	}
	tr.refresh = t
	return t, nil
}

// detectReuse asks the store to consume a refresh token that FindToken did
// not find, with nothing to put in its place: for a token rotated out longer
// than the grace period ago, the store revokes the whole family and answers
// EConflict (RFC 9700 §4.14.2). Every other answer leaves things as they
// are. It returns only unexpected errors.
func (s *Server) detectReuse(ctx context.Context, app *resource.Application, familyID, hash string) error {
	_, err := s.tokens.RotateRefresh(ctx, familyID, hash, app.ID, s.cfg.RefreshGrace)
	switch resource.ErrorCode(err) {
	case resource.EConflict:
		s.log.Warn("oauth: refresh token reuse: token family revoked", "client_id", app.ID, "family_id", familyID)
		s.metrics.RefreshReuseDetected()
		return nil
	case resource.ENotFound, "":
		return nil
	}
	return err
}

// rotate is the refresh grant. The presented refresh token is consumed and a
// new access and refresh token pair of the same family takes its place, in
// one atomic store operation: of many concurrent refreshes with one token,
// exactly one succeeds (go-oauth2 reads, writes the new pair, then deletes
// the old one, so all of them may succeed; defect 3).
//
// Lifetimes: the new refresh token lives RefreshTokenDuration from now (the
// rolling window restarts) but never past the family's absolute deadline
// (TokenFamily.ExpiresAt, set at the original grant from
// RefreshTokenRollingDuration), which the store enforces on every token of
// the family.
//
// Reuse: presenting a refresh token that was already rotated out is
// invalid_grant. When it was rotated out longer than Config.RefreshGrace
// ago, the store also revokes the whole family — every access and refresh
// token descending from the original grant. Within the grace period (for a
// client that retries after losing the response) the answer is
// invalid_grant too, but the family is left alone: the retrying client must
// use the pair the first request got.
//
// The scope may be kept (scope omitted) or narrowed, never widened
// (refreshingScope, defect 2).
func (s *Server) rotate(ctx context.Context, tr *tokenRequest, token, scope string) (*issued, error) {
	old, err := s.findRefresh(ctx, tr, token)
	if err != nil {
		return nil, err
	}
	newScope := old.Scope
	if strings.TrimSpace(scope) != "" {
		if !scopeWithin(scope, old.Scope) {
			return nil, errInvalidScope("A refresh may not widen the scope of the grant (%q).", old.Scope)
		}
		newScope = canonicalScope(strings.Fields(scope))
	}
	var user *resource.User
	if old.UserID != "" {
		user = &resource.User{ID: old.UserID, CustomerID: old.CustomerID, Email: old.Username}
	}
	now := s.clock()
	// The family's deadline is enforced by the store; the expiries here
	// are the rolling ones.
	deadline := now.Add(seconds(max(tr.app.RefreshTokenRollingDuration, tr.app.RefreshTokenDuration)))
	is := s.newTokens(tr.app, user, newScope, old.FamilyID, true, now, deadline)
	if tr.app.JWTAccessTokens {
		if err := s.jwtAccessToken(ctx, tr.app, is); err != nil {
			return nil, err
		}
	}
	_, err = s.tokens.RotateRefresh(ctx, old.FamilyID, old.Hash, tr.app.ID, s.cfg.RefreshGrace, is.tokens()...)
	switch resource.ErrorCode(err) {
	case "":
		if err := s.refreshedIDToken(ctx, tr.app, user, is); err != nil {
			return nil, err
		}
		return is, nil
	case resource.EConflict:
		s.log.Warn("oauth: refresh token reuse: token family revoked", "client_id", tr.app.ID, "family_id", old.FamilyID)
		s.metrics.RefreshReuseDetected()
		fallthrough
	case resource.ENotFound:
		return nil, errInvalidGrant("The refresh token is invalid, expired, revoked or was issued to another client.")
	}
	return nil, err
}

// revoke removes one token of the given kind (by prefix); revoking a
// refresh token revokes its family. Unknown tokens are not an error (RFC
// 7009 §2.2).
func (s *Server) revoke(ctx context.Context, token, wantPrefix string) error {
	prefix, familyID, ok, err := s.parseToken(ctx, token)
	if err != nil {
		return err
	}
	if !ok || prefix != wantPrefix {
		return nil
	}
	_, err = s.tokens.RevokeToken(ctx, familyID, resource.KeyedHash(s.cfg.Key, token))
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil
	}
	return err
}
