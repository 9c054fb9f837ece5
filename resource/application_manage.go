package resource

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/assetgate/assetgate/scopes"
)

// This file holds the principal-checked application operations of the APIs
// (only `me` tokens, only the principal's customer). The methods in
// application.go without a principal serve the CLI and the authorization
// server.

var applicationSpec = QuerySpec{}

// ApplicationListFilter is the filter of an application list: it has no
// fields, applications are not filtered.
type ApplicationListFilter struct{}

// ApplicationQuerySpec returns what application lists accept: no filters,
// sorts or include paths, only a page (oldest first).
func ApplicationQuerySpec() QuerySpec { return applicationSpec.clone() }

// ApplicationList is a page of applications.
type ApplicationList struct {
	Applications []*Application
	Total        int
	Page         Page
}

// ApplicationPatch changes some settings of an application; absent fields
// stay as they are. Null empties a list and resets a number, the
// authentication method or the PKCE enforcement to its default; Name and
// Enabled cannot be null.
type ApplicationPatch struct {
	Name                        Optional[string]
	GrantTypes                  Optional[[]GrantType]
	RedirectURIs                Optional[[]string]
	PostLogoutRedirectURIs      Optional[[]string]
	TokenEndpointAuthMethod     Optional[AuthMethod]
	PKCEEnforcement             Optional[PKCELevel]
	Scopes                      Optional[[]string]
	AccessTokenTTL              Optional[int]
	RefreshTokenDuration        Optional[int]
	RefreshTokenRollingDuration Optional[int]
	DeviceTimeout               Optional[int]
	DevicePollingInterval       Optional[int]
	Enabled                     Optional[bool]
}

// List returns a page of the principal's customer's applications, oldest
// first. EInvalid for any sort field or include path, or a bad page;
// EUnauthenticated, EForbidden.
func (s *ApplicationService) List(ctx context.Context, q ListQuery[ApplicationListFilter]) (*ApplicationList, error) {
	p, err := authorize(ctx, scopes.OpApplications)
	if err != nil {
		return nil, err
	}
	c, err := applicationSpec.check(q.Sort, q.Page, q.Include)
	if err != nil {
		return nil, err
	}
	apps, total, err := s.Store.ListApplications(ctx, p.CustomerID, c.page.Offset(), c.page.Size)
	if err != nil {
		return nil, err
	}
	for _, a := range apps {
		showEffectivePKCE(a)
	}
	return &ApplicationList{Applications: apps, Total: total, Page: c.page}, nil
}

// Read returns an application of the principal's customer. ENotFound,
// EUnauthenticated, EForbidden.
func (s *ApplicationService) Read(ctx context.Context, id string) (*Application, error) {
	p, err := authorize(ctx, scopes.OpApplications)
	if err != nil {
		return nil, err
	}
	return s.own(ctx, p, id)
}

