package oauth

import (
	"context"

	"github.com/assetgate/assetgate/resource"
)

// LookupAccessToken returns the live access token record of token: its
// client, customer, user and scope. EUnauthenticated when the token is
// malformed, unknown, expired or revoked. It makes one TokenStore call.
func (s *Server) LookupAccessToken(ctx context.Context, token string) (*resource.Token, error) {
	fail := resource.Errorf(resource.EUnauthenticated, "invalid access token")
	prefix, familyID, ok := resource.ParseToken(token)
	if !ok || prefix != resource.AccessTokenPrefix {
		return nil, fail
	}
	t, err := s.tokens.FindToken(ctx, familyID, resource.KeyedHash(s.cfg.Key, token))
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil, fail
	} else if err != nil {
		return nil, err
	}
	if t.Kind != resource.TokenAccess || t.Expired(s.now()) {
		return nil, fail
	}
	return t, nil
}
