package resource_test

import (
	"errors"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// next returns the next event of st, failing when none comes in time.
func next(t *testing.T, st *resource.EventStream) *resource.Event {
	t.Helper()
	select {
	case ev, ok := <-st.Events():
		if !ok {
			t.Fatalf("stream ended: %v", st.Err())
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return nil
}

// nothing fails when st delivers within a short while.
func nothing(t *testing.T, st *resource.EventStream) {
	t.Helper()
	select {
	case ev := <-st.Events():
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestFollow(t *testing.T) {
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
			d := newDevice(t)
			old := ingest(t, d, 1)
			st, err := e.events.Follow(as(t, e.a.basicApp()), d.ID, "")
			must(t, err)
			defer st.Close()
			requireEqual(t, st.Start(), old.ID)
			nothing(t, st) // history is not replayed without Last-Event-ID
			a, b := ingest(t, d, 2), ingest(t, d, 3)
			requireEqual(t, next(t, st).ID, a.ID)
			requireEqual(t, next(t, st).ID, b.ID)
			ingest(t, newDevice(t), 4) // another device's
			nothing(t, st)
		})
		t.Run("Resume", func(t *testing.T) {
			d := newDevice(t)
			var past []*resource.Event
			for i := range 5 {
				past = append(past, ingest(t, d, float64(i)))
			}
			st, err := e.events.Follow(app, d.ID, past[1].ID)
			must(t, err)
			defer st.Close()
			for _, want := range past[2:] {
				requireEqual(t, next(t, st).ID, want.ID)
			}
			live := ingest(t, d, 9)
			requireEqual(t, next(t, st).ID, live.ID)
			nothing(t, st)
		})
		t.Run("GapFromStore", func(t *testing.T) {
			// An event stored but not (yet) published here: the next
			// published event's PrevID names it, and the stream reads it
			// from the store, in order, once.
			d := newDevice(t)
			st, err := e.events.Follow(app, d.ID, "")
			must(t, err)
			defer st.Close()
			hidden := storagetest.MustCreateEvents(t, e.stores.events, storagetest.NewEvent(d.CustomerID, d.ID, resource.EventShock, time.Now()))[0]
			seen := ingest(t, d, 5)
			requireEqual(t, seen.PrevID, hidden.ID)
			requireEqual(t, next(t, st).ID, hidden.ID)
			requireEqual(t, next(t, st).ID, seen.ID)
			e.bus.Publish(t.Context(), hidden) // published late: a duplicate
			nothing(t, st)
		})
		t.Run("SlowConsumer", func(t *testing.T) {
			d := newDevice(t)
			st, err := e.events.Follow(app, d.ID, "")
			must(t, err)
			defer st.Close()
			for i := range resource.DefaultSubscriberBuffer + 10 {
				ingest(t, d, float64(i%100)) // never waits for the stream
			}
			n := 0
			for range st.Events() {
				n++
			}
			var end *resource.StreamEnd
			if !errors.As(st.Err(), &end) || end.Reason != resource.EndSlowConsumer {
				t.Fatalf("stream ended with %v after %d events, want %s", st.Err(), n, resource.EndSlowConsumer)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := e.events.Follow(app, e.a.device.ID, "not-an-id")
			requireInvalid(t, err, "last_event_id")
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.events.Follow(as(t, e.a.deviceToken(scopes.EventsRead)), newDevice(t).ID, "")
			requireCode(t, err, resource.ENotFound)
		})
	})
}

// basicApp returns a principal of an application with scope basic only.
func (tn tenant) basicApp() *scopes.Principal { return tn.app(scopes.Basic) }
