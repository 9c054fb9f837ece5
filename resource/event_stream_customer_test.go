package resource_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// drain reads st until it has been quiet for a while, and returns what it
// delivered (it may run on a goroutine of its own).
func drain(t *testing.T, st *resource.EventStream, quiet time.Duration) []*resource.Event {
	t.Helper()
	var got []*resource.Event
	for {
		select {
		case ev, ok := <-st.Events():
			if !ok {
				t.Errorf("stream ended: %v", st.Err())
				return got
			}
			got = append(got, ev)
		case <-time.After(quiet):
			return got
		}
	}
}

// checkChains fails when a device's events in got are not in id order or
// one comes twice.
func checkChains(t *testing.T, got []*resource.Event) {
	t.Helper()
	last, seen := map[string]string{}, map[string]bool{}
	for _, e := range got {
		if seen[e.ID] {
			t.Fatalf("event %s delivered twice", e.ID)
		}
		seen[e.ID] = true
		if e.ID <= last[e.DeviceID] {
			t.Fatalf("device %s: event %s after %s", e.DeviceID, e.ID, last[e.DeviceID])
		}
		last[e.DeviceID] = e.ID
	}
}

func TestFollowCustomer(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		app := as(t, e.a.app(scopes.App))
		newDevice := func(t *testing.T) *resource.Device {
			return storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
		}
		ingest := func(t *testing.T, d *resource.Device, c float64) *resource.Event {
			t.Helper()
			ev, _, err := e.events.Ingest(app, d.ID, temperature(c), "")
			must(t, err)
			return ev
		}
		t.Run("Live", func(t *testing.T) {
			d1, d2 := newDevice(t), newDevice(t)
			old := ingest(t, d1, 1)
			st, err := e.events.FollowCustomer(as(t, e.a.basicApp()), "")
			must(t, err)
			defer st.Close()
			if st.Start() < old.ID {
				t.Fatalf("start %s is before the customer's latest event %s", st.Start(), old.ID)
			}
			nothing(t, st) // no history without Last-Event-ID
			a, b := ingest(t, d1, 2), ingest(t, d2, 3)
			requireEqual(t, next(t, st).ID, a.ID)
			requireEqual(t, next(t, st).ID, b.ID)
			// Another customer's event is not this stream's.
			other := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.b.customer.ID, time.Now()))
			_, _, err = e.events.Ingest(as(t, e.b.app(scopes.App)), other.ID, temperature(4), "")
			must(t, err)
			nothing(t, st)
		})
		t.Run("DeviceToken", func(t *testing.T) {
			// A device token's customer stream is its own device's.
			mine := ingest(t, e.a.device, 1)
			st, err := e.events.FollowCustomer(as(t, e.a.deviceToken(scopes.EventsRead)), "")
			must(t, err)
			defer st.Close()
			requireEqual(t, st.Start(), mine.ID)
			ingest(t, newDevice(t), 2)
			live := ingest(t, e.a.device, 3)
			requireEqual(t, next(t, st).ID, live.ID)
			nothing(t, st)
		})
		t.Run("GapFromStore", func(t *testing.T) {
			// An event stored but not published: the device's next
			// published event names it (PrevID), the stream reads it.
			d := newDevice(t)
			st, err := e.events.FollowCustomer(app, "")
			must(t, err)
			defer st.Close()
			hidden := storagetest.MustCreateEvents(t, e.stores.events, storagetest.NewEvent(d.CustomerID, d.ID, resource.EventShock, time.Now()))[0]
			seen := ingest(t, d, 5)
			requireEqual(t, next(t, st).ID, hidden.ID)
			requireEqual(t, next(t, st).ID, seen.ID)
			e.bus.Publish(t.Context(), hidden) // published late: a duplicate
			nothing(t, st)
		})
		t.Run("ResumeUnderConcurrentIngest", func(t *testing.T) {
			// Several devices ingest at once; a stream resumes from a
			// point in the past while they do, a second one resumes from
			// what the first delivered last. Every event stored with an id
			// above a stream's resume point reaches it exactly once, each
			// device's in order, and the second repeats nothing of the
			// first's.
			devices := []*resource.Device{newDevice(t), newDevice(t), newDevice(t), newDevice(t)}
			var past []*resource.Event
			for i := range 8 {
				past = append(past, ingest(t, devices[i%len(devices)], float64(i)))
			}
			slices.SortFunc(past, func(a, b *resource.Event) int { return cmpString(a.ID, b.ID) })
			from := past[3].ID
			var wg sync.WaitGroup
			start, stop := make(chan struct{}), make(chan struct{})
			for i, d := range devices {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					for n := 0; ; n++ {
						select {
						case <-stop:
							return
						default:
						}
						if _, _, err := e.events.Ingest(app, d.ID, temperature(float64((i*100+n)%100)), ""); err != nil {
							t.Errorf("ingest: %v", err)
							return
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			close(start)
			time.Sleep(50 * time.Millisecond)
			first, err := e.events.FollowCustomer(app, from)
			must(t, err)
			// Read the first stream for a while, under ingest, then leave.
			var got1 []*resource.Event
			deadline := time.After(300 * time.Millisecond)
		read:
			for {
				select {
				case ev, ok := <-first.Events():
					if !ok {
						t.Fatalf("stream ended: %v", first.Err())
					}
					got1 = append(got1, ev)
				case <-deadline:
					break read
				}
			}
			first.Close()
			high := from
			for _, ev := range got1 {
				high = max(high, ev.ID)
			}
			second, err := e.events.FollowCustomer(app, high)
			must(t, err)
			defer second.Close()
			var got2 []*resource.Event
			read2 := make(chan struct{})
			go func() {
				// Read while they ingest (a stream that is not read is a
				// slow consumer), then until it is quiet.
				defer close(read2)
				got2 = drain(t, second, time.Second)
			}()
			time.Sleep(300 * time.Millisecond)
			close(stop)
			wg.Wait()
			<-read2
			if len(got1) == 0 || len(got2) == 0 {
				t.Fatalf("streams delivered %d and %d events; the test needs both to see some", len(got1), len(got2))
			}
			checkChains(t, got1)
			checkChains(t, got2)
			checkChains(t, append(slices.Clone(got1), got2...)) // nothing twice across the reconnect
			stored, err := e.stores.events.CustomerEventsAfter(t.Context(), e.a.customer.ID, high, 1<<20)
			must(t, err)
			requireEqual(t, sortedIDs(got2), sortedIDs(stored))
			for _, ev := range got1 {
				if ev.ID <= from {
					t.Fatalf("event %s at or before the resume point %s", ev.ID, from)
				}
			}
			// What the first stream delivered is what the store held above
			// its resume point, up to the reconnect, but for events that
			// committed below the high mark after it: the documented
			// window, counted.
			before, err := e.stores.events.CustomerEventsAfter(t.Context(), e.a.customer.ID, from, 1<<20)
			must(t, err)
			delivered := map[string]bool{}
			for _, ev := range append(slices.Clone(got1), got2...) {
				delivered[ev.ID] = true
			}
			missed := 0
			for _, ev := range before {
				if !delivered[ev.ID] {
					if ev.ID > high {
						t.Fatalf("event %s above the resume point %s never delivered", ev.ID, high)
					}
					missed++
				}
			}
			t.Logf("%d + %d events delivered; %d committed below the resume point after the reconnect", len(got1), len(got2), missed)
		})
		t.Run("Connection", func(t *testing.T) {
			// A connection change reaches the device's and the customer's
			// streams and moves neither's resume point.
			d := newDevice(t)
			all, err := e.events.FollowCustomer(app, "")
			must(t, err)
			defer all.Close()
			one, err := e.events.Follow(app, d.ID, "")
			must(t, err)
			defer one.Close()
			at := time.Now()
			e.events.PublishConnection(t.Context(), d.CustomerID, d.ID, at,
				resource.ConnectionChange{Connected: true, RemoteAddress: "192.0.2.1:40000"})
			for _, st := range []*resource.EventStream{all, one} {
				c := next(t, st)
				if c.Connection == nil || !c.Connection.Connected || c.Type != resource.EventConnection || c.DeviceID != d.ID {
					t.Fatalf("got %+v, want the connection of %s", c, d.ID)
				}
			}
			ev := ingest(t, d, 1)
			requireEqual(t, next(t, all).ID, ev.ID)
			requireEqual(t, next(t, one).ID, ev.ID)
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := e.events.FollowCustomer(app, "not-an-id")
			requireInvalid(t, err, "last_event_id")
		})
	})
}

func TestIDAt(t *testing.T) {
	now := time.Now()
	at := resource.IDAt(now)
	if !resource.ValidID(at) {
		t.Fatalf("IDAt = %q, not an id", at)
	}
	if id := resource.NewID(); id <= at {
		t.Fatalf("NewID %s is not above IDAt(now) %s", id, at)
	}
	if later := resource.IDAt(now.Add(time.Millisecond)); later <= at {
		t.Fatalf("IDAt does not grow with time: %s, then %s", at, later)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortedIDs(events []*resource.Event) []string {
	ids := make([]string, 0, len(events))
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	slices.Sort(ids)
	return ids
}
