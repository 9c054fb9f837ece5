package storage_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// fenceFixture is a customer with geogroups, a device of it, and the
// stores.
type fenceFixture struct {
	db        *storage.DB
	events    *storage.EventStore
	devices   *storage.DeviceStore
	geogroups *storage.GeogroupStore
	customer  string
	device    string
	t0        time.Time
}

func newFenceFixture(t *testing.T, db *storage.DB) *fenceFixture {
	t.Helper()
	f := &fenceFixture{db: db, events: storage.NewEventStore(db), devices: storage.NewDeviceStore(db), geogroups: storage.NewGeogroupStore(db),
		t0: time.Now().UTC().Truncate(time.Microsecond).Add(-time.Hour)}
	f.customer = storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db)).ID
	f.device = f.newDevice(t)
	return f
}

func (f *fenceFixture) newDevice(t *testing.T) string {
	t.Helper()
	return storagetest.MustCreateDevice(t, f.devices, storagetest.NewDevice(f.customer, time.Now())).ID
}

// geogroup creates a geogroup of the fixture's customer.
func (f *fenceFixture) geogroup(t *testing.T, geojson string) string {
	t.Helper()
	g := storagetest.NewGeogroup(f.customer, time.Now())
	g.Geometry = resource.MustGeometry(geojson)
	return storagetest.MustCreateGeogroup(t, f.geogroups, g).ID
}

// loc is a location event of the fixture's device, sec seconds after t0.
func (f *fenceFixture) loc(device string, sec int, lat, lon float64) *resource.Event {
	e := storagetest.NewEvent(f.customer, device, resource.EventLocation, f.t0.Add(time.Duration(sec)*time.Second))
	e.Payload = map[string]any{resource.PayloadLatitude: lat, resource.PayloadLongitude: lon}
	return e
}

// post stores one batch and returns the geofence events it produced, as
// "transition:geogroup" strings in order.
func (f *fenceFixture) post(t *testing.T, key string, events ...*resource.Event) []string {
	t.Helper()
	b := batchOf(key, "hash-"+key, events...)
	_, _, err := f.events.CreateEvents(context.Background(), b)
	if err != nil {
		t.Fatalf("create events: %v", err)
	}
	return crossings(b.Derived)
}

func crossings(events []*resource.Event) []string {
	out := []string{}
	for _, e := range events {
		out = append(out, fmt.Sprintf("%v:%v", e.Payload[resource.PayloadTransition], e.Payload[resource.PayloadGeogroupID]))
	}
	return out
}