// own returns an application of the principal's customer, or ENotFound.
func (s *ApplicationService) own(ctx context.Context, p *scopes.Principal, id string) (*Application, error) {
	a, err := s.Find(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.CustomerID != p.CustomerID {
		return nil, Errorf(ENotFound, "application %q not found", id)
	}
	return a, nil
}

// Register creates an application owned by the principal's user and
// returns it with its client secret (shown once; "" for public clients).
// No operator vouched for its redirect URIs (RedirectURIsTrusted is false),
// and it may not use OperatorGrants. EInvalid for inconsistent settings or
// an operator grant; EUnauthenticated, EForbidden.
func (s *ApplicationService) Register(ctx context.Context, in ApplicationInput) (*Application, string, error) {
	p, err := authorize(ctx, scopes.OpApplications)
	if err != nil {
		return nil, "", err
	}
	if !ValidID(p.UserID) {
		return nil, "", Errorf(ENotFound, "user not found")
	}
	owner, err := s.Users.FindUser(ctx, p.UserID)
	if err != nil {
		return nil, "", err
	}
	if owner.CustomerID != p.CustomerID {
		return nil, "", Errorf(ENotFound, "user not found")
	}
	return s.create(ctx, owner.ID, in, false)
}

// Update changes the settings of an application that patch sets. Switching
// to the `none` authentication method drops the client secret; switching a
// public client to a confidential method leaves it without a secret until
// RenewSecret gives it one. Disabling an application revokes its tokens.
// OperatorGrants the application has stay, but none can be added (EInvalid
// on grant_types); adding a redirect URI ends the operator's vouching
// (RedirectURIsTrusted), removing one does not. ENotFound, EInvalid;
// EUnauthenticated, EForbidden.
func (s *ApplicationService) Update(ctx context.Context, id string, patch ApplicationPatch) (*Application, error) {
	p, err := authorize(ctx, scopes.OpApplications)
	if err != nil {
		return nil, err
	}
	a, err := s.own(ctx, p, id)
	if err != nil {
		return nil, err
	}
	wasEnabled := a.Enabled
	grants, uris := slices.Clone(a.GrantTypes), slices.Clone(a.RedirectURIs)
	var bad invalids
	_ = bad.add(applyApplicationPatch(a, patch))
	if len(bad.errs) == 0 {
		_ = bad.add(ValidateApplication(a))
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	if err := checkOperatorGrants(grants, a.GrantTypes); err != nil {
		return nil, err
	}
	for _, u := range a.RedirectURIs {
		if !slices.Contains(uris, u) {
			a.RedirectURIsTrusted = false
		}
	}
	if a.Public() {
		a.SecretHash = ""
	}
	if wasEnabled && !a.Enabled && s.Tokens == nil {
		return nil, errors.New("resource: ApplicationService.Tokens is not set")
	}
	a.UpdatedAt = nowUTC(s.Now)
	if err := s.Store.UpdateApplication(ctx, a); err != nil {
		return nil, err
	}
	if wasEnabled && !a.Enabled {
		if err := s.Tokens.RevokeClient(ctx, a.ID); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// RenewSecret gives an application of the principal's customer a new
// client secret and returns it (shown once); the old one stops working at
// once. ENotFound; EInvalid for a public client; EUnauthenticated,
// EForbidden.
func (s *ApplicationService) RenewSecret(ctx context.Context, id string) (*Application, string, error) {
	p, err := authorize(ctx, scopes.OpApplications)
	if err != nil {
		return nil, "", err
	}
	a, err := s.own(ctx, p, id)
	if err != nil {
		return nil, "", err
	}
	secret, err := s.RotateSecret(ctx, a)
	if err != nil {
		return nil, "", err
	}
	return a, secret, nil
}

// Delete removes an application of the principal's customer and revokes
// every token issued to it, at once. ENotFound, EUnauthenticated,
// EForbidden.
func (s *ApplicationService) Delete(ctx context.Context, id string) error {
	p, err := authorize(ctx, scopes.OpApplications)
	if err != nil {
		return err
	}
	if s.Tokens == nil {
		return errors.New("resource: ApplicationService.Tokens is not set")
	}
	a, err := s.own(ctx, p, id)
	if err != nil {
		return err
	}
	// Revoke before deleting, so a failure leaves nothing half done, and
	// again after, for a token issued in between.
	if err := s.Tokens.RevokeClient(ctx, a.ID); err != nil {
		return err
	}
	if err := s.Store.DeleteApplication(ctx, a.ID); err != nil {
		return err
	}
	return s.Tokens.RevokeClient(ctx, a.ID)
}

// applyApplicationPatch copies the settings that patch sets into a; null
// takes the default of the setting.
func applyApplicationPatch(a *Application, patch ApplicationPatch) error {
	var bad invalids
	if v, ok, err := nonNull(patch.Name, "name"); err != nil {
		_ = bad.add(err)
	} else if ok {
		a.Name = strings.TrimSpace(v)
	}
	if v, ok, err := nonNull(patch.Enabled, "enabled"); err != nil {
		_ = bad.add(err)
	} else if ok {
		a.Enabled = v
	}
	patchList(patch.GrantTypes, &a.GrantTypes)
	for _, l := range []struct {
		o   Optional[[]string]
		dst *[]string
	}{
		{patch.RedirectURIs, &a.RedirectURIs}, {patch.PostLogoutRedirectURIs, &a.PostLogoutRedirectURIs}, {patch.Scopes, &a.Scopes},
	} {
		patchList(l.o, l.dst)
	}
	patchValue(patch.TokenEndpointAuthMethod, &a.TokenEndpointAuthMethod, AuthClientSecretBasic)
	patchValue(patch.PKCEEnforcement, &a.PKCEEnforcement, PKCES256Required)
	for _, n := range []struct {
		o   Optional[int]
		dst *int
		def int
	}{
		{patch.AccessTokenTTL, &a.AccessTokenTTL, DefaultAccessTokenTTL},
		{patch.RefreshTokenDuration, &a.RefreshTokenDuration, DefaultRefreshTokenDuration},
		{patch.RefreshTokenRollingDuration, &a.RefreshTokenRollingDuration, DefaultRefreshTokenRollingDuration},
		{patch.DeviceTimeout, &a.DeviceTimeout, DefaultDeviceTimeout},
		{patch.DevicePollingInterval, &a.DevicePollingInterval, DefaultDevicePollingInterval},
	} {
		if n.o.Set {
			*n.dst = n.o.Value
			if n.o.Null {
				*n.dst = n.def
			}
		}
	}
	return bad.err()
}

// patchList applies a patch of a list: null and [] empty it.
func patchList[T any](o Optional[[]T], dst *[]T) {
	if o.Set {
		*dst = []T{}
		if !o.Null && o.Value != nil {
			*dst = slices.Clone(o.Value)
		}
	}
}

// patchValue applies a patch of a value: null restores def.
func patchValue[T any](o Optional[T], dst *T, def T) {
	if o.Set {
		*dst = o.Value
		if o.Null {
			*dst = def
		}
	}
}
