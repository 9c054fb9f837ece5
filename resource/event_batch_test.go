package resource_test

import (
	"context"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestStatsMany checks that the batch stats keep the rules of Stats: the
// same figures, only the principal's customer's devices, a device token
// only its own device, and the same scope.
func TestStatsMany(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		extra := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
		for _, d := range []*resource.Device{e.a.device, extra, e.b.device} {
			storagetest.MustCreateEvents(t, e.stores.events, storagetest.NewEvent(d.CustomerID, d.ID, resource.EventShock, time.Now().Add(-time.Hour)))
		}
		storagetest.MustCreateEvents(t, e.stores.events, storagetest.NewEvent(extra.CustomerID, extra.ID, resource.EventLocation, time.Now().Add(-48*time.Hour)))
		ids := []string{e.a.device.ID, extra.ID, e.b.device.ID, "not-an-id", resource.NewID(), e.a.device.ID}
		single := func(t *testing.T, ctx context.Context, id string) *resource.DeviceStats {
			t.Helper()
			st, err := e.events.Stats(ctx, id)
			must(t, err)
			return st
		}
		t.Run("OK", func(t *testing.T) {
			me := as(t, e.a.me())
			got, err := e.events.StatsMany(me, ids)
			must(t, err)
			requireEqual(t, got, map[string]*resource.DeviceStats{e.a.device.ID: single(t, me, e.a.device.ID), extra.ID: single(t, me, extra.ID)})
			requireEqual(t, []int{got[extra.ID].TotalEvents, got[extra.ID].EventsLast24h}, []int{2, 1})
		})
		t.Run("DeviceToken", func(t *testing.T) {
			dev := as(t, e.a.deviceToken(scopes.DeviceRead))
			got, err := e.events.StatsMany(dev, ids)
			must(t, err)
			requireEqual(t, got, map[string]*resource.DeviceStats{e.a.device.ID: single(t, dev, e.a.device.ID)})
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			_, err := e.events.StatsMany(as(t, e.a.deviceToken(scopes.EventsRead)), ids)
			requireCode(t, err, resource.EForbidden)
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			_, err := e.events.StatsMany(t.Context(), ids)
			requireCode(t, err, resource.EUnauthenticated)
		})
	})
}

// TestDeviceTokenListMany checks that the batch token lists keep the rules
// of List: the same lists, only the principal's customer's devices, and
// the same scope (user tokens only).
func TestDeviceTokenListMany(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		mustDeviceToken(t, e, e.a, resource.DeviceTokenInput{Name: "One"})
		mustDeviceToken(t, e, e.a, resource.DeviceTokenInput{Name: "Two"})
		mustDeviceToken(t, e, e.b, resource.DeviceTokenInput{Name: "Other"})
		none := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
		ids := []string{e.a.device.ID, e.b.device.ID, none.ID, "not-an-id"}
		t.Run("OK", func(t *testing.T) {
			me := as(t, e.a.me())
			got, err := e.deviceTokens.ListMany(me, ids)
			must(t, err)
			want, err := e.deviceTokens.List(me, e.a.device.ID)
			must(t, err)
			if len(want) != 2 {
				t.Fatalf("List: %d tokens, want 2", len(want))
			}
			requireEqual(t, got, map[string][]*resource.DeviceToken{e.a.device.ID: want})
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			_, err := e.deviceTokens.ListMany(as(t, e.a.deviceToken(scopes.AllPermissions()...)), ids)
			requireCode(t, err, resource.EForbidden)
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			_, err := e.deviceTokens.ListMany(t.Context(), ids)
			requireCode(t, err, resource.EUnauthenticated)
		})
	})
}
