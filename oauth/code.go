package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// AuthorizationCodePrefix marks authorization codes.
const AuthorizationCodePrefix = "agac_"

// Key prefixes in the ephemeral store. Codes are kept under their keyed hash.
const (
	codeKeyPrefix        = "oauth:code:"
	codeUsedKeyPrefix    = "oauth:code-used:"
	codeAttemptKeyPrefix = "oauth:code-attempts:"
)

// codeAttemptTTL is how long redemption attempts of a code are counted:
// far longer than a code lives, so every attempt that races with the
// first one is counted.
const codeAttemptTTL = 10 * time.Minute

// codeRecord is what an authorization code stands for.
type codeRecord struct {
	ClientID    string    `json:"client_id"`
	RedirectURI string    `json:"redirect_uri"`
	UserID      string    `json:"user_id"`
	CustomerID  string    `json:"customer_id"`
	Email       string    `json:"email"`
	Scope       string    `json:"scope"`
	Challenge   string    `json:"code_challenge,omitempty"`
	Method      string    `json:"code_challenge_method,omitempty"`
	Login       oidcLogin `json:"login,omitzero"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// newCode stores a new authorization code for rec and returns it.
func (s *Server) newCode(ctx context.Context, rec *codeRecord) (string, error) {
	code := resource.NewSecret(AuthorizationCodePrefix)
	rec.ExpiresAt = s.clock().Add(s.cfg.CodeTTL)
	b, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	if err := s.ephemeral.Put(ctx, codeKeyPrefix+resource.KeyedHash(s.cfg.Key, code), b, s.cfg.CodeTTL); err != nil {
		return "", fmt.Errorf("store authorization code: %w", err)
	}
	return code, nil
}

// redeemCode is the authorization code grant. The code is taken from the
// store in one atomic step, so of many concurrent redemptions exactly one
// gets it (go-oauth2 reads the code, then deletes it; defect 3). It must
// have been issued to the client, for the same redirect_uri, and pass PKCE.
//
// A code used more than once revokes the tokens issued from it (RFC 6749
// §4.1.2), also when the attempts race. Every attempt is counted (an atomic
// increment) before anything else: only the first may redeem the code; a
// later one is a replay, which revokes the family named by the "used" mark
// that the first one leaves before it creates its family. The first one
// counts once more after creating its family: a count above two means a
// replay came in between, whose revocation may have missed the family, so
// the first one revokes it itself. The response of the first one still
// carries the (then dead) tokens: it did redeem the code.
func (s *Server) redeemCode(ctx context.Context, app *resource.Application, code, redirectURI, verifier string) (*issued, error) {
	fail := errInvalidGrant("The authorization code is invalid, expired, already used or was issued to another client.")
	if code == "" {
		return nil, errInvalidRequest("code is missing.")
	}
	if !strings.HasPrefix(code, AuthorizationCodePrefix) || len(code) > 100 {
		return nil, fail
	}
	hash := resource.KeyedHash(s.cfg.Key, code)
	attempt, err := s.ephemeral.Incr(ctx, codeAttemptKeyPrefix+hash, codeAttemptTTL)
	if err != nil {
		return nil, err
	}
	if attempt > 1 {
		if err := s.codeReplayed(ctx, app, hash); err != nil {
			return nil, err
		}
		return nil, fail
	}
	raw, err := s.ephemeral.Take(ctx, codeKeyPrefix+hash)
	if resource.ErrorCode(err) == resource.ENotFound {
		// Unknown, expired, or used so long ago that its attempts are no
		// longer counted.
		if err := s.codeReplayed(ctx, app, hash); err != nil {
			return nil, err
		}
		return nil, fail
	} else if err != nil {
		return nil, err
	}
	var rec codeRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("decode authorization code: %w", err)
	}
	if rec.ClientID != app.ID || !s.clock().Before(rec.ExpiresAt) {
		return nil, fail
	}
	if rec.RedirectURI != redirectURI {
		return nil, errInvalidGrant("redirect_uri differs from the one of the authorization request.")
	}
	if err := verifyPKCE(rec.Challenge, rec.Method, verifier); err != nil {
		return nil, err
	}

	familyID := resource.NewFamilyID()
	markTTL := seconds(max(app.RefreshTokenRollingDuration, app.AccessTokenTTL))
	if err := s.ephemeral.Put(ctx, codeUsedKeyPrefix+hash, []byte(familyID), markTTL); err != nil {
		return nil, fmt.Errorf("mark authorization code used: %w", err)
	}
	user := &resource.User{ID: rec.UserID, CustomerID: rec.CustomerID, Email: rec.Email}
	is, err := s.issueFamily(ctx, app, user, rec.Scope, familyID, true)
	if err != nil {
		return nil, err
	}
	if err := s.afterUserGrant(ctx, app, user, is, rec.Login, true); err != nil {
		return nil, err
	}
	if attempt, err = s.ephemeral.Incr(ctx, codeAttemptKeyPrefix+hash, codeAttemptTTL); err != nil {
		return nil, err
	}
	if attempt > 2 {
		s.log.Warn("oauth: authorization code replayed: token family revoked", "client_id", app.ID, "family_id", familyID)
		if err := s.tokens.RevokeFamily(ctx, familyID); err != nil {
			return nil, err
		}
	}
	return is, nil
}

// codeReplayed handles a code presented again: when it was redeemed, the
// tokens issued from it are revoked.
func (s *Server) codeReplayed(ctx context.Context, app *resource.Application, hash string) error {
	familyID, err := s.ephemeral.Get(ctx, codeUsedKeyPrefix+hash)
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil
	} else if err != nil {
		return err
	}
	s.log.Warn("oauth: authorization code replayed: token family revoked", "client_id", app.ID, "family_id", string(familyID))
	return s.tokens.RevokeFamily(ctx, string(familyID))
}
