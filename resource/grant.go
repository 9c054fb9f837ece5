package resource

import (
	"context"
	"strings"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// Grant is a consent the current user gave an application, as the APIs show
// it: the application and the scopes granted.
type Grant struct {
	ClientID        string
	ApplicationName string
	Scopes          []string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// GrantService lets users see and withdraw the consents they gave
// applications (the authorization server remembers them, so that it does
// not ask again). Withdrawing one revokes the application's tokens for the
// user.
type GrantService struct {
	Consents ConsentStore
	Families FamilySessionStore
	Tokens   TokenStore
	Apps     ApplicationStore
}

// List returns the current user's grants, oldest first. EForbidden
// without scope me.
func (s *GrantService) List(ctx context.Context) ([]*Grant, error) {
	p, err := authorize(ctx, scopes.OpGrants)
	if err != nil {
		return nil, err
	}
	cs, err := s.Consents.ListConsents(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]*Grant, 0, len(cs))
	for _, c := range cs {
		g := &Grant{ClientID: c.ClientID, Scopes: strings.Fields(c.Scope), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
		if app, err := s.Apps.FindApplication(ctx, c.ClientID); err == nil {
			g.ApplicationName = app.Name
		} else if ErrorCode(err) != ENotFound {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// Revoke withdraws the current user's grant to the application clientID
// and revokes every token family of the user's grants to it (access and
// refresh tokens stop working at once); the application must ask for
// consent again. ENotFound when the user gave it none.
func (s *GrantService) Revoke(ctx context.Context, clientID string) error {
	p, err := authorize(ctx, scopes.OpGrants)
	if err != nil {
		return err
	}
	notFound := Errorf(ENotFound, "grant %q not found", clientID)
	if !ValidID(clientID) {
		return notFound
	}
	if err := s.Consents.DeleteConsent(ctx, p.UserID, clientID); ErrorCode(err) == ENotFound {
		return notFound
	} else if err != nil {
		return err
	}
	families, err := s.Families.FamiliesOfGrant(ctx, p.UserID, clientID)
	if err != nil {
		return err
	}
	for _, id := range families {
		if err := s.Tokens.RevokeFamily(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
