package resource

import (
	"time"

	"context"
	"sync"

	"github.com/assetgate/assetgate/scopes"
)

// streamPage is how many stored events a stream reads at a time when it
// catches up.
const streamPage = 500

// EventStream is the live stream of one device's events: the stored events
// after a resume point first, then new events as they are ingested, each
// exactly once and in id order. It subscribes to the bus before it reads
// the store, and it uses each published event's PrevID to notice an event
// it has not seen (published late, or on another replica), which it then
// reads from the store. Build it with EventService.Follow.
type EventStream struct {
	out    chan *Event
	start  string
	cancel context.CancelFunc
	mu     sync.Mutex
	err    error
}

// streamRetryAfter is when a principal refused a stream for holding too
// many is told to try again.
const streamRetryAfter = 10 * time.Second

// Follow opens the live stream of a device (GET
// /devices/{id}/events/stream). With lastEventID (the SSE Last-Event-ID) it
// first delivers the stored events after that id; without it, only events
// ingested from now on. The stream ends when ctx ends, when Close is
// called, or when the bus drops it (Err then says why). The principal
// needs events:read (a device token: on its own device). EInvalid pointing
// at "last_event_id" for a malformed id; ENotFound, EUnauthenticated,
// EForbidden; ERateLimited when the principal holds Streams' bound of open
// streams already; EInternal when there is no bus.
func (s *EventService) Follow(ctx context.Context, deviceID, lastEventID string) (*EventStream, error) {
	p, err := authorize(ctx, scopes.OpEventsRead)
	if err != nil {
		return nil, err
	}
	if lastEventID != "" && !ValidID(lastEventID) {
		return nil, Invalidf("last_event_id", "Last-Event-ID must be an event id")
	}
	d, err := s.findDevice(ctx, p, deviceID)
	if err != nil {
		return nil, err
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
	sub, err := s.Bus.Subscribe(ctx, d.CustomerID, d.ID)
	if err != nil {
		release()
		return nil, err
	}
	// Subscribed first: whatever is stored after the resume point that the
	// store does not show yet will arrive through the subscription.
	cursor, catchUp := lastEventID, true
	if cursor == "" {
		if cursor, err = s.Store.LastEventID(ctx, d.CustomerID, d.ID); err != nil {
			sub.Close()
			release()
			return nil, err
		}
		catchUp = false
	}
	ctx, cancel := context.WithCancel(ctx)
	st := &EventStream{out: make(chan *Event), start: cursor, cancel: cancel}
	f := &follower{store: s.Store, sub: sub, customerID: d.CustomerID, deviceID: d.ID, cursor: cursor, st: st, release: release}
	go f.run(ctx, catchUp)
	return st, nil
}

// Start returns the resume point the stream started from: the
// Last-Event-ID it was given, or the device's latest event id when it was
// given none ("" when the device has no events). A transport sends it
// first, so that a client that reconnects before any event arrives misses
// nothing.
func (st *EventStream) Start() string { return st.start }

// Events delivers the stream's events; it is closed when the stream ends.
func (st *EventStream) Events() <-chan *Event { return st.out }

// Err says why Events was closed: a *StreamEnd when the bus dropped the
// stream, another error when the store failed, nil after Close.
func (st *EventStream) Err() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.err
}

// Close ends the stream and its subscription.
func (st *EventStream) Close() { st.cancel() }

func (st *EventStream) fail(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.err == nil {
		st.err = err
	}
}

// follower is the goroutine behind an EventStream.
type follower struct {
	store                EventStore
	sub                  Subscription
	customerID, deviceID string
	// cursor is the id of the last event delivered (or the start).
	cursor string
	st     *EventStream
	// release gives the stream's place among the principal's back.
	release func()
}

func (f *follower) run(ctx context.Context, catchUp bool) {
	defer f.release()
	defer close(f.st.out)
	defer f.sub.Close()
	if catchUp && !f.fill(ctx) {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-f.sub.Events():
			switch {
			case !ok:
				if err := f.sub.Err(); err != nil {
					f.st.fail(err)
				}
				return
			case e.Connection != nil:
				// Live only: outside the id chain, the cursor stays.
				if !f.st.send(ctx, e) {
					return
				}
			case e.ID <= f.cursor:
				// Delivered already (from the store).
			case e.PrevID == f.cursor:
				if !f.send(ctx, e) {
					return
				}
			default:
				// An event between the cursor and e has not arrived yet
				// (or never will on this replica): the store has it.
				if !f.fill(ctx) {
					return
				}
			}
		}
	}
}

// fill delivers the stored events after the cursor; false when the stream
// must end.
func (f *follower) fill(ctx context.Context) bool {
	for {
		page, err := f.store.EventsAfter(ctx, f.customerID, f.deviceID, f.cursor, streamPage)
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
		if len(page) < streamPage {
			return true
		}
	}
}

// send hands e to the consumer and moves the cursor; false when ctx ended
// first.
func (f *follower) send(ctx context.Context, e *Event) bool {
	if !f.st.send(ctx, e) {
		return false
	}
	f.cursor = e.ID
	return true
}

// send hands e to the consumer; false when ctx ended first.
func (st *EventStream) send(ctx context.Context, e *Event) bool {
	select {
	case st.out <- e:
		return true
	case <-ctx.Done():
		return false
	}
}
