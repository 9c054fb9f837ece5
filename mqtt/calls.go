package mqtt

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/assetgate/assetgate/resource"
)

// Relay carries messages between replicas (storage.RedisRelay); without
// one the broker is the only replica.
type Relay interface {
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe calls fn with every message of channel until ctx is done;
	// it returns once the subscription is active.
	Subscribe(ctx context.Context, channel string, fn func([]byte)) error
}

// relayMessage is what replicas tell each other: a call for a device
// whose session is on the receiver, the reply to a call the receiver
// made, or that a device connected elsewhere (takeover).
type relayMessage struct {
	Kind       string          `json:"kind"` // call, reply, takeover
	ID         string          `json:"id,omitempty"`
	Origin     string          `json:"origin,omitempty"`
	CustomerID string          `json:"customer_id,omitempty"`
	DeviceID   string          `json:"device_id"`
	Name       string          `json:"name,omitempty"`
	In         json.RawMessage `json:"in,omitempty"`
	Out        json.RawMessage `json:"out,omitempty"`
	Code       string          `json:"code,omitempty"`
	Session    string          `json:"session,omitempty"`
}

func replicaChannel(replica string) string { return "mqtt:" + replica }

// callMessage is what a device receives on
// devices/{id}/resources/{name}/call. MQTT 5 devices may reply with the
// request's response topic and correlation data; any device may reply on
// devices/{id}/resources/{name}/reply with {"id": ..., "out": ...}.
type callMessage struct {
	ID string          `json:"id"`
	In json.RawMessage `json:"in,omitempty"`
}

// replyMessage is a device's answer to a call.
type replyMessage struct {
	ID  string          `json:"id"`
	Out json.RawMessage `json:"out"`
}

// calls holds the calls in flight: those this replica waits for
// (pending), and those it delivered for another replica (forwarded, by
// call id → origin replica).
type calls struct {
	mu        sync.Mutex
	pending   map[string]pendingCall
	forwarded map[string]forward
}

type pendingCall struct {
	ch       chan relayMessage
	deviceID string
}

type forward struct {
	origin   string
	deviceID string
	until    time.Time
}

func newCalls() *calls {
	return &calls{pending: map[string]pendingCall{}, forwarded: map[string]forward{}}
}

var _ resource.DeviceCaller = (*Broker)(nil)

// Announced implements resource.DeviceCaller: the device's state on any
// replica.
func (b *Broker) Announced(ctx context.Context, customerID, deviceID string) (bool, []resource.DeviceResource, error) {
	cs, err := b.deps.Connections.FindConnections(ctx, customerID, []string{deviceID})
	if err != nil {
		return false, nil, err
	}
	c := cs[deviceID]
	if c == nil {
		return false, nil, nil
	}
	if c.Replica == b.replica {
		return c.Connected, c.Resources, nil
	}
	live, err := b.liveElsewhere(ctx, c)
	if err != nil {
		return false, nil, err
	}
	return live, c.Resources, nil
}

// Call implements resource.DeviceCaller: it sends the call to the replica
// holding the device's session and waits for the reply until ctx is done.
func (b *Broker) Call(ctx context.Context, customerID, deviceID, name string, in json.RawMessage) (json.RawMessage, error) {
	offline := resource.Errorf(resource.EDeviceOffline, "device %q is not connected", deviceID)
	cs, err := b.deps.Connections.FindConnections(ctx, customerID, []string{deviceID})
	if err != nil {
		return nil, err
	}
	c := cs[deviceID]
	if c == nil || !c.Connected {
		return nil, offline
	}
	if c.Replica != b.replica {
		if live, err := b.liveElsewhere(ctx, c); err != nil {
			return nil, err
		} else if !live {
			return nil, offline
		}
	}
	req := relayMessage{Kind: "call", ID: resource.NewID(), Origin: b.replica, CustomerID: customerID, DeviceID: deviceID,
		Name: name, In: in}
	ch := make(chan relayMessage, 1)
	b.calls.mu.Lock()
	b.calls.pending[req.ID] = pendingCall{ch: ch, deviceID: deviceID}
	b.calls.mu.Unlock()
	defer func() {
		b.calls.mu.Lock()
		delete(b.calls.pending, req.ID)
		b.calls.mu.Unlock()
	}()
	if c.Replica == b.replica || b.deps.Relay == nil {
		b.deliverCall(req)
	} else if err := b.relay(ctx, c.Replica, req); err != nil {
		return nil, err
	}
	select {
	case rep := <-ch:
		if rep.Code != "" {
			return nil, offline
		}
		return rep.Out, nil
	case <-ctx.Done():
		return nil, resource.Errorf(resource.EGatewayTimeout, "device %q did not answer the call of %q in time", deviceID, name)
	}
}

// relay sends a message to another replica.
func (b *Broker) relay(ctx context.Context, replica string, m relayMessage) error {
	msg, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return b.deps.Relay.Publish(ctx, replicaChannel(replica), msg)
}

// onRelay handles a message another replica sent this one.
func (b *Broker) onRelay(msg []byte) {
	var m relayMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		b.log.Warn("mqtt relay: unreadable message", "err", err)
		return
	}
	switch m.Kind {
	case "call":
		b.deliverCall(m)
	case "reply":
		b.answer(m)
	case "takeover":
		b.mu.Lock()
		s := b.sessions[m.DeviceID]
		b.mu.Unlock()
		if s != nil && s.id != m.Session {
			s.takenOver.Store(true)
			b.disconnect(s.cl, packets.ErrSessionTakenOver)
		}
	}
}

