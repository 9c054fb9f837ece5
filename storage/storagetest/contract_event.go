package storagetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// NewEvent returns an event of a device (no id: stores assign it) of the
// given type with a valid payload, occurring at occurred.
func NewEvent(customerID, deviceID string, typ resource.EventType, occurred time.Time) *resource.Event {
	payload := map[resource.EventType]map[string]any{
		resource.EventLocation:    {resource.PayloadLatitude: 48.8566, resource.PayloadLongitude: 2.3522},
		resource.EventTemperature: {resource.PayloadCelsius: 21.5},
		resource.EventShock:       {resource.PayloadG: 3.25},
		resource.EventBattery:     {resource.PayloadPercent: 87.0},
		resource.EventStatus:      {resource.PayloadFault: true},
	}[typ]
	return &resource.Event{CustomerID: customerID, DeviceID: deviceID, Type: typ, OccurredAt: occurred,
		ReceivedAt: occurred.Add(time.Second), Payload: payload}
}

// MustCreateEvents stores events of one device (without idempotency key)
// and returns them with their ids.
func MustCreateEvents(tb testing.TB, s resource.EventStore, events ...*resource.Event) []*resource.Event {
	tb.Helper()
	b := &resource.EventBatch{CustomerID: events[0].CustomerID, DeviceID: events[0].DeviceID, Events: events}
	got, replayed, err := s.CreateEvents(tb.Context(), b)
	if err != nil || replayed {
		tb.Fatalf("create events: %v (replayed %v)", err, replayed)
	}
	return got
}

// eventIDs returns the ids of events, in order.
func eventIDs(events []*resource.Event) []string {
	ids := []string{}
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	return ids
}

// stored returns events as a store reads them back: no PrevID.
func stored(events ...*resource.Event) []*resource.Event {
	out := make([]*resource.Event, len(events))
	for i, e := range events {
		c := *e
		c.PrevID = ""
		out[i] = &c
	}
	return out
}

