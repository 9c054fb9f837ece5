package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// poison makes the database refuse any event whose celsius is 66.6, with
// a trigger: a failure of the database that validation cannot see.
func poison(t *testing.T, db *storage.DB) {
	t.Helper()
	if db.Dialect == storage.Postgres {
		mustExec(t, db, `CREATE FUNCTION poison_event() RETURNS trigger AS $$
			BEGIN
				IF NEW.payload->>'celsius' = '66.6' THEN RAISE EXCEPTION 'poisoned event'; END IF;
				RETURN NEW;
			END $$ LANGUAGE plpgsql`)
		mustExec(t, db, `CREATE TRIGGER poison_event BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION poison_event()`)
		return
	}
	mustExec(t, db, `CREATE TRIGGER poison_event BEFORE INSERT ON events
		WHEN json_extract(NEW.payload, '$.celsius') = 66.6 BEGIN SELECT RAISE(ABORT, 'poisoned event'); END`)
}

func temperature(customerID, deviceID string, celsius float64, at time.Time) *resource.Event {
	e := storagetest.NewEvent(customerID, deviceID, resource.EventTemperature, at)
	e.Payload = map[string]any{resource.PayloadCelsius: celsius}
	return e
}

func batchOf(key, hash string, events ...*resource.Event) *resource.EventBatch {
	return &resource.EventBatch{CustomerID: events[0].CustomerID, DeviceID: events[0].DeviceID, Events: events,
		IdempotencyKey: key, RequestHash: hash}
}

// TestGroupCommitIsolatesBatches writes batches of several requests as one
// group: a batch the database refuses, one for an unknown device and one
// whose idempotency key was used fail or replay alone, and the others are
// stored, in order, with their devices updated.
func TestGroupCommitIsolatesBatches(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		cust := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
		other := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
		devices := storage.NewDeviceStore(db)
		d1 := storagetest.MustCreateDevice(t, devices, storagetest.NewDevice(cust.ID, time.Now()))
		d2 := storagetest.MustCreateDevice(t, devices, storagetest.NewDevice(cust.ID, time.Now()))
		foreign := storagetest.MustCreateDevice(t, devices, storagetest.NewDevice(other.ID, time.Now()))
		events := storage.NewEventStore(db)
		now := time.Now().UTC().Truncate(time.Microsecond)
		earlier, replayed, err := events.CreateEvents(ctx, batchOf("k-1", "h-1", temperature(cust.ID, d2.ID, 20, now)))
		if err != nil || replayed {
			t.Fatalf("first keyed batch: %v %v", err, replayed)
		}
		poison(t, db)

		got := events.WriteGroup(ctx,
			batchOf("", "", temperature(cust.ID, d1.ID, 1, now), temperature(cust.ID, d1.ID, 2, now.Add(time.Second))),
			batchOf("", "", temperature(cust.ID, d2.ID, 66.6, now)),
			batchOf("", "", temperature(cust.ID, foreign.ID, 3, now)),
			batchOf("k-2", "h-2", temperature(cust.ID, d1.ID, 4, now.Add(2*time.Second))),
			batchOf("k-1", "h-1", temperature(cust.ID, d2.ID, 20, now)),
			batchOf("k-1", "h-other", temperature(cust.ID, d2.ID, 21, now)),
		)
		for i, want := range []string{"", resource.EInternal, resource.ENotFound, "", "", resource.EConflict} {
			if code := resource.ErrorCode(got[i].Err); got[i].Err != nil && code != want || got[i].Err == nil && want != "" {
				t.Errorf("batch %d: error %v (%s), want code %q", i, got[i].Err, code, want)
			}
		}
		a, b := got[0].Events, got[3].Events
		if len(a) != 2 || len(b) != 1 || got[0].Replayed || got[3].Replayed {
			t.Fatalf("stored batches: %+v, %+v", got[0], got[3])
		}
		if !(a[0].ID < a[1].ID && a[1].ID < b[0].ID) || a[1].PrevID != a[0].ID || b[0].PrevID != a[1].ID {
			t.Errorf("ids of device 1 out of order: %s %s %s (prev %q %q %q)", a[0].ID, a[1].ID, b[0].ID, a[0].PrevID, a[1].PrevID, b[0].PrevID)
		}
		if !got[4].Replayed || len(got[4].Events) != 1 || got[4].Events[0].ID != earlier[0].ID {
			t.Errorf("replay of k-1: %+v, want the event %s", got[4], earlier[0].ID)
		}
		if n := count(t, db, "events", "device_id = ?", d1.ID); n != 3 {
			t.Errorf("device 1 has %d events, want 3", n)
		}
		if n := count(t, db, "events", "device_id = ?", d2.ID); n != 1 {
			t.Errorf("device 2 has %d events, want 1 (the poisoned one is not stored, the replay stores nothing)", n)
		}
		d, err := devices.FindDevice(ctx, cust.ID, d1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.LastEventAt == nil || !d.LastEventAt.Equal(now.Add(2*time.Second)) {
			t.Errorf("device 1 last_event_at %v, want %v", d.LastEventAt, now.Add(2*time.Second))
		}
		last, err := events.LastEventID(ctx, cust.ID, d1.ID)
		if err != nil || last != b[0].ID {
			t.Errorf("last event id %q (%v), want %s", last, err, b[0].ID)
		}
	})
}