// deliverCall publishes a call to the device's session on this replica.
func (b *Broker) deliverCall(m relayMessage) {
	b.mu.Lock()
	s := b.sessions[m.DeviceID]
	b.mu.Unlock()
	if s == nil || s.principal.CustomerID != m.CustomerID {
		b.replyTo(m.Origin, relayMessage{Kind: "reply", ID: m.ID, DeviceID: m.DeviceID, Code: resource.EDeviceOffline})
		return
	}
	if m.Origin != b.replica {
		b.calls.mu.Lock()
		b.calls.forwarded[m.ID] = forward{origin: m.Origin, deviceID: m.DeviceID, until: time.Now().Add(resource.MaxCallTimeout)}
		b.calls.mu.Unlock()
	}
	payload, _ := json.Marshal(callMessage{ID: m.ID, In: m.In})
	topic := callTopic(m.DeviceID, m.Name)
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1},
		TopicName:   topic, Payload: payload, PacketID: 1,
		Properties: packets.Properties{ResponseTopic: replyTopic(m.DeviceID, m.Name), CorrelationData: []byte(m.ID),
			ContentType: "application/json"},
	}
	inline, ok := b.srv.Clients.Get(mochi.InlineClientId)
	if !ok {
		b.log.Error("mqtt: the inline client is missing")
		return
	}
	if err := b.srv.InjectPacket(inline, pk); err != nil {
		b.log.Warn("mqtt call publish", "device_id", m.DeviceID, "err", err)
	}
}

// replyTo hands a reply to the replica that made the call.
func (b *Broker) replyTo(origin string, m relayMessage) {
	if origin == b.replica || b.deps.Relay == nil {
		b.answer(m)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.relay(ctx, origin, m); err != nil {
		b.log.Warn("mqtt relay reply", "err", err)
	}
}

// answer completes a call this replica waits for.
func (b *Broker) answer(m relayMessage) {
	b.calls.mu.Lock()
	pc, ok := b.calls.pending[m.ID]
	b.calls.mu.Unlock()
	if !ok {
		return // answered late, after the caller gave up
	}
	select {
	case pc.ch <- m:
	default:
	}
}

func callTopic(deviceID, name string) string {
	return deviceTopic(deviceID) + "resources/" + name + "/call"
}
func replyTopic(deviceID, name string) string {
	return deviceTopic(deviceID) + "resources/" + name + "/reply"
}
func announceTopic(deviceID string) string { return deviceTopic(deviceID) + "resources" }

// isReply reports whether topic is a reply topic of the device.
func isReply(deviceID, topic string) bool {
	rest, ok := strings.CutPrefix(topic, deviceTopic(deviceID)+"resources/")
	if !ok {
		return false
	}
	name, ok := strings.CutSuffix(rest, "/reply")
	return ok && resource.ValidResourceName(name)
}

// reply takes a device's reply to a call: the call id is the correlation
// data (MQTT 5) or the message's "id".
func (b *Broker) reply(s *session, pk packets.Packet) error {
	var r replyMessage
	if err := json.Unmarshal(pk.Payload, &r); err != nil {
		b.refuseMessage(s, pk, &ingestError{code: packets.ErrPayloadFormatInvalid, Code: resource.EInvalid,
			Detail: "a reply is a JSON object {\"id\", \"out\"}"})
		return b.refusal(s, pk, packets.ErrPayloadFormatInvalid)
	}
	if len(pk.Properties.CorrelationData) > 0 {
		r.ID = string(pk.Properties.CorrelationData)
	}
	b.calls.mu.Lock()
	_, local := b.calls.pending[r.ID]
	fw, remote := b.calls.forwarded[r.ID]
	delete(b.calls.forwarded, r.ID)
	now := time.Now()
	for id, f := range b.calls.forwarded {
		if now.After(f.until) {
			delete(b.calls.forwarded, id)
		}
	}
	b.calls.mu.Unlock()
	m := relayMessage{Kind: "reply", ID: r.ID, DeviceID: s.deviceID(), Out: r.Out}
	switch {
	case local:
		b.answer(m)
	case remote && fw.deviceID == s.deviceID():
		b.replyTo(fw.origin, m)
	}
	return packets.CodeSuccessIgnore
}

// announce takes a device's announcement of its resources (retained on
// devices/{id}/resources).
func (b *Broker) announce(s *session, pk packets.Packet) error {
	rs, err := resource.ParseAnnouncement(pk.Payload)
	if err != nil {
		ie := &ingestError{code: packets.ErrPayloadFormatInvalid, Code: resource.EInvalid, Detail: resource.ErrorMessage(err)}
		if f := resource.ErrorField(err); f != "" {
			ie.Pointer = "/" + strings.ReplaceAll(f, ".", "/")
		}
		b.refuseMessage(s, pk, ie)
		return b.refusal(s, pk, packets.ErrPayloadFormatInvalid)
	}
	s.mu.Lock()
	s.resources = rs
	s.mu.Unlock()
	b.putState(s)
	return nil // retained by the broker as published
}

// refuseMessage counts, logs and tells the device of a refused message.
func (b *Broker) refuseMessage(s *session, pk packets.Packet, ie *ingestError) {
	b.refused(RefusedPayload, "mqtt message refused", "device_id", s.deviceID(), "topic", pk.TopicName, "code", ie.Code,
		"pointer", ie.Pointer)
	msg, _ := json.Marshal(errorMessage{Topic: pk.TopicName, PacketID: pk.PacketID, Errors: []*ingestError{ie}})
	b.publish(errorsTopic(s.deviceID()), msg)
}

// refusal is what OnPublish returns for a refused message: the reason
// code for an MQTT 5 QoS 1 message, otherwise an acknowledgement without
// forwarding.
func (b *Broker) refusal(s *session, pk packets.Packet, code packets.Code) error {
	if s.cl.Properties.ProtocolVersion == 5 && pk.FixedHeader.Qos > 0 {
		return code
	}
	return packets.CodeSuccessIgnore
}
