package oauth

import (
	"context"
	"strings"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// Principal resolves a bearer token — an access token (agat_) or a device
// token (agdt_) — to the principal it speaks for, with one token store call.
// It is the resolver of scopes.Bearer: an unknown, expired or revoked token
// is scopes.ErrInvalidToken; other errors are internal.
func (s *Server) Principal(ctx context.Context, token string) (*scopes.Principal, error) {
	t, err := s.lookupBearer(ctx, token)
	if resource.ErrorCode(err) == resource.EUnauthenticated {
		return nil, scopes.ErrInvalidToken
	} else if err != nil {
		return nil, err
	}
	return PrincipalOf(t), nil
}

// lookupBearer returns the live record of an access or device token.
// EUnauthenticated when the token is malformed, unknown, expired or revoked.
func (s *Server) lookupBearer(ctx context.Context, token string) (*resource.Token, error) {
	prefix, familyID, ok := resource.ParseToken(token)
	switch {
	case !ok:
		return nil, errInvalidToken()
	case prefix == resource.DeviceTokenPrefix:
		return s.find(ctx, token, familyID, resource.TokenDevice)
	case prefix == resource.AccessTokenPrefix:
		return s.find(ctx, token, familyID, resource.TokenAccess)
	}
	return nil, errInvalidToken()
}

// PrincipalOf returns the principal of a live token record: a device for a
// device token, a user for a token with a user, otherwise an application.
func PrincipalOf(t *resource.Token) *scopes.Principal {
	p := &scopes.Principal{
		Kind: scopes.KindApplication, CustomerID: t.CustomerID, ClientID: t.ClientID,
		FamilyID: t.FamilyID, Scopes: strings.Fields(t.Scope),
	}
	switch {
	case t.Kind == resource.TokenDevice:
		p.Kind, p.DeviceID, p.TokenID, p.Scopes = scopes.KindDevice, t.DeviceID, t.ID, nil
		p.Permissions = append([]string(nil), t.Permissions...)
	case t.UserID != "":
		p.Kind, p.UserID = scopes.KindUser, t.UserID
	}
	return p
}
