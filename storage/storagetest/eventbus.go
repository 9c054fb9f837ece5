package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// NewBusFunc returns two buses that share their backend, as two replicas'
// buses do (the same bus twice for an in-process one), whose subscribers
// may fall buffer events behind.
type NewBusFunc func(t *testing.T, buffer int) (a, b resource.EventBus)

// busWait bounds how long a test waits for a delivery.
const busWait = 5 * time.Second

// busEvent returns a published-looking event of a device.
func busEvent(customerID, deviceID, prevID string) *resource.Event {
	e := NewEvent(customerID, deviceID, resource.EventLocation, testTime(0))
	e.ID, e.PrevID = resource.NewID(), prevID
	return e
}

// mustSubscribe subscribes to a device and ends the subscription with the
// test.
func mustSubscribe(t *testing.T, bus resource.EventBus, customerID, deviceID string) resource.Subscription {
	t.Helper()
	sub, err := bus.Subscribe(t.Context(), customerID, deviceID)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// receive returns the next event of sub; it fails the test when none
// arrives in time or the subscription ends.
func receive(t *testing.T, sub resource.Subscription) *resource.Event {
	t.Helper()
	select {
	case e, ok := <-sub.Events():
		if !ok {
			t.Fatalf("subscription ended: %v", sub.Err())
		}
		return e
	case <-time.After(busWait):
		t.Fatal("no event within", busWait)
	}
	return nil
}

// quiet fails the test when sub delivers anything within d.
func quiet(t *testing.T, sub resource.Subscription, d time.Duration) {
	t.Helper()
	select {
	case e := <-sub.Events():
		t.Fatalf("unexpected delivery %+v", e)
	case <-time.After(d):
	}
}

// TestEventBus runs the contract of resource.EventBus.
func TestEventBus(t *testing.T, newBus NewBusFunc) {
	cust, other, dev, dev2 := resource.NewID(), resource.NewID(), resource.NewID(), resource.NewID()
	t.Run("Deliver", func(t *testing.T) {
		a, b := newBus(t, 0)
		sub := mustSubscribe(t, b, cust, dev)
		e := busEvent(cust, dev, resource.NewID())
		a.Publish(t.Context(), e)
		requireEqual(t, receive(t, sub), e)
	})
	t.Run("Order", func(t *testing.T) {
		a, b := newBus(t, 0)
		sub := mustSubscribe(t, b, cust, dev)
		var want []*resource.Event
		for range 50 {
			want = append(want, busEvent(cust, dev, ""))
		}
		a.Publish(t.Context(), want[:20]...)
		for _, e := range want[20:] {
			a.Publish(t.Context(), e)
		}
		for _, e := range want {
			requireEqual(t, receive(t, sub).ID, e.ID)
		}
	})
	t.Run("OnlyItsDevice", func(t *testing.T) {
		a, b := newBus(t, 0)
		sub := mustSubscribe(t, b, cust, dev)
		a.Publish(t.Context(), busEvent(cust, dev2, ""), busEvent(other, dev, ""))
		quiet(t, sub, 200*time.Millisecond)
	})
	t.Run("ManySubscribers", func(t *testing.T) {
		a, b := newBus(t, 0)
		s1, s2, s3 := mustSubscribe(t, a, cust, dev), mustSubscribe(t, b, cust, dev), mustSubscribe(t, b, cust, dev)
		e := busEvent(cust, dev, "")
		a.Publish(t.Context(), e)
		for _, s := range []resource.Subscription{s1, s2, s3} {
			requireEqual(t, receive(t, s).ID, e.ID)
		}
		s2.Close()
		if _, ok := <-s2.Events(); ok {
			t.Fatal("a closed subscription delivers")
		}
		requireEqual(t, s2.Err(), error(nil))
		e = busEvent(cust, dev, "")
		a.Publish(t.Context(), e)
		requireEqual(t, receive(t, s3).ID, e.ID)
		requireEqual(t, receive(t, s1).ID, e.ID)
	})
	t.Run("Resubscribe", func(t *testing.T) {
		a, b := newBus(t, 0)
		for range 3 {
			sub := mustSubscribe(t, b, cust, dev)
			e := busEvent(cust, dev, "")
			a.Publish(t.Context(), e)
			requireEqual(t, receive(t, sub).ID, e.ID)
			sub.Close()
		}
	})
	t.Run("Churn", func(t *testing.T) {
		// A client that reconnects at once: the old subscription ends
		// while the new one starts; the new one must get every event.
		a, b := newBus(t, 0)
		old := mustSubscribe(t, b, cust, dev)
		for range 50 {
			done := make(chan struct{})
			go func() { old.Close(); close(done) }()
			sub := mustSubscribe(t, b, cust, dev)
			<-done
			e := busEvent(cust, dev, "")
			a.Publish(t.Context(), e)
			requireEqual(t, receive(t, sub).ID, e.ID)
			old = sub
		}
	})
	t.Run("SlowConsumer", func(t *testing.T) {
		const buffer = 4
		a, b := newBus(t, buffer)
		slow := mustSubscribe(t, b, cust, dev)
		fast := mustSubscribe(t, b, cust, dev)
		start := time.Now()
		var sent []*resource.Event
		for range 3 * buffer {
			e := busEvent(cust, dev, "")
			sent = append(sent, e)
			a.Publish(t.Context(), e)
			requireEqual(t, receive(t, fast).ID, e.ID) // the fast one keeps up
		}
		if d := time.Since(start); d > busWait {
			t.Fatalf("publishing took %s: a slow subscriber blocked it", d)
		}
		// The slow one gets what fitted in its buffer, then the end.
		var got []string
		for e := range slow.Events() {
			got = append(got, e.ID)
		}
		requireEqual(t, got, eventIDs(sent[:buffer]))
		var end *resource.StreamEnd
		if err := slow.Err(); !errors.As(err, &end) || end.Reason != resource.EndSlowConsumer {
			t.Fatalf("Err() = %v, want a StreamEnd %q", err, resource.EndSlowConsumer)
		}
	})
	t.Run("Customer", func(t *testing.T) {
		// A subscriber of the whole customer gets the events of each of
		// its devices, in publish order, and no other customer's; the
		// device subscriber beside it still gets only its device's.
		a, b := newBus(t, 0)
		all := mustSubscribe(t, b, cust, "")
		one := mustSubscribe(t, b, cust, dev)
		e1, e2, e3 := busEvent(cust, dev, ""), busEvent(cust, dev2, ""), busEvent(other, dev, "")
		a.Publish(t.Context(), e1, e2, e3)
		requireEqual(t, receive(t, all), e1)
		requireEqual(t, receive(t, all), e2)
		requireEqual(t, receive(t, one), e1)
		quiet(t, all, 200*time.Millisecond)
		quiet(t, one, 50*time.Millisecond)
	})
	t.Run("Connection", func(t *testing.T) {
		// A connection change travels as an event with its Connection
		// set, to the device's and the customer's subscribers.
		a, b := newBus(t, 0)
		all, one := mustSubscribe(t, b, cust, ""), mustSubscribe(t, b, cust, dev)
		e := busEvent(cust, dev, "")
		e.Type, e.Payload = resource.EventConnection, map[string]any{}
		e.Connection = &resource.ConnectionChange{Connected: false, Reason: "takeover", RemoteAddress: "192.0.2.7:50123"}
		a.Publish(t.Context(), e)
		requireEqual(t, receive(t, all), e)
		requireEqual(t, receive(t, one), e)
	})
	t.Run("CustomerSlowConsumer", func(t *testing.T) {
		// The slow-consumer rule holds for a customer's subscriber as for
		// a device's: it is dropped, the device's subscriber is not.
		const buffer = 4
		a, b := newBus(t, buffer)
		slow := mustSubscribe(t, b, cust, "")
		fast := mustSubscribe(t, b, cust, dev)
		for range 2 * buffer {
			e := busEvent(cust, dev, "")
			a.Publish(t.Context(), e)
			requireEqual(t, receive(t, fast).ID, e.ID)
		}
		n := 0
		for range slow.Events() {
			n++
		}
		requireEqual(t, n, buffer)
		var end *resource.StreamEnd
		if err := slow.Err(); !errors.As(err, &end) || end.Reason != resource.EndSlowConsumer {
			t.Fatalf("Err() = %v, want a StreamEnd %q", err, resource.EndSlowConsumer)
		}
	})
}