// TestEventStore runs the contract of resource.EventStore against events;
// devices and customers must share its database.
func TestEventStore(t *testing.T, events resource.EventStore, devices resource.DeviceStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	other := MustCreateCustomer(t, customers)
	newDevice := func(t *testing.T) *resource.Device {
		return MustCreateDevice(t, devices, NewDevice(cust.ID, testTime(0)))
	}
	device := func(t *testing.T, id string) *resource.Device {
		t.Helper()
		d, err := devices.FindDevice(t.Context(), cust.ID, id)
		requireCode(t, err, "")
		return d
	}
	all := func(t *testing.T, d *resource.Device) []*resource.Event {
		t.Helper()
		got, err := events.EventsAfter(t.Context(), cust.ID, d.ID, "", 1000)
		requireCode(t, err, "")
		return got
	}
	t.Run("Create", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			d := newDevice(t)
			e := NewEvent(cust.ID, d.ID, resource.EventTemperature, testTime(time.Hour).In(otherZone()))
			got := MustCreateEvents(t, events, e)
			if len(got) != 1 || !resource.ValidID(got[0].ID) || got[0].PrevID != "" {
				t.Fatalf("created %+v, want one event with an id and no PrevID", got)
			}
			want := NewEvent(cust.ID, d.ID, resource.EventTemperature, testTime(time.Hour))
			want.ID = got[0].ID
			requireEqual(t, all(t, d), []*resource.Event{want})
			requireEqual(t, device(t, d.ID).LastEventAt, timePtr(testTime(time.Hour)))
		})
		t.Run("Chain", func(t *testing.T) {
			d := newDevice(t)
			first := MustCreateEvents(t, events, NewEvent(cust.ID, d.ID, resource.EventShock, testTime(0)))[0]
			batch := MustCreateEvents(t, events, NewEvent(cust.ID, d.ID, resource.EventShock, testTime(time.Second)),
				NewEvent(cust.ID, d.ID, resource.EventBattery, testTime(-time.Hour)))
			if batch[0].PrevID != first.ID || batch[1].PrevID != batch[0].ID || !(first.ID < batch[0].ID && batch[0].ID < batch[1].ID) {
				t.Fatalf("ids %s < %s < %s with PrevIDs %q, %q: not a chain", first.ID, batch[0].ID, batch[1].ID, batch[0].PrevID, batch[1].PrevID)
			}
			requireEqual(t, eventIDs(all(t, d)), []string{first.ID, batch[0].ID, batch[1].ID})
			last, err := events.LastEventID(t.Context(), cust.ID, d.ID)
			requireCode(t, err, "")
			requireEqual(t, last, batch[1].ID)
		})
		t.Run("DeviceState", func(t *testing.T) {
			d := newDevice(t)
			loc := NewEvent(cust.ID, d.ID, resource.EventLocation, testTime(time.Minute))
			status := NewEvent(cust.ID, d.ID, resource.EventStatus, testTime(time.Minute))
			MustCreateEvents(t, events, loc, status)
			got := device(t, d.ID)
			requireEqual(t, []any{got.Latitude, got.Longitude, got.Fault, got.LastEventAt},
				[]any{float(48.8566), float(2.3522), true, timePtr(testTime(time.Minute))})
			// Older events (buffered offline) do not roll the state back.
			oldLoc := NewEvent(cust.ID, d.ID, resource.EventLocation, testTime(0))
			oldLoc.Payload = map[string]any{resource.PayloadLatitude: -33.9, resource.PayloadLongitude: 151.2}
			oldStatus := NewEvent(cust.ID, d.ID, resource.EventStatus, testTime(0))
			oldStatus.Payload = map[string]any{resource.PayloadFault: false}
			MustCreateEvents(t, events, oldLoc, oldStatus)
			got = device(t, d.ID)
			requireEqual(t, []any{got.Latitude, got.Longitude, got.Fault, got.LastEventAt},
				[]any{float(48.8566), float(2.3522), true, timePtr(testTime(time.Minute))})
			// Newer ones do; the latest of a batch wins.
			a := NewEvent(cust.ID, d.ID, resource.EventLocation, testTime(3*time.Minute))
			a.Payload = map[string]any{resource.PayloadLatitude: 1.5, resource.PayloadLongitude: -2.5}
			b := NewEvent(cust.ID, d.ID, resource.EventLocation, testTime(2*time.Minute))
			ok := NewEvent(cust.ID, d.ID, resource.EventStatus, testTime(2*time.Minute))
			ok.Payload = map[string]any{resource.PayloadFault: false}
			MustCreateEvents(t, events, a, b, ok)
			got = device(t, d.ID)
			requireEqual(t, []any{got.Latitude, got.Longitude, got.Fault, got.LastEventAt},
				[]any{float(1.5), float(-2.5), false, timePtr(testTime(3 * time.Minute))})
			// A status older than the last event of another type, but newer
			// than the last status, sets the fault.
			MustCreateEvents(t, events, NewEvent(cust.ID, d.ID, resource.EventTemperature, testTime(10*time.Minute)))
			MustCreateEvents(t, events, NewEvent(cust.ID, d.ID, resource.EventStatus, testTime(5*time.Minute)))
			got = device(t, d.ID)
			requireEqual(t, []any{got.Latitude, got.Longitude, got.Fault, got.LastEventAt},
				[]any{float(1.5), float(-2.5), true, timePtr(testTime(10 * time.Minute))})
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			d := newDevice(t)
			for _, b := range []*resource.EventBatch{
				{CustomerID: other.ID, DeviceID: d.ID, Events: []*resource.Event{NewEvent(other.ID, d.ID, resource.EventShock, testTime(0))}},
				{CustomerID: cust.ID, DeviceID: resource.NewID(), Events: []*resource.Event{NewEvent(cust.ID, d.ID, resource.EventShock, testTime(0))}},
			} {
				_, _, err := events.CreateEvents(t.Context(), b)
				requireCode(t, err, resource.ENotFound)
			}
			requireEqual(t, len(all(t, d)), 0)
			requireEqual(t, device(t, d.ID).LastEventAt, (*time.Time)(nil))
		})
	})
	t.Run("Idempotency", func(t *testing.T) {
		batch := func(d *resource.Device, key, hash string, types ...resource.EventType) *resource.EventBatch {
			b := &resource.EventBatch{CustomerID: cust.ID, DeviceID: d.ID, IdempotencyKey: key, RequestHash: hash}
			for i, typ := range types {
				b.Events = append(b.Events, NewEvent(cust.ID, d.ID, typ, testTime(time.Duration(i)*time.Second)))
			}
			return b
		}
		t.Run("Replay", func(t *testing.T) {
			d := newDevice(t)
			first, replayed, err := events.CreateEvents(t.Context(), batch(d, "k1", "h1", resource.EventShock, resource.EventStatus))
			requireCode(t, err, "")
			requireEqual(t, replayed, false)
			again, replayed, err := events.CreateEvents(t.Context(), batch(d, "k1", "h1", resource.EventShock, resource.EventStatus))
			requireCode(t, err, "")
			requireEqual(t, replayed, true)
			requireEqual(t, again, stored(first...))
			requireEqual(t, all(t, d), stored(first...))
			// The same key on another device is another key.
			_, replayed, err = events.CreateEvents(t.Context(), batch(newDevice(t), "k1", "h2", resource.EventShock))
			requireCode(t, err, "")
			requireEqual(t, replayed, false)
		})
		t.Run("ErrConflict", func(t *testing.T) {
			d := newDevice(t)
			_, _, err := events.CreateEvents(t.Context(), batch(d, "k2", "h1", resource.EventShock))
			requireCode(t, err, "")
			orig := all(t, d)
			for _, b := range []*resource.EventBatch{
				batch(d, "k2", "h2", resource.EventShock),                      // another body
				batch(d, "k2", "h1", resource.EventShock, resource.EventShock), // another length
			} {
				_, _, err := events.CreateEvents(t.Context(), b)
				requireCode(t, err, resource.EConflict)
				requireEqual(t, all(t, d), orig)
			}
		})
		t.Run("ErrConflictLaterItem", func(t *testing.T) {
			// "k#2" is the key of the third item of a batch with key "k".
			d := newDevice(t)
			_, _, err := events.CreateEvents(t.Context(), batch(d, "k#2", "h0", resource.EventShock))
			requireCode(t, err, "")
			orig := all(t, d)
			_, _, err = events.CreateEvents(t.Context(), batch(d, "k", "h3", resource.EventShock, resource.EventShock, resource.EventShock))
			requireCode(t, err, resource.EConflict)
			requireEqual(t, all(t, d), orig)
			requireEqual(t, device(t, d.ID).LastEventAt, timePtr(testTime(0)))
		})
		t.Run("Concurrent", func(t *testing.T) {
			d := newDevice(t)
			const n = 10
			ids := make([]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					got, _, err := events.CreateEvents(t.Context(), batch(d, "retry", "h", resource.EventTemperature))
					if errs[i] = err; err == nil {
						ids[i] = got[0].ID
					}
				})
			}
			wg.Wait()
			stored := all(t, d)
			if len(stored) != 1 {
				t.Fatalf("%d events stored, want 1 (errors %v)", len(stored), errs)
			}
			for i := range n {
				requireCode(t, errs[i], "")
				requireEqual(t, ids[i], stored[0].ID)
			}
		})
	})
	t.Run("List", func(t *testing.T) { testEventList(t, events, newDevice, cust.ID, other.ID) })
	t.Run("After", func(t *testing.T) {
		d := newDevice(t)
		created := MustCreateEvents(t, events, NewEvent(cust.ID, d.ID, resource.EventShock, testTime(0)),
			NewEvent(cust.ID, d.ID, resource.EventShock, testTime(0)), NewEvent(cust.ID, d.ID, resource.EventShock, testTime(0)))
		got, err := events.EventsAfter(t.Context(), cust.ID, d.ID, created[0].ID, 10)
		requireCode(t, err, "")
		requireEqual(t, got, stored(created[1:]...))
		got, err = events.EventsAfter(t.Context(), cust.ID, d.ID, "", 2)
		requireCode(t, err, "")
		requireEqual(t, eventIDs(got), eventIDs(created[:2]))
		got, err = events.EventsAfter(t.Context(), other.ID, d.ID, "", 10)
		requireCode(t, err, "")
		requireEqual(t, len(got), 0)
		last, err := events.LastEventID(t.Context(), other.ID, d.ID)
		requireCode(t, err, "")
		requireEqual(t, last, "")
	})
	t.Run("CustomerAfter", func(t *testing.T) {
		// A customer of its own, so that no other subtest's events count.
		c := MustCreateCustomer(t, customers)
		last, err := events.LastCustomerEventID(t.Context(), c.ID)
		requireCode(t, err, "")
		requireEqual(t, last, "")
		d1 := MustCreateDevice(t, devices, NewDevice(c.ID, testTime(0)))
		d2 := MustCreateDevice(t, devices, NewDevice(c.ID, testTime(0)))
		var created []*resource.Event
		for i := range 6 {
			d := []*resource.Device{d1, d2}[i%2]
			created = append(created, MustCreateEvents(t, events, NewEvent(c.ID, d.ID, resource.EventShock, testTime(0)))...)
		}
		MustCreateEvents(t, events, NewEvent(cust.ID, newDevice(t).ID, resource.EventShock, testTime(0)))
		ids := eventIDs(created)
		slices.Sort(ids)
		got, err := events.CustomerEventsAfter(t.Context(), c.ID, "", 100)
		requireCode(t, err, "")
		requireEqual(t, eventIDs(got), ids)
		got, err = events.CustomerEventsAfter(t.Context(), c.ID, ids[1], 3)
		requireCode(t, err, "")
		requireEqual(t, eventIDs(got), ids[2:5])
		last, err = events.LastCustomerEventID(t.Context(), c.ID)
		requireCode(t, err, "")
		requireEqual(t, last, ids[5])
		got, err = events.CustomerEventsAfter(t.Context(), other.ID, "", 100)
		requireCode(t, err, "")
		requireEqual(t, len(got), 0)
	})
	t.Run("Find", func(t *testing.T) {
		d := newDevice(t)
		ev := MustCreateEvents(t, events, NewEvent(cust.ID, d.ID, resource.EventStatus, testTime(0)))[0]
		got, err := events.FindEvent(t.Context(), cust.ID, ev.ID)
		requireCode(t, err, "")
		requireEqual(t, got, stored(ev)[0])
		for _, c := range [][2]string{{other.ID, ev.ID}, {cust.ID, resource.NewID()}} {
			_, err := events.FindEvent(t.Context(), c[0], c[1])
			requireCode(t, err, resource.ENotFound)
		}
	})
	t.Run("StatsMany", func(t *testing.T) { testDeviceStatsMany(t, events, devices, cust.ID, other.ID) })
	t.Run("Count", func(t *testing.T) {
		d := newDevice(t)
		MustCreateEvents(t, events, NewEvent(cust.ID, d.ID, resource.EventShock, testTime(-48*time.Hour)),
			NewEvent(cust.ID, d.ID, resource.EventShock, testTime(-time.Hour)), NewEvent(cust.ID, d.ID, resource.EventShock, testTime(0)))
		got, err := events.CountEvents(t.Context(), cust.ID, d.ID, testTime(-time.Hour))
		requireCode(t, err, "")
		requireEqual(t, got, &resource.EventCounts{Total: 3, Recent: 2})
		got, err = events.CountEvents(t.Context(), other.ID, d.ID, testTime(-time.Hour))
		requireCode(t, err, "")
		requireEqual(t, got, &resource.EventCounts{})
	})
}
