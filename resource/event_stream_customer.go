package resource

import (
	"context"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// FollowCustomer opens the live stream of every event of the principal's
// customer (GET /events/stream, the deviceEvents subscription without a
// device): what a map of the whole fleet needs. A device token follows its
// own device's events (as Follow does), as it lists only those.
//
// Resume. The ids of one device's events grow in the order their ingests
// committed, but the ids of two devices are not ordered by commit (an id is
// taken inside the ingest's transaction, from its replica's clock). So:
//
//   - With lastEventID X, the stream first delivers every stored event of
//     the customer whose id is greater than X, in id order, then follows
//     live. Every event with an id greater than X is delivered exactly
//     once; one device's events come in their id order.
//   - While the stream is open, it also delivers events whose id is lower
//     than one it delivered already (another device's ingest that committed
//     later, or an event that reached this replica late): it follows each
//     device's chain of ids (PrevID) and reads what it misses from the
//     store.
//   - A transport gives the client, as its resume point, the greatest id
//     delivered so far (ids compare as strings). Resuming from it never
//     repeats an event; what a client may miss across a reconnect is an
//     event whose id is lower than that point and that committed after the
//     client received it (a window of the ingest's commit time, or of the
//     clock skew between replicas).
//
// Without lastEventID the stream starts after the customer's greatest
// event id. Otherwise as Follow: EInvalid pointing at "last_event_id",
// EUnauthenticated, EForbidden, ERateLimited, EInternal without a bus.
func (s *EventService) FollowCustomer(ctx context.Context, lastEventID string) (*EventStream, error) {
	p, err := authorize(ctx, scopes.OpEventsRead)
	if err != nil {
		return nil, err
	}
	if p.Kind == scopes.KindDevice {
		return s.Follow(ctx, p.DeviceID, lastEventID)
	}
	if lastEventID != "" && !ValidID(lastEventID) {
		return nil, Invalidf("last_event_id", "Last-Event-ID must be an event id")
	}
	if s.Bus == nil {
		return nil, Errorf(EInternal, "live streams are not configured")
	}
	release := func() {}
	if s.Streams != nil {
		var ok bool
		if release, ok = s.Streams.Acquire(p); !ok {
			return nil, &Error{Code: ERateLimited, RetryAfter: streamRetryAfter,
				Message: "too many open live streams for this token's owner; close one first"}
		}
	}
	sub, err := s.Bus.Subscribe(ctx, p.CustomerID, "")
	if err != nil {
		release()
		return nil, err
	}
	// Subscribed first, as Follow: what the store does not show yet comes
	// through the subscription.
	cursor, catchUp := lastEventID, true
	if cursor == "" {
		if cursor, err = s.Store.LastCustomerEventID(ctx, p.CustomerID); err != nil {
			sub.Close()
			release()
			return nil, err
		}
		catchUp = false
	}
	ctx, cancel := context.WithCancel(ctx)
	st := &EventStream{out: make(chan *Event), start: cursor, cancel: cancel}
	f := &customerFollower{store: s.Store, sub: sub, customerID: p.CustomerID, floor: cursor, high: cursor,
		last: map[string]string{}, forgetAt: customerStreamDevices, st: st, release: release, now: s.Now}
	go f.run(ctx, catchUp)
	return st, nil
}

// PublishConnection hands a connect or disconnect of a device's MQTT
// session to the live streams of the device and of its customer, on every
// replica. It is live only: nothing is stored, and a stream that resumes
// does not replay it. For the MQTT listener, which has no principal.
func (s *EventService) PublishConnection(ctx context.Context, customerID, deviceID string, at time.Time, c ConnectionChange) {
	if s.Bus == nil {
		return
	}
	at = at.UTC().Truncate(time.Microsecond)
	s.Bus.Publish(ctx, &Event{ID: NewID(), CustomerID: customerID, DeviceID: deviceID, Type: EventConnection,
		OccurredAt: at, ReceivedAt: at, Payload: map[string]any{}, Connection: &c})
}

// Bounds of what a customer stream remembers per device.
const (
	// customerStreamDevices is how many devices' last ids a customer
	// stream keeps before it forgets those of devices quiet for longer
	// than customerStreamHorizon.
	customerStreamDevices = 10_000
	// customerStreamHorizon: an event that reaches a stream later than
	// this after its id was taken is not looked for any more.
	customerStreamHorizon = 2 * time.Minute
)

// customerFollower is the goroutine behind a customer's EventStream.
type customerFollower struct {
	store      EventStore
	sub        Subscription
	customerID string
	// floor is the resume point: a device without an entry in last counts
	// as delivered up to it.
	floor string
	// high is the greatest id delivered (or the floor).
	high string
	// last holds, per device, the id of its latest event delivered.
	last map[string]string
	// forgetAt is the size of last at which forget runs.
	forgetAt int
	st       *EventStream
	release  func()
	now      func() time.Time
}

func (f *customerFollower) run(ctx context.Context, catchUp bool) {
	defer f.release()
	defer close(f.st.out)
	defer f.sub.Close()
	if catchUp && !f.replay(ctx) {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-f.sub.Events():
			if !ok {
				if err := f.sub.Err(); err != nil {
					f.st.fail(err)
				}
				return
			}
			if e.Connection != nil {
				if !f.st.send(ctx, e) {
					return
				}
				continue
			}
			last := f.lastOf(e.DeviceID)
			switch {
			case e.ID <= last:
				// Delivered already (from the store), or at or before the
				// resume point.
			case e.PrevID <= last:
				if !f.send(ctx, e) {
					return
				}
			default:
				// An event of the device between what was delivered and e
				// has not arrived (yet): the store has it, and e.
				if !f.fill(ctx, e.DeviceID, last) {
					return
				}
			}
		}
	}
}