// stored returns the geofence events stored for a device, oldest first.
func (f *fenceFixture) stored(t *testing.T, device string) []*resource.Event {
	t.Helper()
	list, _, err := f.events.ListEvents(context.Background(), f.customer, resource.EventQuery{
		Filter: resource.EventFilter{DeviceIDs: []string{device}, Types: []resource.EventType{resource.EventGeofence}},
		Sort:   []resource.SortField{{Field: resource.EventSortOccurredAt}}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func wantCrossings(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: crossings %v, want %v", what, got, want)
	}
}

// The geometries of the tests: SquareGeometry (13..14 E, 52..53 N with a
// hole at 13.3..13.5 E, 52.4..52.6 N), a 1 km circle in Paris and a ring
// across the antimeridian (179.5 E to 179.5 W, 16.5..17.5 S).
const (
	parisCircle   = `{"type":"Point","coordinates":[2.3522,48.8566],"radius":1000}`
	fijiRing      = `{"type":"Polygon","coordinates":[[[179.5,-17.5],[-179.5,-17.5],[-179.5,-16.5],[179.5,-16.5],[179.5,-17.5]]]}`
	berlinLat     = 52.2
	berlinLon     = 13.8
	berlinHoleLat = 52.5
	berlinHoleLon = 13.4
)

// TestGeofenceCrossings moves a device in and out of a polygon with a
// hole, a circle and a ring across the antimeridian: each crossing is one
// geofence event, stored right after its location event, with its
// occurred_at; staying, and old locations, cross nothing.
func TestGeofenceCrossings(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		f := newFenceFixture(t, db)
		square, circle, fiji := f.geogroup(t, storagetest.SquareGeometry), f.geogroup(t, parisCircle), f.geogroup(t, fijiRing)
		d := f.device

		wantCrossings(t, "far away", f.post(t, "", f.loc(d, 0, 0, 0)))
		loc := f.loc(d, 10, berlinLat, berlinLon)
		b := batchOf("", "", loc)
		if _, _, err := f.events.CreateEvents(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		wantCrossings(t, "into the square", crossings(b.Derived), "entered:"+square)
		if g := b.Derived[0]; g.ID <= loc.ID || g.PrevID != loc.ID || !g.OccurredAt.Equal(loc.OccurredAt) || g.Type != resource.EventGeofence {
			t.Errorf("geofence event %+v after location %s (occurred %v)", g, loc.ID, loc.OccurredAt)
		}
		wantCrossings(t, "inside still", f.post(t, "", f.loc(d, 20, berlinLat+0.1, berlinLon)))
		wantCrossings(t, "into the hole", f.post(t, "", f.loc(d, 30, berlinHoleLat, berlinHoleLon)), "left:"+square)
		wantCrossings(t, "an older location in the square", f.post(t, "", f.loc(d, 25, berlinLat, berlinLon)))
		wantCrossings(t, "out of the hole, into the ring", f.post(t, "", f.loc(d, 40, 52.35, 13.4)), "entered:"+square)
		wantCrossings(t, "to Paris", f.post(t, "", f.loc(d, 50, 48.86, 2.35)), "left:"+square, "entered:"+circle)
		wantCrossings(t, "2 km away", f.post(t, "", f.loc(d, 60, 48.8746, 2.3522)), "left:"+circle)
		wantCrossings(t, "Fiji, east of 180", f.post(t, "", f.loc(d, 70, -17, 179.8)), "entered:"+fiji)
		wantCrossings(t, "Fiji, west of 180", f.post(t, "", f.loc(d, 80, -17, -179.8)))
		wantCrossings(t, "north of Fiji", f.post(t, "", f.loc(d, 90, -16, -179.8)), "left:"+fiji)

		// One batch: in, out and in again, with a temperature between.
		temp := temperature(f.customer, d, 20, f.t0.Add(101*time.Second))
		wantCrossings(t, "a batch", f.post(t, "", f.loc(d, 100, -17, 179.9), temp, f.loc(d, 102, 0, 0), f.loc(d, 103, 48.86, 2.35)),
			"entered:"+fiji, "left:"+fiji, "entered:"+circle)

		all := f.stored(t, d)
		got := crossings(all)
		want := []string{"entered:" + square, "left:" + square, "entered:" + square, "left:" + square, "entered:" + circle,
			"left:" + circle, "entered:" + fiji, "left:" + fiji, "entered:" + fiji, "left:" + fiji, "entered:" + circle}
		wantCrossings(t, "stored", got, want...)
		// The device's ids: every geofence event right after its location.
		after, err := f.events.EventsAfter(context.Background(), f.customer, d, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range after {
			if e.Type == resource.EventGeofence && after[i-1].Type != resource.EventLocation && after[i-1].Type != resource.EventGeofence {
				t.Errorf("geofence event %s follows a %s event", e.ID, after[i-1].Type)
			}
		}
	})
}

// TestGeofenceExactlyOnce ingests location events of one device at the same
// time: concurrent requests, and batches of one group transaction. Each
// crossing is one event, and a replay (idempotency key) produces none.
func TestGeofenceExactlyOnce(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		f := newFenceFixture(t, db)
		square := f.geogroup(t, storagetest.SquareGeometry)

		t.Run("Concurrent", func(t *testing.T) {
			d := f.newDevice(t)
			for round := range 6 {
				lat := berlinLat // inside on even rounds, outside on odd ones
				if round%2 == 1 {
					lat = 10
				}
				var wg sync.WaitGroup
				results := make([][]string, 4)
				for i := range results {
					wg.Go(func() {
						b := batchOf("", "", f.loc(d, round*10+i, lat, berlinLon+float64(i)/100))
						if _, _, err := f.events.CreateEvents(context.Background(), b); err != nil {
							t.Error(err)
						}
						results[i] = crossings(b.Derived)
					})
				}
				wg.Wait()
				var all []string
				for _, r := range results {
					all = append(all, r...)
				}
				want := "entered:" + square
				if round%2 == 1 {
					want = "left:" + square
				}
				wantCrossings(t, fmt.Sprintf("round %d", round), all, want)
			}
			if n := len(f.stored(t, d)); n != 6 {
				t.Errorf("%d geofence events stored, want 6", n)
			}
		})

		t.Run("OneGroup", func(t *testing.T) {
			d := f.newDevice(t)
			a := batchOf("", "", f.loc(d, 0, berlinLat, berlinLon))
			b := batchOf("", "", f.loc(d, 1, berlinLat, berlinLon+0.01))
			c := batchOf("", "", f.loc(d, 2, 0, 0), f.loc(d, 3, 1, 1))
			for i, r := range f.events.WriteGroup(context.Background(), a, b, c) {
				if r.Err != nil {
					t.Fatalf("batch %d: %v", i, r.Err)
				}
			}
			wantCrossings(t, "first batch", crossings(a.Derived), "entered:"+square)
			wantCrossings(t, "second batch", crossings(b.Derived))
			wantCrossings(t, "third batch", crossings(c.Derived), "left:"+square)
			wantCrossings(t, "stored", crossings(f.stored(t, d)), "entered:"+square, "left:"+square)
		})

		t.Run("Replay", func(t *testing.T) {
			d := f.newDevice(t)
			wantCrossings(t, "first", f.post(t, "k", f.loc(d, 0, berlinLat, berlinLon)), "entered:"+square)
			b := batchOf("k", "hash-k", f.loc(d, 0, berlinLat, berlinLon))
			_, replayed, err := f.events.CreateEvents(context.Background(), b)
			if err != nil || !replayed {
				t.Fatalf("replay: %v, replayed %v", err, replayed)
			}
			wantCrossings(t, "replay", crossings(b.Derived))
			wantCrossings(t, "stored", crossings(f.stored(t, d)), "entered:"+square)
		})
	})
}

