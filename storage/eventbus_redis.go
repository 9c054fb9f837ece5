package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/resource"
)

// Timings of the Redis event bus.
const (
	// busPingEvery keeps the pub/sub connection of a bus that follows
	// channels busy, so a dead one is noticed: no reply within busSilence
	// means it is gone.
	busPingEvery = 10 * time.Second
	busSilence   = 3 * busPingEvery
	// busSubscribeWait bounds how long Subscribe waits for Redis to
	// confirm a new channel.
	busSubscribeWait = 5 * time.Second
	// busPublishWait bounds a publish.
	busPublishWait = 2 * time.Second
	// busMinBackoff and busMaxBackoff bound the wait between reads of a
	// failing pub/sub connection.
	busMinBackoff = 200 * time.Millisecond
	busMaxBackoff = 5 * time.Second
)

// RedisEventBus is the resource.EventBus of replicas that share a Redis:
// an event published on one replica reaches the subscribers on every
// replica. Each device has a channel (PREFIX events:CUSTOMER:DEVICE)
// carrying events as JSON; a replica holds one pub/sub connection and is
// subscribed to the channels of the devices its clients follow. A
// replica's own events come back to it through Redis, like everyone
// else's. When the pub/sub connection fails, events may have been missed,
// so every local subscriber is dropped with EndFanoutInterrupted (its
// client resumes from the store with Last-Event-ID).
type RedisEventBus struct {
	c      redis.UniversalClient
	prefix string
	hub    *resource.EventHub
	log    *slog.Logger
	ps     *redis.PubSub

	mu       sync.Mutex
	channels map[string]*busChannel
	// pending counts, per channel, the SUBSCRIBEs not yet confirmed.
	pending map[string]int

	stop context.CancelFunc
	done chan struct{}

	// outMu guards the messages waiting to be published and whether a
	// flusher runs; flushes counts the running flusher.
	outMu    sync.Mutex
	outbox   []busMessage
	flushing bool
	flushes  sync.WaitGroup
}

// busChannel is a channel this replica is subscribed to.
type busChannel struct {
	refs  int
	ready chan struct{}
	open  bool // ready is closed
}

var _ resource.EventBus = (*RedisEventBus)(nil)

// NewRedisEventBus returns a bus on c whose channels start with prefix and
// whose subscribers may fall buffer events behind (see
// resource.NewEventHub); log (may be nil) receives fan-out failures. It
// starts the goroutine that reads the pub/sub connection: call Close to
// stop it.
func NewRedisEventBus(c redis.UniversalClient, prefix string, buffer int, log *slog.Logger) *RedisEventBus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	b := &RedisEventBus{
		c: c, prefix: prefix, hub: resource.NewEventHub(buffer), log: log, ps: c.Subscribe(ctx),
		channels: map[string]*busChannel{}, pending: map[string]int{}, stop: stop, done: make(chan struct{}),
	}
	go b.run(ctx)
	return b
}

// Close stops the bus: what is queued is published, then every
// subscription ends with EndShutdown.
func (b *RedisEventBus) Close() {
	b.flushes.Wait()
	b.stop()
	_ = b.ps.Close() // ends the blocked read
	<-b.done
	b.hub.DropAll(resource.EndShutdown)
}

// busEvent is an event on the wire.
type busEvent struct {
	ID         string             `json:"id"`
	CustomerID string             `json:"customer_id"`
	DeviceID   string             `json:"device_id"`
	Type       resource.EventType `json:"type"`
	OccurredAt time.Time          `json:"occurred_at"`
	ReceivedAt time.Time          `json:"received_at"`
	Payload    map[string]any     `json:"payload"`
	PrevID     string             `json:"prev_id,omitempty"`
	Connection *busConnection     `json:"connection,omitempty"`
}

