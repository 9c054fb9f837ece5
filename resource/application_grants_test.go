package resource_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestApplicationOperatorGrants is the regression test of operator grants:
// implicit and password are the operator's to enable (the CLI's Create);
// a user, through the APIs (Register, Update), can neither register them
// nor add them, but keeps them on an application the operator gave them.
func TestApplicationOperatorGrants(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := as(t, e.a.me())
		const cb = "https://app.example.com/cb"
		t.Run("ErrRegister", func(t *testing.T) {
			for _, in := range []resource.ApplicationInput{
				{Name: "Mobile", GrantTypes: []resource.GrantType{resource.GrantPassword, resource.GrantRefreshToken}},
				{Name: "SPA", GrantTypes: []resource.GrantType{resource.GrantImplicit}, RedirectURIs: []string{cb}, TokenEndpointAuthMethod: resource.AuthNone},
				{Name: "Both", GrantTypes: []resource.GrantType{resource.GrantAuthorizationCode, resource.GrantImplicit}, RedirectURIs: []string{cb}},
			} {
				_, _, err := e.apps.Register(ctx, in)
				requireInvalid(t, err, "grant_types")
				if msg := resource.ErrorMessage(err); !strings.Contains(msg, "operator") {
					t.Fatalf("%s: message %q does not say who may", in.Name, msg)
				}
			}
			list, err := e.apps.List(ctx, appQuery{Page: resource.Page{Size: 10}})
			must(t, err)
			if list.Total != 0 {
				t.Fatalf("a refused registration left %d applications", list.Total)
			}
		})
		t.Run("ErrPublicPassword", func(t *testing.T) {
			// Not even the operator makes a public password client.
			_, _, err := e.apps.Create(t.Context(), e.a.user.ID, resource.ApplicationInput{Name: "Public",
				GrantTypes: []resource.GrantType{resource.GrantPassword}, TokenEndpointAuthMethod: resource.AuthNone})
			requireInvalid(t, err, "grant_types")
		})
		t.Run("ErrUpdateAdds", func(t *testing.T) {
			a, _, err := e.apps.Register(ctx, resource.ApplicationInput{Name: "Web",
				GrantTypes: []resource.GrantType{resource.GrantAuthorizationCode}, RedirectURIs: []string{cb}})
			must(t, err)
			for _, g := range []resource.GrantType{resource.GrantImplicit, resource.GrantPassword} {
				_, err := e.apps.Update(ctx, a.ID, resource.ApplicationPatch{
					GrantTypes: resource.Some([]resource.GrantType{resource.GrantAuthorizationCode, g})})
				requireInvalid(t, err, "grant_types")
			}
			stored, err := e.apps.Read(ctx, a.ID)
			must(t, err)
			if !slices.Equal(stored.GrantTypes, []resource.GrantType{resource.GrantAuthorizationCode}) {
				t.Fatalf("a refused update changed the grants: %v", stored.GrantTypes)
			}
		})
		t.Run("OKOperatorGrantsKept", func(t *testing.T) {
			a, _, err := e.apps.Create(t.Context(), e.a.user.ID, resource.ApplicationInput{Name: "Legacy",
				GrantTypes: []resource.GrantType{resource.GrantPassword, resource.GrantImplicit, resource.GrantRefreshToken}, RedirectURIs: []string{cb}})
			must(t, err)
			got, err := e.apps.Update(ctx, a.ID, resource.ApplicationPatch{Name: resource.Some("Legacy 2"), AccessTokenTTL: resource.Some(600)})
			must(t, err)
			if !got.HasGrant(resource.GrantPassword) || !got.HasGrant(resource.GrantImplicit) {
				t.Fatalf("a user's edit dropped the operator's grants: %v", got.GrantTypes)
			}
			// Reordering or dropping is the user's to do...
			got, err = e.apps.Update(ctx, a.ID, resource.ApplicationPatch{
				GrantTypes: resource.Some([]resource.GrantType{resource.GrantRefreshToken, resource.GrantPassword})})
			must(t, err)
			if got.HasGrant(resource.GrantImplicit) || !got.HasGrant(resource.GrantPassword) {
				t.Fatalf("grants %v", got.GrantTypes)
			}
			// ...but what was dropped is the operator's to give back.
			_, err = e.apps.Update(ctx, a.ID, resource.ApplicationPatch{
				GrantTypes: resource.Some([]resource.GrantType{resource.GrantRefreshToken, resource.GrantPassword, resource.GrantImplicit})})
			requireInvalid(t, err, "grant_types")
		})
	})
}
