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