// busConnection is a connection change (resource.ConnectionChange) on the
// wire.
type busConnection struct {
	Connected     bool   `json:"connected"`
	Reason        string `json:"reason,omitempty"`
	RemoteAddress string `json:"remote_address,omitempty"`
}

// channel is the channel of a device, or (deviceID "") of a customer.
func (b *RedisEventBus) channel(customerID, deviceID string) string {
	if deviceID == "" {
		return b.prefix + "events:" + customerID
	}
	return b.prefix + "events:" + customerID + ":" + deviceID
}

// busOutbox bounds the messages waiting to be published (two an event:
// its device's channel and its customer's); past it, new
// events are not published (and logged): subscribers notice the gap at
// their device's next event and read the missed ones from the store.
const busOutbox = 40_000

// busMessage is an event waiting to be published.
type busMessage struct {
	channel string
	payload []byte
}

// Publish queues each event for its device's channel and its customer's
// and returns without
// waiting for Redis: one flusher goroutine at a time sends what is queued,
// in queue order, one pipeline a round, so concurrent ingests share round
// trips. A failure is logged: subscribers notice the gap at the device's
// next event (its PrevID) and read the missed one from the store.
func (b *RedisEventBus) Publish(_ context.Context, events ...*resource.Event) {
	if len(events) == 0 {
		return
	}
	msgs := make([]busMessage, 0, 2*len(events))
	for _, e := range events {
		be := busEvent{ID: e.ID, CustomerID: e.CustomerID, DeviceID: e.DeviceID, Type: e.Type,
			OccurredAt: e.OccurredAt, ReceivedAt: e.ReceivedAt, Payload: e.Payload, PrevID: e.PrevID}
		if c := e.Connection; c != nil {
			be.Connection = &busConnection{Connected: c.Connected, Reason: c.Reason, RemoteAddress: c.RemoteAddress}
		}
		msg, err := json.Marshal(be)
		if err != nil {
			b.log.Warn("event bus: encode event", "err", err)
			return
		}
		msgs = append(msgs, busMessage{b.channel(e.CustomerID, e.DeviceID), msg}, busMessage{b.channel(e.CustomerID, ""), msg})
	}
	b.outMu.Lock()
	defer b.outMu.Unlock()
	if len(b.outbox)+len(msgs) > busOutbox {
		b.log.Warn("event bus: publish queue full; events not published", "events", len(msgs))
		return
	}
	b.outbox = append(b.outbox, msgs...)
	if !b.flushing {
		b.flushing = true
		b.flushes.Add(1)
		go b.flush()
	}
}

// flush publishes the queued messages until none is left.
func (b *RedisEventBus) flush() {
	defer b.flushes.Done()
	for {
		b.outMu.Lock()
		msgs := b.outbox
		b.outbox = nil
		if len(msgs) == 0 {
			b.flushing = false
			b.outMu.Unlock()
			return
		}
		b.outMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), busPublishWait)
		_, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, m := range msgs {
				p.Publish(ctx, m.channel, m.payload)
			}
			return nil
		})
		cancel()
		if err != nil {
			b.log.Warn("event bus: publish failed", "err", err, "events", len(msgs))
		}
	}
}

// Subscribe subscribes this replica to the device's channel (the
// customer's with deviceID ""), unless it is already, and returns once Redis has confirmed it. EInternal when Redis
// does not confirm in time. SUBSCRIBE and UNSUBSCRIBE are written under
// the bus's lock, so a client that reconnects at once (its old stream
// unsubscribing, its new one subscribing) cannot have them cross.
func (b *RedisEventBus) Subscribe(ctx context.Context, customerID, deviceID string) (resource.Subscription, error) {
	name := b.channel(customerID, deviceID)
	b.mu.Lock()
	ch := b.channels[name]
	if ch == nil {
		if err := b.ps.Subscribe(ctx, name); err != nil {
			b.mu.Unlock()
			return nil, fmt.Errorf("subscribe to %s: %w", name, err)
		}
		ch = &busChannel{ready: make(chan struct{})}
		b.channels[name] = ch
		b.pending[name]++
	}
	ch.refs++
	b.mu.Unlock()
	sub := b.hub.Subscribe(customerID, deviceID, func() { b.release(name) })
	wait := time.NewTimer(busSubscribeWait)
	defer wait.Stop()
	select {
	case <-ch.ready:
		return sub, nil
	case <-wait.C:
		sub.Close()
		return nil, fmt.Errorf("subscribe to %s: no confirmation from redis within %s", name, busSubscribeWait)
	case <-ctx.Done():
		sub.Close()
		return nil, ctx.Err()
	}
}

