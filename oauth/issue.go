package oauth

import (
	"context"
	"time"

	oauth2 "github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/models"

	"github.com/assetgate/assetgate/resource"
)

// issued is what one grant or rotation hands out: the tokens themselves
// (shown once, to the client) and the records kept of them (hashed).
type issued struct {
	familyID   string
	access     string
	accessTok  *resource.Token
	refresh    string // "" when no refresh token is issued
	refreshTok *resource.Token
	// deadline is the family's absolute deadline.
	deadline time.Time
	// idToken is the ID token issued with the tokens, "" when none is.
	idToken string
}

// tokens returns the records to store.
func (is *issued) tokens() []*resource.Token {
	if is.refreshTok == nil {
		return []*resource.Token{is.accessTok}
	}
	return []*resource.Token{is.accessTok, is.refreshTok}
}

// newTokens makes an access token, and a refresh token when withRefresh, of
// family familyID for app and (unless nil) user. Every expiry is capped at
// the family's deadline.
func (s *Server) newTokens(app *resource.Application, user *resource.User, scope, familyID string, withRefresh bool, now, deadline time.Time) *issued {
	is := &issued{familyID: familyID, deadline: deadline}
	record := func(kind resource.TokenKind, token string, ttl time.Duration) *resource.Token {
		t := &resource.Token{
			Kind: kind, FamilyID: familyID, Hash: resource.KeyedHash(s.cfg.Key, token),
			ClientID: app.ID, CustomerID: app.CustomerID, Scope: scope,
			IssuedAt: now, ExpiresAt: minTime(now.Add(ttl), deadline),
		}
		if user != nil {
			t.UserID, t.CustomerID, t.Username = user.ID, user.CustomerID, user.Email
		}
		return t
	}
	is.access = resource.NewToken(resource.AccessTokenPrefix, familyID)
	is.accessTok = record(resource.TokenAccess, is.access, seconds(app.AccessTokenTTL))
	if withRefresh {
		is.refresh = resource.NewToken(resource.RefreshTokenPrefix, familyID)
		is.refreshTok = record(resource.TokenRefresh, is.refresh, seconds(app.RefreshTokenDuration))
	}
	return is
}

// issueFamily stores a new token family for an original grant and returns
// its tokens. A user grant of an application allowed to refresh gets a
// refresh token; the family's deadline is then the application's refresh
// token rolling duration, otherwise the access token's expiry. refreshable
// is false for grants that must never yield a refresh token (implicit).
// familyID may be "" for a new random one.
func (s *Server) issueFamily(ctx context.Context, app *resource.Application, user *resource.User, scope, familyID string, refreshable bool) (*issued, error) {
	if familyID == "" {
		familyID = resource.NewFamilyID()
	}
	withRefresh := refreshable && user != nil && app.HasGrant(resource.GrantRefreshToken)
	now := s.clock()
	deadline := now.Add(seconds(app.AccessTokenTTL))
	if withRefresh {
		deadline = now.Add(seconds(max(app.RefreshTokenRollingDuration, app.RefreshTokenDuration)))
	}
	f := &resource.TokenFamily{ID: familyID, ClientID: app.ID, CustomerID: app.CustomerID, ExpiresAt: deadline}
	if user != nil {
		f.UserID, f.CustomerID = user.ID, user.CustomerID
	}
	is := s.newTokens(app, user, scope, familyID, withRefresh, now, deadline)
	if app.JWTAccessTokens {
		if err := s.jwtAccessToken(ctx, app, is); err != nil {
			return nil, err
		}
	}
	if err := s.tokens.CreateFamily(ctx, f, is.tokens()...); err != nil {
		return nil, err
	}
	return is, nil
}

// tokenInfo presents issued tokens as go-oauth2's TokenInfo, from which the
// library writes the token response.
func tokenInfo(is *issued) oauth2.TokenInfo {
	a := is.accessTok
	ti := models.NewToken()
	ti.SetClientID(a.ClientID)
	ti.SetUserID(a.UserID)
	ti.SetScope(a.Scope)
	ti.SetAccess(is.access)
	ti.SetAccessCreateAt(a.IssuedAt)
	ti.SetAccessExpiresIn(a.ExpiresAt.Sub(a.IssuedAt))
	if r := is.refreshTok; r != nil {
		ti.SetRefresh(is.refresh)
		ti.SetRefreshCreateAt(r.IssuedAt)
		ti.SetRefreshExpiresIn(r.ExpiresAt.Sub(r.IssuedAt))
	}
	if is.idToken != "" {
		return &oidcTokenInfo{Token: ti, idToken: is.idToken}
	}
	return ti
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
