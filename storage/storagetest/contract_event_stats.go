package storagetest

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// testDeviceStatsMany checks that the batch read of device stats gives,
// for each of several devices (one without events), what the single reads
// give (FindDevice and CountEvents, as EventService.Stats combines them),
// and leaves out another customer's device and unknown ids.
func testDeviceStatsMany(t *testing.T, events resource.EventStore, devices resource.DeviceStore, customerID, otherID string) {
	newDevice := func(customerID string) *resource.Device {
		return MustCreateDevice(t, devices, NewDevice(customerID, testTime(0)))
	}
	busy, quiet, none := newDevice(customerID), newDevice(customerID), newDevice(customerID)
	MustCreateEvents(t, events,
		NewEvent(customerID, busy.ID, resource.EventShock, testTime(-48*time.Hour)),
		NewEvent(customerID, busy.ID, resource.EventLocation, testTime(-time.Hour)),
		NewEvent(customerID, busy.ID, resource.EventStatus, testTime(0)))
	MustCreateEvents(t, events, NewEvent(customerID, quiet.ID, resource.EventBattery, testTime(-72*time.Hour)))
	foreign := newDevice(otherID)
	MustCreateEvents(t, events, NewEvent(otherID, foreign.ID, resource.EventShock, testTime(0)))
	since := testTime(-24 * time.Hour)

	single := func(t *testing.T, id string) *resource.DeviceStats {
		t.Helper()
		d, err := devices.FindDevice(t.Context(), customerID, id)
		requireCode(t, err, "")
		c, err := events.CountEvents(t.Context(), customerID, id, since)
		requireCode(t, err, "")
		return &resource.DeviceStats{DeviceID: d.ID, LastEventAt: d.LastEventAt, EventsLast24h: c.Recent, TotalEvents: c.Total,
			Latitude: d.Latitude, Longitude: d.Longitude, Fault: d.Fault}
	}
	t.Run("OK", func(t *testing.T) {
		got, err := events.DeviceStatsMany(t.Context(), customerID,
			[]string{busy.ID, quiet.ID, none.ID, foreign.ID, resource.NewID()}, since)
		requireCode(t, err, "")
		byID := map[string]*resource.DeviceStats{}
		for _, st := range got {
			byID[st.DeviceID] = st
		}
		want := map[string]*resource.DeviceStats{}
		for _, d := range []*resource.Device{busy, quiet, none} {
			want[d.ID] = single(t, d.ID)
		}
		requireEqual(t, byID, want)
		// The figures themselves, so that batch and single cannot agree on
		// a wrong value.
		requireEqual(t, []any{want[busy.ID].TotalEvents, want[busy.ID].EventsLast24h, want[busy.ID].Fault, want[busy.ID].LastEventAt, want[busy.ID].Latitude},
			[]any{3, 2, true, timePtr(testTime(0)), float(48.8566)})
		requireEqual(t, []any{want[quiet.ID].TotalEvents, want[quiet.ID].EventsLast24h}, []any{1, 0})
		requireEqual(t, want[none.ID], &resource.DeviceStats{DeviceID: none.ID})
	})
	t.Run("OtherCustomer", func(t *testing.T) {
		got, err := events.DeviceStatsMany(t.Context(), otherID, []string{busy.ID, quiet.ID}, since)
		requireCode(t, err, "")
		requireEqual(t, got, []*resource.DeviceStats{})
	})
}