// release drops one reference to a channel and unsubscribes from it when
// it was the last.
func (b *RedisEventBus) release(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := b.channels[name]
	if ch == nil {
		return
	}
	if ch.refs--; ch.refs > 0 {
		return
	}
	delete(b.channels, name)
	ctx, cancel := context.WithTimeout(context.Background(), busSubscribeWait)
	defer cancel()
	if err := b.ps.Unsubscribe(ctx, name); err != nil {
		b.log.Warn("event bus: unsubscribe failed", "err", err)
	}
}

// confirmed records Redis' confirmation of a SUBSCRIBE.
func (b *RedisEventBus) confirmed(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending[name] > 1 {
		b.pending[name]--
		return
	}
	delete(b.pending, name)
	if ch := b.channels[name]; ch != nil && !ch.open {
		ch.open = true
		close(ch.ready)
	}
}

// run reads the pub/sub connection until ctx ends.
func (b *RedisEventBus) run(ctx context.Context) {
	defer close(b.done)
	go b.ping(ctx)
	backoff := busMinBackoff
	for {
		msg, err := b.ps.ReceiveTimeout(ctx, busSilence)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if isTimeout(err) && !b.following() {
				continue // idle: nothing subscribed, nothing pinged
			}
			b.log.Warn("event bus: pub/sub connection failed; dropping live subscribers", "err", err)
			// Confirmations still owed may never come; whatever arrives
			// after the reconnect confirms the channels then.
			b.mu.Lock()
			clear(b.pending)
			b.mu.Unlock()
			b.hub.DropAll(resource.EndFanoutInterrupted)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, busMaxBackoff)
			continue
		}
		backoff = busMinBackoff
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.confirmed(m.Channel)
			}
		case *redis.Message:
			var e busEvent
			err := json.Unmarshal([]byte(m.Payload), &e)
			device := err == nil && e.DeviceID != "" && m.Channel == b.channel(e.CustomerID, e.DeviceID)
			if !device && (err != nil || e.DeviceID == "" || m.Channel != b.channel(e.CustomerID, "")) {
				b.log.Warn("event bus: malformed message", "channel", m.Channel)
				continue
			}
			ev := &resource.Event{ID: e.ID, CustomerID: e.CustomerID, DeviceID: e.DeviceID, Type: e.Type,
				OccurredAt: e.OccurredAt.UTC(), ReceivedAt: e.ReceivedAt.UTC(), Payload: e.Payload, PrevID: e.PrevID}
			if c := e.Connection; c != nil {
				ev.Connection = &resource.ConnectionChange{Connected: c.Connected, Reason: c.Reason, RemoteAddress: c.RemoteAddress}
			}
			if device {
				b.hub.DeliverDevice(ev)
			} else {
				b.hub.DeliverCustomer(ev)
			}
		}
	}
}

// following reports whether this replica is subscribed to any channel.
func (b *RedisEventBus) following() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.channels) > 0
}

// isTimeout reports whether err is a read timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ping keeps the pub/sub connection busy while this replica follows a
// channel, until ctx ends; an idle bus sends nothing.
func (b *RedisEventBus) ping(ctx context.Context) {
	t := time.NewTicker(busPingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if b.following() {
				_ = b.ps.Ping(ctx)
			}
		}
	}
}
