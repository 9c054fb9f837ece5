package resource

import (
	"context"
	"sync"
)

// EventBus fans ingested events (and MQTT connection changes, see
// Event.Connection) out to the live subscribers of their devices and of
// their customers: in process (LocalBus) or, with Redis, on every replica
// (storage.RedisEventBus).
type EventBus interface {
	// Publish hands events to the subscribers of their devices. It never
	// waits for a subscriber: one that cannot keep up is dropped. A
	// failure to publish is the bus's to log; the events are stored
	// already, and subscribers recover them from the store.
	Publish(ctx context.Context, events ...*Event)
	// Subscribe starts a subscription to the events of one device of a
	// customer, or, with deviceID "", to those of every device of the
	// customer. When it returns, every event published afterwards (on any
	// replica) is delivered, in publish order, until the subscription is
	// closed or dropped. EInternal when the bus cannot subscribe.
	Subscribe(ctx context.Context, customerID, deviceID string) (Subscription, error)
}

// Subscription is one subscriber's view of a device's events.
type Subscription interface {
	// Events delivers the events; it is closed when the subscription ends.
	Events() <-chan *Event
	// Err says why Events was closed: a *StreamEnd when the bus dropped
	// the subscriber, nil after Close.
	Err() error
	// Close ends the subscription; it is safe to call more than once.
	Close()
}

// EndReason is why a live stream ends before its client leaves; its value
// is the one streams send their clients.
type EndReason string

// Reasons a live stream ends before its client leaves.
const (
	// EndSlowConsumer: the subscriber's buffer was full.
	EndSlowConsumer EndReason = "slow_consumer"
	// EndFanoutInterrupted: the bus lost its connection to Redis and may
	// have missed events.
	EndFanoutInterrupted EndReason = "fanout_interrupted"
	// EndShutdown: the server is shutting down.
	EndShutdown EndReason = "shutdown"
	// EndTokenRevoked: the stream's token was revoked or expired.
	EndTokenRevoked EndReason = "token_revoked"
	// EndInternal: the stream failed inside the server (the cause is
	// logged).
	EndInternal EndReason = "internal_error"
)

// StreamEnd is why a live stream ended early. Streams send it to the client
// as their final event; a client resumes with Last-Event-ID.
type StreamEnd struct {
	Reason  EndReason
	Message string
}

// Error implements the error interface.
func (e *StreamEnd) Error() string { return string(e.Reason) + ": " + e.Message }

// NewStreamEnd returns the StreamEnd of a reason, with its message.
func NewStreamEnd(reason EndReason) *StreamEnd {
	msg := map[EndReason]string{
		EndSlowConsumer:      "The subscriber did not keep up with the events; reconnect with Last-Event-ID to resume.",
		EndFanoutInterrupted: "The event fan-out was interrupted; reconnect with Last-Event-ID to resume.",
		EndShutdown:          "The server is shutting down; reconnect with Last-Event-ID to resume.",
		EndTokenRevoked:      "The access token was revoked or has expired.",
	}[reason]
	if msg == "" {
		msg = "The stream ended."
	}
	return &StreamEnd{Reason: reason, Message: msg}
}

// DefaultSubscriberBuffer is how many events a subscriber may fall behind
// before it is dropped.
const DefaultSubscriberBuffer = 256

// EventHub is the in-process part of every bus: it keeps the subscribers of
// this process by device (and by customer, for the subscribers of a whole
// customer) and hands each event to them without ever blocking. Safe for
// concurrent use.
type EventHub struct {
	buffer int
	mu     sync.Mutex
	subs   map[hubKey]map[*hubSubscription]struct{}
}

// hubKey names what a subscriber follows: a device of a customer, or
// (deviceID "") every device of the customer.
type hubKey struct{ customerID, deviceID string }

// NewEventHub returns a hub whose subscribers may fall buffer events behind
// (DefaultSubscriberBuffer when buffer <= 0).
func NewEventHub(buffer int) *EventHub {
	if buffer <= 0 {
		buffer = DefaultSubscriberBuffer
	}
	return &EventHub{buffer: buffer, subs: map[hubKey]map[*hubSubscription]struct{}{}}
}

// hubSubscription is a Subscription of a hub.
type hubSubscription struct {
	hub     *EventHub
	key     hubKey
	ch      chan *Event
	err     error  // guarded by hub.mu
	closed  bool   // guarded by hub.mu
	onClose func() // called once, without hub.mu held
}

