package resource_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
)

// bearerResolver returns the bearer resolver the server uses (the OAuth
// server's), on e's database, at the time now returns (nil: e's own).
func bearerResolver(t *testing.T, e *env, now func() time.Time) scopes.Resolver {
	if now == nil {
		return e.app.Resolver
	}
	return mustApp(t, e.app.Config(), e.db, wire.WithClock(now)).Resolver
}

func TestDeviceTokens(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		me := as(t, e.a.me())
		resolve := bearerResolver(t, e, nil)
		t.Run("CreateResolves", func(t *testing.T) {
			user := e.a.me()
			dt, secret, err := e.deviceTokens.Create(as(t, user), e.a.device.ID, resource.DeviceTokenInput{Name: "  Sensor  "})
			must(t, err)
			if !strings.HasPrefix(secret, resource.DeviceTokenPrefix) || dt.Name != "Sensor" {
				t.Fatalf("token %q named %q", secret, dt.Name)
			}
			all := []string{"device:read", "events:read", "events:write", "resources:call"} // no permissions asked for: every one
			requireEqual(t, dt.Permissions, all)
			p, err := resolve(t.Context(), secret)
			must(t, err)
			requireEqual(t, p, &scopes.Principal{Kind: scopes.KindDevice, CustomerID: e.a.customer.ID, DeviceID: e.a.device.ID,
				ClientID: user.ClientID, TokenID: dt.ID, FamilyID: dt.FamilyID, Permissions: all})
			// Stored only hashed: the secret appears nowhere in the database.
			var plain, hashed int
			must(t, db.GetContext(t.Context(), &plain, db.Rebind(`SELECT COUNT(*) FROM tokens WHERE hash = ? OR id = ? OR name = ?`),
				secret, secret, secret))
			must(t, db.GetContext(t.Context(), &hashed, db.Rebind(`SELECT COUNT(*) FROM tokens WHERE hash = ?`),
				resource.KeyedHash(e.tokenKey, secret)))
			requireEqual(t, []int{plain, hashed}, []int{0, 1})
		})
		t.Run("Permissions", func(t *testing.T) {
			dt, secret := mustDeviceToken(t, e, e.a, resource.DeviceTokenInput{Name: "Writer",
				Permissions: []string{scopes.EventsWrite, scopes.DeviceRead, scopes.EventsWrite}})
			requireEqual(t, dt.Permissions, []string{scopes.DeviceRead, scopes.EventsWrite})
			p, err := resolve(t.Context(), secret)
			must(t, err)
			ctx := scopes.NewContext(t.Context(), p)
			_, _, err = e.events.Ingest(ctx, e.a.device.ID, temperature(20), "")
			must(t, err)
			_, err = e.devices.Find(ctx, e.a.device.ID)
			must(t, err)
			_, err = e.events.List(ctx, eventQuery{})
			requireCode(t, err, resource.EForbidden)
			for _, perms := range [][]string{{}, {"events:delete"}, {scopes.Me}} {
				_, _, err := e.deviceTokens.Create(me, e.a.device.ID, resource.DeviceTokenInput{Name: "Bad", Permissions: perms})
				requireInvalid(t, err, "permissions")
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			past := time.Now().Add(-time.Second)
			for field, in := range map[string]resource.DeviceTokenInput{
				"name":       {Name: " "},
				"expires_at": {Name: "Late", ExpiresAt: &past},
			} {
				_, _, err := e.deviceTokens.Create(me, e.a.device.ID, in)
				requireInvalid(t, err, field)
			}
		})
		t.Run("ListRevoke", func(t *testing.T) {
			d := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
			a, secretA, err := e.deviceTokens.Create(me, d.ID, resource.DeviceTokenInput{Name: "A"})
			must(t, err)
			b, secretB, err := e.deviceTokens.Create(me, d.ID, resource.DeviceTokenInput{Name: "B"})
			must(t, err)
			list, err := e.deviceTokens.List(me, d.ID)
			must(t, err)
			requireEqual(t, []string{list[0].ID, list[1].ID}, []string{a.ID, b.ID})
			must(t, e.deviceTokens.Revoke(me, d.ID, a.ID))
			_, err = resolve(t.Context(), secretA)
			if !errors.Is(err, scopes.ErrInvalidToken) {
				t.Fatalf("revoked token resolves: %v", err)
			}
			_, err = resolve(t.Context(), secretB)
			must(t, err)
			requireCode(t, e.deviceTokens.Revoke(me, d.ID, a.ID), resource.ENotFound)
			list, err = e.deviceTokens.List(me, d.ID)
			must(t, err)
			requireEqual(t, len(list), 1)
		})
		t.Run("Read", func(t *testing.T) {
			// Issue 18 item 13: one token alone, never its secret.
			dt, _ := mustDeviceToken(t, e, e.a, resource.DeviceTokenInput{Name: "Alone", Permissions: []string{scopes.EventsRead}})
			got, err := e.deviceTokens.Read(me, e.a.device.ID, dt.ID)
			must(t, err)
			requireEqual(t, got, dt)
			t.Run("ErrNotFound", func(t *testing.T) {
				other := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
				past := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
				expired := storagetest.NewDeviceToken(e.a.customer.ID, e.a.device.ID, past.Add(-time.Hour))
				expired.ExpiresAt = &past
				must(t, e.stores.deviceTokens.CreateDeviceToken(t.Context(), expired))
				revoked, _ := mustDeviceToken(t, e, e.a, resource.DeviceTokenInput{Name: "Gone"})
				must(t, e.deviceTokens.Revoke(me, e.a.device.ID, revoked.ID))
				for name, c := range map[string][2]string{
					"OtherDevice": {other.ID, dt.ID}, "UnknownID": {e.a.device.ID, resource.NewID()}, "BadID": {e.a.device.ID, "nope"},
					"Expired": {e.a.device.ID, expired.ID}, "Revoked": {e.a.device.ID, revoked.ID}, "BadDevice": {"nope", dt.ID},
				} {
					_, err := e.deviceTokens.Read(me, c[0], c[1])
					if resource.ErrorCode(err) != resource.ENotFound {
						t.Fatalf("%s: %v, want ENotFound", name, err)
					}
				}
				_, err := e.deviceTokens.Read(as(t, e.b.me()), e.a.device.ID, dt.ID)
				requireCode(t, err, resource.ENotFound)
			})
			t.Run("ErrForbidden", func(t *testing.T) {
				app := &scopes.Principal{Kind: scopes.KindApplication, CustomerID: e.a.customer.ID, ClientID: resource.NewID(), Scopes: []string{scopes.App}}
				_, err := e.deviceTokens.Read(as(t, app), e.a.device.ID, dt.ID)
				requireCode(t, err, resource.EForbidden)
			})
		})
		t.Run("Expiry", func(t *testing.T) {
			soon := time.Now().Add(time.Hour)
			dt, secret := mustDeviceToken(t, e, e.a, resource.DeviceTokenInput{Name: "Brief", ExpiresAt: &soon})
			requireEqual(t, dt.ExpiresAt.Unix(), soon.Unix())
			_, err := resolve(t.Context(), secret)
			must(t, err)
			later := bearerResolver(t, e, func() time.Time { return soon.Add(time.Second) })
			_, err = later(t.Context(), secret)
			if !errors.Is(err, scopes.ErrInvalidToken) {
				t.Fatalf("expired token resolves: %v", err)
			}
		})
		t.Run("DeviceDeleteRevokes", func(t *testing.T) {
			d := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
			_, secret, err := e.deviceTokens.Create(me, d.ID, resource.DeviceTokenInput{Name: "Doomed"})
			must(t, err)
			must(t, e.devices.Delete(me, d.ID))
			if _, err := resolve(t.Context(), secret); !errors.Is(err, scopes.ErrInvalidToken) {
				t.Fatalf("a deleted device's token resolves: %v", err)
			}
		})
		t.Run("TenantIsolation", func(t *testing.T) {
			b := as(t, e.b.me())
			dt, _ := mustDeviceToken(t, e, e.a, resource.DeviceTokenInput{Name: "Mine"})
			_, _, err := e.deviceTokens.Create(b, e.a.device.ID, resource.DeviceTokenInput{Name: "Theirs"})
			requireCode(t, err, resource.ENotFound)
			_, err = e.deviceTokens.List(b, e.a.device.ID)
			requireCode(t, err, resource.ENotFound)
			requireCode(t, e.deviceTokens.Revoke(b, e.a.device.ID, dt.ID), resource.ENotFound)
			// B's device with A's token id: still not found.
			requireCode(t, e.deviceTokens.Revoke(b, e.b.device.ID, dt.ID), resource.ENotFound)
		})
		t.Run("ErrConflictTooMany", func(t *testing.T) {
			d := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
			for range resource.MaxDeviceTokens {
				must(t, e.stores.deviceTokens.CreateDeviceToken(t.Context(), storagetest.NewDeviceToken(d.CustomerID, d.ID, time.Now())))
			}
			_, _, err := e.deviceTokens.Create(me, d.ID, resource.DeviceTokenInput{Name: "One more"})
			requireCode(t, err, resource.EConflict)
		})
		t.Run("ErrInvalidToken", func(t *testing.T) {
			_, secret := mustDeviceToken(t, e, e.a, resource.DeviceTokenInput{Name: "R"})
			for _, bad := range []string{"agdt_short", resource.NewToken(resource.DeviceTokenPrefix, resource.NewFamilyID()),
				secret[:len(secret)-1] + "x", resource.AccessTokenPrefix + secret[len(resource.DeviceTokenPrefix):]} {
				if _, err := resolve(t.Context(), bad); !errors.Is(err, scopes.ErrInvalidToken) {
					t.Fatalf("%q: %v, want ErrInvalidToken", bad, err)
				}
			}
		})
	})
}
