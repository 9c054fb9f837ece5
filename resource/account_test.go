package resource_test

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// mustFamily stores a token family with one access token and returns the
// token's hash.
func mustFamily(t *testing.T, e *env, f *resource.TokenFamily) string {
	t.Helper()
	f.ExpiresAt = time.Now().Add(time.Hour)
	hash := resource.NewID()
	must(t, e.stores.tokens.CreateFamily(t.Context(), f, &resource.Token{
		Kind: resource.TokenAccess, Hash: hash, ClientID: f.ClientID, CustomerID: f.CustomerID, UserID: f.UserID,
		Scope: scopes.Me, IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
	}))
	return hash
}

// alive reports whether the token is still in the store.
func alive(t *testing.T, e *env, familyID, hash string) bool {
	t.Helper()
	_, err := e.stores.tokens.FindToken(t.Context(), familyID, hash)
	if code := resource.ErrorCode(err); code != "" && code != resource.ENotFound {
		t.Fatal(err)
	}
	return err == nil
}

func TestUserMe(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		t.Run("OK", func(t *testing.T) {
			u, c, err := e.users.Me(as(t, e.a.me()))
			requireCode(t, err, "")
			if u.ID != e.a.user.ID || c.ID != e.a.customer.ID {
				t.Fatalf("Me = %+v, %+v", u, c)
			}
		})
		t.Run("ErrNotFoundWrongCustomer", func(t *testing.T) {
			p := e.a.me()
			p.CustomerID = e.b.customer.ID // a token whose user moved or was forged
			_, _, err := e.users.Me(as(t, p))
			requireCode(t, err, resource.ENotFound)
		})
	})
}

func TestChangePassword(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		p := e.a.me()
		ctx := as(t, p)
		current := mustFamily(t, e, &resource.TokenFamily{ID: p.FamilyID, ClientID: p.ClientID, CustomerID: p.CustomerID, UserID: p.UserID})
		otherFamily := resource.NewFamilyID()
		other := mustFamily(t, e, &resource.TokenFamily{ID: otherFamily, ClientID: p.ClientID, CustomerID: p.CustomerID, UserID: p.UserID})
		bFamily := resource.NewFamilyID()
		bToken := mustFamily(t, e, &resource.TokenFamily{ID: bFamily, ClientID: p.ClientID, CustomerID: e.b.customer.ID, UserID: e.b.user.ID})
		for _, tc := range []struct {
			name               string
			old, pass, confirm string
			code, field        string
		}{
			{"ErrMismatch", testPassword, "brand new password", "brand new passw0rd", resource.EInvalid, "password_confirmation"},
			{"ErrWeak", testPassword, "short", "short", resource.EInvalid, "password"},
			{"ErrWrongOld", "not the password", "brand new password", "brand new password", resource.EForbidden, "old_password"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := e.users.ChangePassword(ctx, tc.old, tc.pass, tc.confirm)
				requireCode(t, err, tc.code)
				if got := resource.ErrorField(err); got != tc.field {
					t.Fatalf("field %q, want %q", got, tc.field)
				}
				if _, err := e.users.Authenticate(t.Context(), e.a.user.Email, testPassword); err != nil {
					t.Fatalf("the old password stopped working: %v", err)
				}
				if !alive(t, e, otherFamily, other) {
					t.Fatal("a failed change revoked tokens")
				}
			})
		}
		t.Run("OK", func(t *testing.T) {
			requireCode(t, e.users.ChangePassword(ctx, testPassword, "brand new password", "brand new password"), "")
			_, err := e.users.Authenticate(t.Context(), e.a.user.Email, testPassword)
			requireCode(t, err, resource.EUnauthenticated)
			_, err = e.users.Authenticate(t.Context(), e.a.user.Email, "brand new password")
			requireCode(t, err, "")
			if !alive(t, e, p.FamilyID, current) {
				t.Fatal("the session that changed the password was revoked")
			}
			if alive(t, e, otherFamily, other) {
				t.Fatal("another session of the user survived the change")
			}
			if !alive(t, e, bFamily, bToken) {
				t.Fatal("another user's session was revoked")
			}
		})
	})
}

