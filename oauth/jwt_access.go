package oauth

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// JWT access tokens (RFC 9068) for applications with JWTAccessTokens: the
// access token is a JWS of typ at+jwt, signed with the signing keys, that
// a resource server can validate offline through the JWKS. assetgate keeps
// its record all the same, under the keyed hash of the whole JWT, so that
// its own APIs, introspection and revocation treat it like an opaque token:
// a revoked JWT is refused at once, whatever its exp says. Its jti starts
// with the family id, which the look-up needs.

// atClaims are the claims of a JWT access token (RFC 9068 §2.2).
type atClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	ClientID string `json:"client_id"`
	Expiry   int64  `json:"exp"`
	IssuedAt int64  `json:"iat"`
	JTI      string `json:"jti"`
	Scope    string `json:"scope,omitempty"`
}

// jwtAccessToken replaces the opaque access token of is by a signed JWT
// with the same record.
func (s *Server) jwtAccessToken(ctx context.Context, app *resource.Application, is *issued) error {
	t := is.accessTok
	c := atClaims{Issuer: s.cfg.Issuer, Subject: app.ID, Audience: s.cfg.Issuer, ClientID: app.ID,
		Expiry: t.ExpiresAt.Unix(), IssuedAt: t.IssuedAt.Unix(), JTI: is.familyID + "." + randomString()[:22], Scope: t.Scope}
	if t.UserID != "" {
		c.Subject = t.UserID
	}
	jwt, err := s.signJWT(ctx, c, "at+jwt")
	if err != nil {
		return err
	}
	is.access, t.Hash = jwt, resource.KeyedHash(s.cfg.Key, jwt)
	return nil
}

// isJWT reports whether a presented token has the shape of a compact JWS.
func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

// jwtFamily checks a presented JWT access token (this server's signature,
// typ at+jwt, issuer) and returns the family id of its jti; ok is false for
// anything else. Its record decides the rest (expiry, revocation).
func (s *Server) jwtFamily(ctx context.Context, token string) (string, bool, error) {
	typ, payload, err := s.verifyJWT(ctx, token)
	if err == errJWTInvalid {
		return "", false, nil
	} else if err != nil {
		return "", false, err
	}
	var c atClaims
	if typ != "at+jwt" || json.Unmarshal(payload, &c) != nil || c.Issuer != s.cfg.Issuer {
		return "", false, nil
	}
	fam, _, found := strings.Cut(c.JTI, ".")
	return fam, found && fam != "", nil
}

// parseToken is resource.ParseToken for every token this package reads: a
// JWT access token counts as an access token of the family of its jti.
func (s *Server) parseToken(ctx context.Context, token string) (prefix, familyID string, ok bool, err error) {
	if isJWT(token) {
		familyID, ok, err = s.jwtFamily(ctx, token)
		return resource.AccessTokenPrefix, familyID, ok, err
	}
	prefix, familyID, ok = resource.ParseToken(token)
	return prefix, familyID, ok, nil
}