// TestGroupCommitConcurrentIngests posts many batches at once over a few
// devices: every answered event is stored once, each device's ids follow
// one another as the answers' PrevIDs say, and each device holds the
// position of its latest location event, whatever order the ingests
// committed in.
func TestGroupCommitConcurrentIngests(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		cust := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
		devices := storage.NewDeviceStore(db)
		var ids []string
		for range 4 {
			ids = append(ids, storagetest.MustCreateDevice(t, devices, storagetest.NewDevice(cust.ID, time.Now())).ID)
		}
		events := storage.NewEventStore(db)
		base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
		const workers, perWorker = 16, 12
		var mu sync.Mutex
		answered := map[string]*resource.Event{}
		latest := map[string]*resource.Event{} // newest location per device
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				for i := range perWorker {
					dev := ids[rng.IntN(len(ids))]
					var evs []*resource.Event
					for j := range 1 + rng.IntN(3) {
						at := base.Add(time.Duration(rng.IntN(3600)) * time.Second)
						e := storagetest.NewEvent(cust.ID, dev, resource.EventLocation, at)
						e.Payload = map[string]any{resource.PayloadLatitude: float64(w), resource.PayloadLongitude: float64(i*10 + j)}
						evs = append(evs, e)
					}
					got, _, err := events.CreateEvents(ctx, batchOf("", "", evs...))
					if err != nil {
						t.Errorf("ingest: %v", err)
						return
					}
					mu.Lock()
					for _, e := range got {
						answered[e.ID] = e
						if l := latest[dev]; l == nil || l.OccurredAt.Before(e.OccurredAt) {
							latest[dev] = e
						}
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		total := 0
		for _, dev := range ids {
			stored, err := events.EventsAfter(ctx, cust.ID, dev, "", 10_000)
			if err != nil {
				t.Fatal(err)
			}
			total += len(stored)
			prev := ""
			for _, e := range stored {
				a := answered[e.ID]
				if a == nil {
					t.Fatalf("stored event %s was never answered", e.ID)
				}
				if a.PrevID != prev {
					t.Fatalf("device %s: event %s answered with PrevID %q, stored after %q", dev, e.ID, a.PrevID, prev)
				}
				prev = e.ID
			}
			d, err := devices.FindDevice(ctx, cust.ID, dev)
			if err != nil {
				t.Fatal(err)
			}
			if l := latest[dev]; l != nil {
				// Ties on occurred_at: any of the tied events may win.
				var tied []string
				for _, e := range answered {
					if e.DeviceID == dev && e.OccurredAt.Equal(l.OccurredAt) {
						tied = append(tied, fmt.Sprint(e.Payload[resource.PayloadLatitude], e.Payload[resource.PayloadLongitude]))
					}
				}
				if d.Latitude == nil || !slices.Contains(tied, fmt.Sprint(*d.Latitude, *d.Longitude)) {
					t.Errorf("device %s at %v,%v; want the newest location among %v", dev, d.Latitude, d.Longitude, tied)
				}
			}
		}
		if total != len(answered) {
			t.Errorf("%d events stored, %d answered", total, len(answered))
		}
	})
}

// TestGroupCommitFullGroupsDrain sends bursts of batches that fill more
// than one group at once: each leader's own batch may be left for a later
// group, and every caller must still be answered.
func TestGroupCommitFullGroupsDrain(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		cust := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
		dev := storagetest.MustCreateDevice(t, storage.NewDeviceStore(db), storagetest.NewDevice(cust.ID, time.Now()))
		events := storage.NewEventStore(db)
		now := time.Now().UTC()
		for round := range 5 {
			const callers, size = 24, 150 // 3,600 events: more than three groups
			done := make(chan error, callers)
			for range callers {
				go func() {
					evs := make([]*resource.Event, size)
					for i := range evs {
						evs[i] = temperature(cust.ID, dev.ID, float64(i%40), now)
					}
					_, _, err := events.CreateEvents(ctx, batchOf("", "", evs...))
					done <- err
				}()
			}
			timeout := time.After(2 * time.Minute)
			for i := range callers {
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
				case <-timeout:
					t.Fatalf("round %d: %d of %d callers never answered", round, callers-i, callers)
				}
			}
		}
		if n := count(t, db, "events", "device_id = ?", dev.ID); n != 5*24*150 {
			t.Errorf("%d events stored, want %d", n, 5*24*150)
		}
	})
}

// TestGroupCommitLeaderWithoutOwnBatch has a leader whose own batch does
// not fit in the group it writes: the lead must come back to that batch.
func TestGroupCommitLeaderWithoutOwnBatch(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		cust := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
		dev := storagetest.MustCreateDevice(t, storage.NewDeviceStore(db), storagetest.NewDevice(cust.ID, time.Now()))
		now := time.Now().UTC()
		batch := func(n int) *resource.EventBatch {
			evs := make([]*resource.Event, n)
			for i := range evs {
				evs[i] = temperature(cust.ID, dev.ID, 20, now)
			}
			return batchOf("", "", evs...)
		}
		if !storage.NewEventStore(db).LeadWithoutOwnBatch(context.Background(), batch(storage.MaxGroupEvents), batch(1)) {
			t.Fatal("the leader's own batch was left in the queue with nobody to lead it")
		}
		if n := count(t, db, "events", "device_id = ?", dev.ID); n != storage.MaxGroupEvents+1 {
			t.Errorf("%d events stored, want %d", n, storage.MaxGroupEvents+1)
		}
	})
}