func TestApplicationManagement(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := as(t, e.a.me())
		app, secret, err := e.apps.Register(ctx, resource.ApplicationInput{Name: "Backend", GrantTypes: []resource.GrantType{resource.GrantClientCredentials}})
		requireCode(t, err, "")
		if app.CustomerID != e.a.customer.ID || app.OwnerID != e.a.user.ID || secret == "" {
			t.Fatalf("registered %+v", app)
		}
		token := func(t *testing.T) (string, string) {
			f := resource.NewFamilyID()
			return f, mustFamily(t, e, &resource.TokenFamily{ID: f, ClientID: app.ID, CustomerID: app.CustomerID})
		}
		t.Run("ErrRegisterInvalid", func(t *testing.T) {
			_, _, err := e.apps.Register(ctx, resource.ApplicationInput{Name: "Public", TokenEndpointAuthMethod: resource.AuthNone,
				GrantTypes: []resource.GrantType{resource.GrantClientCredentials}})
			requireInvalid(t, err, "grant_types")
			_, _, err = e.apps.Register(ctx, resource.ApplicationInput{Name: "Web", GrantTypes: []resource.GrantType{resource.GrantAuthorizationCode},
				RedirectURIs: []string{"https://example.com/cb#frag"}})
			requireInvalid(t, err, "redirect_uris")
		})
		t.Run("List", func(t *testing.T) {
			list, err := e.apps.List(ctx, appQuery{Page: resource.Page{Size: 10}})
			requireCode(t, err, "")
			if list.Total != 1 || list.Applications[0].ID != app.ID {
				t.Fatalf("list %+v", list)
			}
			_, err = e.apps.List(ctx, appQuery{Sort: []resource.SortField{{Field: "name"}}})
			requireInvalid(t, err, "sort")
		})
		t.Run("UpdatePatch", func(t *testing.T) {
			got, err := e.apps.Update(ctx, app.ID, resource.ApplicationPatch{
				Name: resource.Some("Renamed"), AccessTokenTTL: resource.Some(600), Scopes: resource.Some([]string{scopes.Basic}),
			})
			requireCode(t, err, "")
			if got.Name != "Renamed" || got.AccessTokenTTL != 600 || len(got.Scopes) != 1 || !got.HasGrant(resource.GrantClientCredentials) {
				t.Fatalf("updated %+v", got)
			}
			got, err = e.apps.Update(ctx, app.ID, resource.ApplicationPatch{AccessTokenTTL: resource.Null[int]()})
			requireCode(t, err, "")
			if got.AccessTokenTTL != resource.DefaultAccessTokenTTL || got.Name != "Renamed" {
				t.Fatalf("reset %+v", got)
			}
			_, err = e.apps.Update(ctx, app.ID, resource.ApplicationPatch{TokenEndpointAuthMethod: resource.Some(resource.AuthNone)})
			requireInvalid(t, err, "grant_types")
			_, err = e.apps.Update(ctx, app.ID, resource.ApplicationPatch{Name: resource.Null[string]()})
			requireInvalid(t, err, "name")
			stored, err := e.apps.Read(ctx, app.ID)
			must(t, err)
			if stored.TokenEndpointAuthMethod != resource.AuthClientSecretBasic || stored.Name != "Renamed" {
				t.Fatalf("a failed update changed the application: %+v", stored)
			}
		})
		t.Run("RenewSecret", func(t *testing.T) {
			_, fresh, err := e.apps.RenewSecret(ctx, app.ID)
			requireCode(t, err, "")
			_, err = e.apps.Authenticate(t.Context(), app.ID, secret)
			requireCode(t, err, resource.EUnauthenticated)
			_, err = e.apps.Authenticate(t.Context(), app.ID, fresh)
			requireCode(t, err, "")
			secret = fresh
		})
		t.Run("DisableRevokesTokens", func(t *testing.T) {
			f, h := token(t)
			_, err := e.apps.Update(ctx, app.ID, resource.ApplicationPatch{Enabled: resource.Some(false)})
			requireCode(t, err, "")
			if alive(t, e, f, h) {
				t.Fatal("a disabled application's token still works")
			}
			_, err = e.apps.Update(ctx, app.ID, resource.ApplicationPatch{Enabled: resource.Some(true)})
			requireCode(t, err, "")
		})
		t.Run("DeleteRevokesTokens", func(t *testing.T) {
			f, h := token(t)
			keepFamily := resource.NewFamilyID()
			other := storagetest.MustCreateApplication(t, e.stores.apps, e.a.customer.ID, e.a.user.ID)
			keep := mustFamily(t, e, &resource.TokenFamily{ID: keepFamily, ClientID: other.ID, CustomerID: other.CustomerID})
			requireCode(t, e.apps.Delete(ctx, app.ID), "")
			if alive(t, e, f, h) {
				t.Fatal("a deleted application's token still works")
			}
			if !alive(t, e, keepFamily, keep) {
				t.Fatal("another application's token was revoked")
			}
			_, err := e.apps.Read(ctx, app.ID)
			requireCode(t, err, resource.ENotFound)
			requireCode(t, e.apps.Delete(ctx, app.ID), resource.ENotFound)
		})
	})
}