// Subscribe adds a subscriber to the events of a device, or (deviceID "")
// of every device of the customer; onClose (may be nil) runs once when the
// subscription ends, however it ends.
func (h *EventHub) Subscribe(customerID, deviceID string, onClose func()) Subscription {
	s := &hubSubscription{hub: h, key: hubKey{customerID, deviceID}, ch: make(chan *Event, h.buffer), onClose: onClose}
	h.mu.Lock()
	set := h.subs[s.key]
	if set == nil {
		set = map[*hubSubscription]struct{}{}
		h.subs[s.key] = set
	}
	set[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Deliver hands each event to the subscribers of its device and to those
// of its customer (what LocalBus does). A subscriber whose buffer is full is
// dropped with EndSlowConsumer.
func (h *EventHub) Deliver(events ...*Event) { h.deliver(true, true, events) }

// DeliverDevice hands each event to the subscribers of its device only (a
// bus whose customer subscribers receive events on their own path).
func (h *EventHub) DeliverDevice(events ...*Event) { h.deliver(true, false, events) }

// DeliverCustomer hands each event to the subscribers of its customer
// only.
func (h *EventHub) DeliverCustomer(events ...*Event) { h.deliver(false, true, events) }

func (h *EventHub) deliver(device, customer bool, events []*Event) {
	var dropped []*hubSubscription
	h.mu.Lock()
	for _, e := range events {
		if device {
			dropped = h.offerLocked(h.subs[hubKey{e.CustomerID, e.DeviceID}], e, dropped)
		}
		if customer {
			dropped = h.offerLocked(h.subs[hubKey{e.CustomerID, ""}], e, dropped)
		}
	}
	h.mu.Unlock()
	for _, s := range dropped {
		s.ended()
	}
}

// offerLocked hands e to each subscriber of set, ending (and adding to
// dropped) one whose buffer is full; h.mu is held.
func (h *EventHub) offerLocked(set map[*hubSubscription]struct{}, e *Event, dropped []*hubSubscription) []*hubSubscription {
	for s := range set {
		select {
		case s.ch <- e:
		default:
			h.endLocked(s, NewStreamEnd(EndSlowConsumer))
			dropped = append(dropped, s)
		}
	}
	return dropped
}

// DropAll ends every subscription with reason (EndFanoutInterrupted,
// EndShutdown).
func (h *EventHub) DropAll(reason EndReason) {
	var dropped []*hubSubscription
	h.mu.Lock()
	for _, set := range h.subs {
		for s := range set {
			h.endLocked(s, NewStreamEnd(reason))
			dropped = append(dropped, s)
		}
	}
	h.mu.Unlock()
	for _, s := range dropped {
		s.ended()
	}
}

// endLocked removes s and closes its channel with err; h.mu is held. It
// reports false when s had ended already.
func (h *EventHub) endLocked(s *hubSubscription, err error) bool {
	if s.closed {
		return false
	}
	s.closed, s.err = true, err
	set := h.subs[s.key]
	delete(set, s)
	if len(set) == 0 {
		delete(h.subs, s.key)
	}
	close(s.ch)
	return true
}

// ended runs the subscription's onClose hook.
func (s *hubSubscription) ended() {
	if s.onClose != nil {
		s.onClose()
	}
}

// Events implements Subscription.
func (s *hubSubscription) Events() <-chan *Event { return s.ch }

// Err implements Subscription.
func (s *hubSubscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// Close implements Subscription.
func (s *hubSubscription) Close() {
	s.hub.mu.Lock()
	ended := s.hub.endLocked(s, nil)
	s.hub.mu.Unlock()
	if ended {
		s.ended()
	}
}

// LocalBus is the EventBus of a single process (no Redis): publishing
// delivers straight to this process's subscribers.
type LocalBus struct {
	hub *EventHub
}

var _ EventBus = (*LocalBus)(nil)

// NewLocalBus returns an in-process bus whose subscribers may fall buffer
// events behind (DefaultSubscriberBuffer when buffer <= 0).
func NewLocalBus(buffer int) *LocalBus {
	return &LocalBus{hub: NewEventHub(buffer)}
}

// Publish implements EventBus.
func (b *LocalBus) Publish(_ context.Context, events ...*Event) {
	b.hub.Deliver(events...)
}

// Subscribe implements EventBus; it never fails.
func (b *LocalBus) Subscribe(_ context.Context, customerID, deviceID string) (Subscription, error) {
	return b.hub.Subscribe(customerID, deviceID, nil), nil
}

// Close ends every subscription with EndShutdown.
func (b *LocalBus) Close() { b.hub.DropAll(EndShutdown) }
