package storagetest

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// NewDeviceToken returns a catalogue entry for a token of a device, with all
// permissions and no expiry, created at created.
func NewDeviceToken(customerID, deviceID string, created time.Time) *resource.DeviceToken {
	id := resource.NewID()
	return &resource.DeviceToken{ID: id, CustomerID: customerID, DeviceID: deviceID, FamilyID: resource.NewFamilyID(),
		Name: "Token " + id, Permissions: []string{"device:read", "events:read", "events:write"}, CreatedAt: created}
}

// TestDeviceTokenStore runs the contract of resource.DeviceTokenStore
// against tokens; devices and customers must share its database.
func TestDeviceTokenStore(t *testing.T, tokens resource.DeviceTokenStore, devices resource.DeviceStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	other := MustCreateCustomer(t, customers)
	newDevice := func(t *testing.T) *resource.Device {
		return MustCreateDevice(t, devices, NewDevice(cust.ID, testTime(0)))
	}
	create := func(t *testing.T, dt *resource.DeviceToken) *resource.DeviceToken {
		t.Helper()
		requireCode(t, tokens.CreateDeviceToken(t.Context(), dt), "")
		return dt
	}
	list := func(t *testing.T, customerID, deviceID string, now time.Time) []string {
		t.Helper()
		got, err := tokens.ListDeviceTokens(t.Context(), customerID, deviceID, now)
		requireCode(t, err, "")
		ids := []string{}
		for _, dt := range got {
			ids = append(ids, dt.ID)
		}
		return ids
	}
	t.Run("Create", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			d := newDevice(t)
			dt := NewDeviceToken(cust.ID, d.ID, testTime(0).In(otherZone()))
			dt.Permissions = []string{"events:write"}
			dt.ExpiresAt = timePtr(testTime(time.Hour).In(otherZone()))
			create(t, dt)
			got, err := tokens.FindDeviceToken(t.Context(), cust.ID, d.ID, dt.ID)
			requireCode(t, err, "")
			requireEqual(t, got, &resource.DeviceToken{ID: dt.ID, CustomerID: cust.ID, DeviceID: d.ID, FamilyID: dt.FamilyID,
				Name: dt.Name, Permissions: []string{"events:write"}, CreatedAt: testTime(0), ExpiresAt: timePtr(testTime(time.Hour))})
		})
		t.Run("ErrConflict", func(t *testing.T) {
			d := newDevice(t)
			dt := create(t, NewDeviceToken(cust.ID, d.ID, testTime(0)))
			dup := NewDeviceToken(cust.ID, d.ID, testTime(0))
			dup.ID = dt.ID
			requireCode(t, tokens.CreateDeviceToken(t.Context(), dup), resource.EConflict)
			sameFamily := NewDeviceToken(cust.ID, d.ID, testTime(0))
			sameFamily.FamilyID = dt.FamilyID
			requireCode(t, tokens.CreateDeviceToken(t.Context(), sameFamily), resource.EConflict)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			requireCode(t, tokens.CreateDeviceToken(t.Context(), NewDeviceToken(cust.ID, resource.NewID(), testTime(0))), resource.ENotFound)
		})
	})
	t.Run("List", func(t *testing.T) {
		d := newDevice(t)
		b := create(t, NewDeviceToken(cust.ID, d.ID, testTime(time.Minute)))
		a := create(t, NewDeviceToken(cust.ID, d.ID, testTime(0)))
		expiring := NewDeviceToken(cust.ID, d.ID, testTime(2*time.Minute))
		expiring.ExpiresAt = timePtr(testTime(time.Hour))
		create(t, expiring)
		create(t, NewDeviceToken(cust.ID, newDevice(t).ID, testTime(0))) // another device's
		requireEqual(t, list(t, cust.ID, d.ID, testTime(time.Hour-time.Microsecond)), []string{a.ID, b.ID, expiring.ID})
		requireEqual(t, list(t, cust.ID, d.ID, testTime(time.Hour)), []string{a.ID, b.ID})
		requireEqual(t, list(t, other.ID, d.ID, testTime(0)), []string{})
	})
	t.Run("ListMany", func(t *testing.T) {
		d, e, none := newDevice(t), newDevice(t), newDevice(t)
		create(t, NewDeviceToken(cust.ID, d.ID, testTime(time.Minute)))
		create(t, NewDeviceToken(cust.ID, d.ID, testTime(0)))
		expired := NewDeviceToken(cust.ID, d.ID, testTime(0))
		expired.ExpiresAt = timePtr(testTime(time.Second))
		create(t, expired)
		create(t, NewDeviceToken(cust.ID, e.ID, testTime(0)))
		foreign := MustCreateDevice(t, devices, NewDevice(other.ID, testTime(0)))
		create(t, NewDeviceToken(other.ID, foreign.ID, testTime(0)))
		now := testTime(time.Hour)
		got, err := tokens.ListDeviceTokensMany(t.Context(), cust.ID, []string{e.ID, d.ID, none.ID, foreign.ID}, now)
		requireCode(t, err, "")
		byDevice := map[string][]*resource.DeviceToken{}
		for _, dt := range got {
			byDevice[dt.DeviceID] = append(byDevice[dt.DeviceID], dt)
		}
		want := map[string][]*resource.DeviceToken{}
		for _, id := range []string{d.ID, e.ID, none.ID} {
			single, err := tokens.ListDeviceTokens(t.Context(), cust.ID, id, now)
			requireCode(t, err, "")
			if len(single) > 0 {
				want[id] = single
			}
		}
		requireEqual(t, byDevice, want)
		requireEqual(t, []int{len(want[d.ID]), len(want[e.ID])}, []int{2, 1})
		got, err = tokens.ListDeviceTokensMany(t.Context(), other.ID, []string{d.ID, e.ID}, now)
		requireCode(t, err, "")
		requireEqual(t, got, []*resource.DeviceToken{})
	})
	t.Run("Find", func(t *testing.T) {
		d := newDevice(t)
		dt := create(t, NewDeviceToken(cust.ID, d.ID, testTime(0)))
		for _, c := range [][3]string{{other.ID, d.ID, dt.ID}, {cust.ID, newDevice(t).ID, dt.ID}, {cust.ID, d.ID, resource.NewID()}} {
			_, err := tokens.FindDeviceToken(t.Context(), c[0], c[1], c[2])
			requireCode(t, err, resource.ENotFound)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		d := newDevice(t)
		dt := create(t, NewDeviceToken(cust.ID, d.ID, testTime(0)))
		requireCode(t, tokens.DeleteDeviceToken(t.Context(), other.ID, d.ID, dt.ID), resource.ENotFound)
		requireCode(t, tokens.DeleteDeviceToken(t.Context(), cust.ID, d.ID, dt.ID), "")
		requireCode(t, tokens.DeleteDeviceToken(t.Context(), cust.ID, d.ID, dt.ID), resource.ENotFound)
		requireEqual(t, list(t, cust.ID, d.ID, testTime(0)), []string{})
	})
	t.Run("DeviceDeleted", func(t *testing.T) {
		d := newDevice(t)
		dt := create(t, NewDeviceToken(cust.ID, d.ID, testTime(0)))
		requireCode(t, devices.DeleteDevice(t.Context(), cust.ID, d.ID), "")
		_, err := tokens.FindDeviceToken(t.Context(), cust.ID, d.ID, dt.ID)
		requireCode(t, err, resource.ENotFound)
	})
}
