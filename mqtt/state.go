package mqtt

import (
	"context"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// stateTimeout bounds one write of a connection state.
const stateTimeout = 5 * time.Second

// putState stores the session's connection state.
func (b *Broker) putState(s *session) {
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	if err := b.deps.Connections.PutConnection(ctx, s.state(b.replica)); err != nil {
		b.log.Warn("mqtt connection state", "device_id", s.deviceID(), "err", err)
	}
}

// connected stores the state of a new session, tells the live streams of
// the device and its customer, and ends the device's session on another
// replica, if it has one (MQTT's takeover, across replicas).
func (b *Broker) connected(s *session) {
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	cs, err := b.deps.Connections.FindConnections(ctx, s.principal.CustomerID, []string{s.deviceID()})
	if err != nil {
		b.log.Warn("mqtt connection state", "device_id", s.deviceID(), "err", err)
	}
	// The mirror first: the state in the store is what calls read, and it
	// should not say connected long before the session takes its
	// subscriptions.
	if b.deps.Mirror != nil {
		if err := b.deps.Mirror.MarkConnected(ctx, s.state(b.replica)); err != nil {
			b.log.Warn("mqtt connection state", "device_id", s.deviceID(), "err", err)
		}
	}
	b.putState(s)
	b.deps.Events.PublishConnection(ctx, s.principal.CustomerID, s.deviceID(), s.connected,
		resource.ConnectionChange{Connected: true, RemoteAddress: s.remote})
	if old := cs[s.deviceID()]; old != nil && old.Connected && old.Replica != b.replica && b.deps.Relay != nil {
		err := b.relay(ctx, old.Replica, relayMessage{Kind: "takeover", DeviceID: s.deviceID(), Session: s.id})
		if err != nil {
			b.log.Warn("mqtt takeover", "device_id", s.deviceID(), "err", err)
		}
	}
}

// disconnected stores the state of an ended session, unless the device
// connected again meanwhile, and tells the live streams of the device and
// its customer why it ended (a takeover's disconnect too: the reason says
// that a new session is live).
func (b *Broker) disconnected(s *session, reason string) {
	c := s.state(b.replica)
	now := b.deps.Now().UTC().Truncate(time.Microsecond)
	c.Connected, c.DisconnectedAt, c.DisconnectReason, c.Replica = false, &now, reason, ""
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	if err := b.deps.Connections.EndConnection(ctx, c); err != nil {
		b.log.Warn("mqtt connection state", "device_id", s.deviceID(), "err", err)
	}
	if b.deps.Mirror != nil {
		if err := b.deps.Mirror.MarkDisconnected(ctx, c); err != nil {
			b.log.Warn("mqtt connection state", "device_id", s.deviceID(), "err", err)
		}
	}
	b.deps.Events.PublishConnection(ctx, s.principal.CustomerID, s.deviceID(), now,
		resource.ConnectionChange{Connected: false, Reason: reason, RemoteAddress: s.remote})
	// Calls in flight keep waiting for their reply until their time-out:
	// a device may answer from its next session (a one-shot client such as
	// mosquitto_pub answers on a connection of its own).
}

// retainedResources returns what the device's retained announcement on
// this replica says (nil without one).
func (b *Broker) retainedResources(deviceID string) []resource.DeviceResource {
	for _, pk := range b.srv.Topics.Messages(announceTopic(deviceID)) {
		if rs, err := resource.ParseAnnouncement(pk.Payload); err == nil {
			return rs
		}
	}
	return nil
}

// renewLease renews the replica's lease in the connection mirror; when it
// had lapsed (the replica stalled past it, and another replica may have
// marked its devices disconnected) the live sessions are marked connected
// again.
func (b *Broker) renewLease(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	if !b.renew(ctx) {
		return
	}
	b.mu.Lock()
	live := make([]*session, 0, len(b.sessions))
	for _, s := range b.sessions {
		live = append(live, s)
	}
	b.mu.Unlock()
	for _, s := range live {
		if err := b.deps.Mirror.MarkConnected(ctx, s.state(b.replica)); err != nil {
			b.log.Warn("mqtt connection state", "device_id", s.deviceID(), "err", err)
		}
	}
}

// renew renews the replica's lease and reports whether it had lapsed; it
// takes no lock (Listen calls it holding b.mu).
func (b *Broker) renew(ctx context.Context) (lapsed bool) {
	if b.deps.Mirror == nil {
		return false
	}
	now := b.deps.Now()
	lapsed, err := b.deps.Mirror.RenewLease(ctx, b.replica, now.Add(b.cfg.Lease), now)
	if err != nil {
		b.log.Warn("mqtt replica lease", "err", err)
		return false
	}
	return lapsed
}

// leaseLoop renews the replica's lease every third of Config.Lease until
// closing is closed.
func (b *Broker) leaseLoop(closing <-chan struct{}) {
	if b.deps.Mirror == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-closing
		cancel()
	}()
	t := time.NewTicker(b.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.renewLease(ctx)
		}
	}
}

// releaseLease ends the replica's lease (its sessions have ended): devices
// it still holds read disconnected at once.
func (b *Broker) releaseLease() {
	if b.deps.Mirror == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	if err := b.deps.Mirror.ReleaseLease(ctx, b.replica, b.deps.Now()); err != nil {
		b.log.Warn("mqtt replica lease", "err", err)
	}
}

// liveElsewhere reports whether the session a connection state names, on
// another replica, is live: without a mirror the state says so; with one,
// the replica must hold its lease (a replica that died leaves states that
// say connected).
func (b *Broker) liveElsewhere(ctx context.Context, c *resource.DeviceConnection) (bool, error) {
	if !c.Connected || b.deps.Mirror == nil {
		return c.Connected, nil
	}
	ms, err := b.deps.Mirror.FindMirrored(ctx, c.CustomerID, []string{c.DeviceID}, b.deps.Now())
	if err != nil {
		return false, err
	}
	m := ms[c.DeviceID]
	return m != nil && m.Connected, nil
}