// lastOf returns the id of the device's latest event delivered, or the
// floor.
func (f *customerFollower) lastOf(deviceID string) string {
	if id, ok := f.last[deviceID]; ok {
		return id
	}
	return f.floor
}

// replay delivers the customer's stored events after the high mark, in id
// order; false when the stream must end.
func (f *customerFollower) replay(ctx context.Context) bool {
	for {
		page, err := f.store.CustomerEventsAfter(ctx, f.customerID, f.high, streamPage)
		if !f.deliver(ctx, page, err) {
			return false
		}
		if len(page) < streamPage {
			return true
		}
	}
}

// fill delivers the device's stored events after afterID; false when the
// stream must end.
func (f *customerFollower) fill(ctx context.Context, deviceID, afterID string) bool {
	for {
		page, err := f.store.EventsAfter(ctx, f.customerID, deviceID, afterID, streamPage)
		if !f.deliver(ctx, page, err) {
			return false
		}
		if len(page) < streamPage {
			return true
		}
		afterID = page[len(page)-1].ID
	}
}

// deliver sends a page the store returned (or fails the stream with its
// error); false when the stream must end.
func (f *customerFollower) deliver(ctx context.Context, page []*Event, err error) bool {
	if err != nil {
		if ctx.Err() == nil {
			f.st.fail(err)
		}
		return false
	}
	for _, e := range page {
		if !f.send(ctx, e) {
			return false
		}
	}
	return true
}

// send hands e to the consumer and records it; false when ctx ended first.
func (f *customerFollower) send(ctx context.Context, e *Event) bool {
	if !f.st.send(ctx, e) {
		return false
	}
	f.last[e.DeviceID] = e.ID
	f.high = max(f.high, e.ID)
	if len(f.last) >= f.forgetAt {
		f.forget()
	}
	return true
}

// forget raises the floor to the horizon and drops the devices whose
// latest delivered event is below it, so that a stream over a large fleet
// keeps a bounded memory. An event of such a device whose id is below the
// horizon and that was not delivered yet is not delivered any more.
func (f *customerFollower) forget() {
	horizon := IDAt(nowUTC(f.now).Add(-customerStreamHorizon))
	if horizon > f.high {
		horizon = f.high
	}
	f.floor = max(f.floor, horizon)
	for d, id := range f.last {
		if id <= f.floor {
			delete(f.last, d)
		}
	}
	// A fleet busier than the horizon: grow rather than forget at every
	// event.
	f.forgetAt = max(customerStreamDevices, 2*len(f.last))
}