// TestGeofenceTenants: a device is never tested against another customer's
// geogroups.
func TestGeofenceTenants(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		mine := newFenceFixture(t, db)
		theirs := newFenceFixture(t, db)
		theirs.geogroup(t, storagetest.SquareGeometry)
		wantCrossings(t, "without geogroups", mine.post(t, "", mine.loc(mine.device, 0, berlinLat, berlinLon)))
		own := mine.geogroup(t, parisCircle)
		wantCrossings(t, "own circle only", mine.post(t, "", mine.loc(mine.device, 1, 48.86, 2.35), mine.loc(mine.device, 2, berlinLat, berlinLon)),
			"entered:"+own, "left:"+own)
	})
}

// TestGeofenceGeogroupChanges: a geogroup created, changed or deleted
// crosses nothing by itself; the device's next move is judged against the
// geogroups as they are, from where it was.
func TestGeofenceGeogroupChanges(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		f := newFenceFixture(t, db)
		d := f.device
		square := f.geogroup(t, storagetest.SquareGeometry)
		wantCrossings(t, "into the square", f.post(t, "", f.loc(d, 0, berlinLat, berlinLon)), "entered:"+square)

		// Created around the device: it was there already.
		circle := f.geogroup(t, `{"type":"Point","coordinates":[13.8,52.2],"radius":5000}`)
		wantCrossings(t, "after the circle was created", f.post(t, "", f.loc(d, 1, berlinLat, berlinLon+0.001)))
		wantCrossings(t, "out of the circle", f.post(t, "", f.loc(d, 2, 52.8, berlinLon)), "left:"+circle)

		// Changed to hold the device: no event; moved away from it: left.
		g, err := f.geogroups.FindGeogroup(context.Background(), f.customer, circle)
		if err != nil {
			t.Fatal(err)
		}
		g.Geometry = resource.MustGeometry(`{"type":"Point","coordinates":[13.8,52.8],"radius":5000}`)
		g.UpdatedAt = time.Now()
		if err := f.geogroups.UpdateGeogroup(context.Background(), g); err != nil {
			t.Fatal(err)
		}
		wantCrossings(t, "after the circle moved to the device", f.post(t, "", f.loc(d, 3, 52.8, berlinLon)))
		wantCrossings(t, "out of the moved circle", f.post(t, "", f.loc(d, 4, 52.7, berlinLon)), "left:"+circle)

		// Deleted while the device is inside: no left event, ever.
		if err := f.geogroups.DeleteGeogroup(context.Background(), f.customer, square); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, "geofence_memberships", "geogroup_id = ?", square); n != 0 {
			t.Errorf("%d memberships of the deleted geogroup", n)
		}
		wantCrossings(t, "after the square was deleted", f.post(t, "", f.loc(d, 5, 0, 0)))

		// A position set by hand: the next location is judged from there.
		dev, err := f.devices.FindDevice(context.Background(), f.customer, d)
		if err != nil {
			t.Fatal(err)
		}
		lat, lon := 52.8, berlinLon
		dev.Latitude, dev.Longitude = &lat, &lon
		if err := f.devices.UpdateDevice(context.Background(), dev); err != nil {
			t.Fatal(err)
		}
		wantCrossings(t, "after a position set inside by hand", f.post(t, "", f.loc(d, 6, 52.8, berlinLon+0.001)))
		wantCrossings(t, "out of it", f.post(t, "", f.loc(d, 7, 0, 0)), "left:"+circle)

		// A position set by an import (a known IMEI): the same.
		if dev, err = f.devices.FindDevice(context.Background(), f.customer, d); err != nil {
			t.Fatal(err)
		}
		dev.Latitude, dev.Longitude, dev.UpdatedAt = &lat, &lon, time.Now()
		if _, _, err := f.devices.ImportDevices(context.Background(), f.customer, []*resource.Device{dev}); err != nil {
			t.Fatal(err)
		}
		wantCrossings(t, "after a position imported inside", f.post(t, "", f.loc(d, 8, 52.8, berlinLon+0.001)))
		wantCrossings(t, "out of it again", f.post(t, "", f.loc(d, 9, 0, 0)), "left:"+circle)

		var kinds []string
		for _, e := range f.stored(t, d) {
			kinds = append(kinds, e.Payload[resource.PayloadTransition].(string))
		}
		if got := strings.Join(kinds, ","); got != "entered,left,left,left,left" {
			t.Errorf("stored transitions %s, want entered,left,left,left,left", got)
		}
	})
}

// TestGeofenceFirstPosition: a device whose first location is inside
// enters; a device that had a position before geofencing (no memberships
// decided yet) does not.
func TestGeofenceFirstPosition(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		f := newFenceFixture(t, db)
		square := f.geogroup(t, storagetest.SquareGeometry)
		wantCrossings(t, "first location inside", f.post(t, "", f.loc(f.device, 0, berlinLat, berlinLon)), "entered:"+square)

		// As after the migration: a position, no decided memberships.
		old := f.newDevice(t)
		mustExec(t, db, `UPDATE devices SET latitude = ?, longitude = ?, location_at = ? WHERE id = ?`, berlinLat, berlinLon, f.t0, old)
		wantCrossings(t, "known position inside", f.post(t, "", f.loc(old, 1, berlinLat, berlinLon)))
		wantCrossings(t, "then out", f.post(t, "", f.loc(old, 2, 0, 0)), "left:"+square)
	})
}
