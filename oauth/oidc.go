package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-oauth2/oauth2/v4/models"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// OpenID Connect Core 1.0 on top of the OAuth grants: an ID token in the
// token response of every user grant whose scope holds openid (code, device
// code, refresh), the userinfo endpoint, and the discovery document.

// Paths of the OpenID Connect routes.
const (
	userInfoPath      = "/oauth/userinfo"
	routeUserInfo     = "GET " + userInfoPath
	routeUserInfoPost = "POST " + userInfoPath
	discoveryPath     = "/.well-known/openid-configuration"
	routeDiscovery    = "GET " + discoveryPath
)

// oidcLogin is what an ID token says of the login behind a grant: when the
// user logged in, the login session (its public id, sid) and, for the
// original grant only, the client's nonce.
type oidcLogin struct {
	Nonce    string    `json:"nonce,omitempty"`
	AuthTime time.Time `json:"auth_time,omitzero"`
	SID      string    `json:"sid,omitempty"`
}

// idClaims are the claims of an ID token (OpenID Connect Core 1.0 §2).
type idClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	Expiry   int64  `json:"exp"`
	IssuedAt int64  `json:"iat"`
	AuthTime int64  `json:"auth_time,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	AtHash   string `json:"at_hash,omitempty"`
	SID      string `json:"sid,omitempty"`
	userClaims
}

// userClaims are the claims of the profile and email scopes, in the ID
// token and from userinfo. A user has an e-mail address and nothing else
// to show: profile gives it as preferred_username (and updated_at); email
// as email, unverified (assetgate does not verify addresses).
type userClaims struct {
	Email             string `json:"email,omitempty"`
	EmailVerified     *bool  `json:"email_verified,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	UpdatedAt         int64  `json:"updated_at,omitempty"`
}

func claimsOf(u *resource.User, scope string) userClaims {
	var c userClaims
	if hasScope(scope, resource.ScopeEmail) {
		f := false
		c.Email, c.EmailVerified = u.Email, &f
	}
	if hasScope(scope, resource.ScopeProfile) {
		c.PreferredUsername = u.Email
		if !u.UpdatedAt.IsZero() {
			c.UpdatedAt = u.UpdatedAt.Unix()
		}
	}
	return c
}

// halfHash is the at_hash of an access token (OpenID Connect Core 1.0
// §3.1.3.6): the left half of its SHA-256, base64url. Both RS256 and ES256
// hash with SHA-256.
func halfHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h[:len(h)/2])
}

// idToken signs the ID token of a grant of app to user. access is the
// access token issued with it ("" for response_type=id_token).
func (s *Server) idToken(ctx context.Context, app *resource.Application, user *resource.User, scope, access string, login oidcLogin) (string, error) {
	now := s.clock()
	c := idClaims{
		Issuer: s.cfg.Issuer, Subject: user.ID, Audience: app.ID,
		IssuedAt: now.Unix(), Expiry: now.Add(s.cfg.IDTokenTTL).Unix(),
		Nonce: login.Nonce, SID: login.SID,
	}
	if !login.AuthTime.IsZero() {
		c.AuthTime = login.AuthTime.Unix()
	}
	if access != "" {
		c.AtHash = halfHash(access)
	}
	if hasScope(scope, resource.ScopeProfile) || hasScope(scope, resource.ScopeEmail) {
		full, err := s.users.Find(ctx, user.ID)
		if err != nil {
			return "", err
		}
		c.userClaims = claimsOf(full, scope)
	}
	return s.signJWT(ctx, c, "JWT")
}

// afterUserGrant records the token family of a user's original grant
// (so that withdrawing the consent revokes it, and, with the grant's login,
// for its refreshes and for logout by sid) and, when the scope holds
// openid and idToken is set, adds the ID token.
func (s *Server) afterUserGrant(ctx context.Context, app *resource.Application, user *resource.User, is *issued, login oidcLogin, idToken bool) error {
	if user == nil {
		return nil
	}
	if err := s.familySessions.PutFamilySession(ctx, &resource.FamilySession{
		FamilyID: is.familyID, UserID: user.ID, ClientID: app.ID, SID: login.SID, AuthTime: login.AuthTime, ExpiresAt: is.deadline,
	}); err != nil {
		return err
	}
	if !idToken || !hasScope(is.accessTok.Scope, resource.ScopeOpenID) {
		return nil
	}
	var err error
	is.idToken, err = s.idToken(ctx, app, user, is.accessTok.Scope, is.access, login)
	return err
}

// refreshedIDToken adds the ID token to the tokens of a refresh whose scope
// holds openid: the same auth_time and sid as the original grant, never a
// nonce (OpenID Connect Core 1.0 §12.2).
func (s *Server) refreshedIDToken(ctx context.Context, app *resource.Application, user *resource.User, is *issued) error {
	if user == nil || !hasScope(is.accessTok.Scope, resource.ScopeOpenID) {
		return nil
	}
	var login oidcLogin
	fs, err := s.familySessions.FindFamilySession(ctx, is.familyID)
	switch {
	case err == nil:
		login.AuthTime, login.SID = fs.AuthTime, fs.SID
	case resource.ErrorCode(err) != resource.ENotFound:
		return err
	}
	is.idToken, err = s.idToken(ctx, app, user, is.accessTok.Scope, is.access, login)
	return err
}

// oidcTokenInfo is the TokenInfo of a grant with an ID token, which
// extensionFields adds to the token response.
type oidcTokenInfo struct {
	*models.Token
	idToken string
}

// UserInfo returns the handler of "GET/POST /oauth/userinfo" (OpenID Connect
// Core 1.0 §5.3): the claims of the granted scopes of a user's access token
// whose scope holds openid. Errors are RFC 6750's, with WWW-Authenticate.
func (s *Server) UserInfo() http.Handler {
	return scopes.Bearer(s.Principal, s.userInfoError)(http.HandlerFunc(s.handleUserInfo))
}

func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	p, _ := scopes.FromContext(r.Context())
	if !p.IsUser() || !p.HasScope(resource.ScopeOpenID) {
		s.userInfoError(w, r, &scopes.AuthError{Status: http.StatusForbidden, Code: "insufficient_scope",
			Description: "The access token was not granted the openid scope.", Scope: resource.ScopeOpenID})
		return
	}
	u, err := s.users.Find(r.Context(), p.UserID)
	if resource.ErrorCode(err) == resource.ENotFound {
		s.userInfoError(w, r, scopes.ErrInvalidToken)
		return
	} else if err != nil {
		s.userInfoError(w, r, err)
		return
	}
	scope := strings.Join(p.Scopes, " ")
	body := struct {
		Subject string `json:"sub"`
		userClaims
	}{u.ID, claimsOf(u, scope)}
	writeJSON(w, http.StatusOK, nil, body)
}

// userInfoError answers a failed userinfo request: the RFC 6750 challenge
// and an error object in the body; other errors are the server's (logged).
func (s *Server) userInfoError(w http.ResponseWriter, _ *http.Request, err error) {
	if status, ok := scopes.Challenge(w, err); ok {
		var body map[string]any
		if e := (*scopes.AuthError)(nil); errors.As(err, &e) && e.Code != "" {
			body = map[string]any{"error": e.Code, "error_description": e.Description}
		} else {
			body = map[string]any{"error": "invalid_request", "error_description": "A bearer token is required."}
		}
		writeJSON(w, status, nil, body)
		return
	}
	s.writeError(w, err)
}
