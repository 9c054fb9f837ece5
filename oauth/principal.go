package oauth

import (
	"context"
	"strings"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// Principal resolves a bearer access token to the principal it speaks for,
// with one token store call. It is the resolver of scopes.Bearer: an
// unknown, expired or revoked token is scopes.ErrInvalidToken; other errors
// are internal.
func (s *Server) Principal(ctx context.Context, token string) (*scopes.Principal, error) {
	t, err := s.LookupAccessToken(ctx, token)
	if resource.ErrorCode(err) == resource.EUnauthenticated {
		return nil, scopes.ErrInvalidToken
	} else if err != nil {
		return nil, err
	}
	return PrincipalOf(t), nil
}

// PrincipalOf returns the principal of a live token record: a user for a
// token with a user, otherwise an application.
func PrincipalOf(t *resource.Token) *scopes.Principal {
	p := &scopes.Principal{
		Kind: scopes.KindApplication, CustomerID: t.CustomerID, ClientID: t.ClientID,
		FamilyID: t.FamilyID, Scopes: strings.Fields(t.Scope),
	}
	if t.UserID != "" {
		p.Kind, p.UserID = scopes.KindUser, t.UserID
	}
	return p
}
