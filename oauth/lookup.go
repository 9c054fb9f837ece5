package oauth

import (
	"context"

	"github.com/assetgate/assetgate/resource"
)

// LookupAccessToken returns the live access token record of token: its
// client, customer, user and scope. EUnauthenticated when the token is
// malformed, unknown, expired or revoked. It makes one TokenStore call.
func (s *Server) LookupAccessToken(ctx context.Context, token string) (*resource.Token, error) {
	return s.lookup(ctx, token, resource.AccessTokenPrefix, resource.TokenAccess)
}

// lookup returns the live record of a token that must have the given prefix
// and kind, with one TokenStore call; EUnauthenticated otherwise.
func (s *Server) lookup(ctx context.Context, token, prefix string, kind resource.TokenKind) (*resource.Token, error) {
	got, familyID, ok, err := s.parseToken(ctx, token) // JWT access tokens too (jwt_access.go)
	if err != nil {
		return nil, err
	}
	if !ok || got != prefix {
		return nil, errInvalidToken()
	}
	return s.find(ctx, token, familyID, kind)
}

// find returns the live record of a parsed token of the given kind and
// family, with one TokenStore call; EUnauthenticated otherwise.
func (s *Server) find(ctx context.Context, token, familyID string, kind resource.TokenKind) (*resource.Token, error) {
	t, err := s.tokens.FindToken(ctx, familyID, resource.KeyedHash(s.cfg.Key, token))
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil, errInvalidToken()
	} else if err != nil {
		return nil, err
	}
	if t.Kind != kind || t.Expired(s.now()) {
		return nil, errInvalidToken()
	}
	return t, nil
}

// errInvalidToken is the error of a malformed, unknown, expired or revoked
// token.
func errInvalidToken() error { return resource.Errorf(resource.EUnauthenticated, "invalid token") }
