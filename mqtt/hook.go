package mqtt

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// Disconnect reasons, as the connection state and the live stream name
// them.
const (
	ReasonClient   = "client"
	ReasonTakeover = "takeover"
	ReasonRevoked  = "revoked"
	ReasonTimeout  = "timeout"
	ReasonShutdown = "shutdown"
)

// authTimeout bounds the token look-up of one CONNECT.
const authTimeout = 5 * time.Second

// session is one authenticated connection of a device.
type session struct {
	// id names the session among every replica's.
	id        string
	cl        *mochi.Client
	principal *scopes.Principal
	// familyID and hash find the token again (the token is not kept).
	familyID, hash string
	connected      time.Time
	remote         string
	// bytes counts what the connection received and sent.
	bytes *countingConn
	// lastPacket is when the device last sent a packet (Unix ns).
	lastPacket atomic.Int64
	// revoked and takenOver say why the session ended, when the server
	// ended it.
	revoked, takenOver atomic.Bool

	mu        sync.Mutex
	resources []resource.DeviceResource
	// reported are the byte counts last stored.
	reportedRx, reportedTx int64
	// ended, when set, is called once the session ended (the connections
	// gauge).
	ended func()
}

// bytesChanged reports whether the byte counts moved since they were last
// stored.
func (s *session) bytesChanged() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes.rx.Load() != s.reportedRx || s.bytes.tx.Load() != s.reportedTx
}

// state is the session's connection state.
func (s *session) state(replica string) *resource.DeviceConnection {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reportedRx, s.reportedTx = s.bytes.rx.Load(), s.bytes.tx.Load()
	connected := s.connected
	last := time.Unix(0, s.lastPacket.Load()).UTC()
	return &resource.DeviceConnection{CustomerID: s.principal.CustomerID, DeviceID: s.deviceID(), Connected: true,
		ConnectedAt: &connected, RemoteAddress: s.remote, RxBytes: s.reportedRx, TxBytes: s.reportedTx,
		LastPacketAt: &last, Replica: replica, Session: s.id, Resources: slices.Clone(s.resources)}
}

func (s *session) deviceID() string { return s.principal.DeviceID }

// hook is the broker's mochi hook: authentication, ACL, ingest, byte
// counts and the session registry.
type hook struct {
	mochi.HookBase
	b        *Broker
	byClient sync.Map // *mochi.Client → *session
}

func (h *hook) ID() string { return "assetgate" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mochi.OnConnect, mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnSessionEstablish,
		mochi.OnDisconnect, mochi.OnPacketRead, mochi.OnPublish, mochi.OnWill,
	}, []byte{b})
}

// OnConnect refuses a client id that is not the user name (the device id)
// before any token is looked up.
func (h *hook) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	if user := string(pk.Connect.Username); user == "" || cl.ID != user || !resource.ValidID(user) {
		h.b.refused(RefusedConnect, "mqtt connect refused: the client id must be the device id given as user name",
			"remote", cl.Net.Remote)
		_ = h.b.srv.SendConnack(cl, packets.ErrClientIdentifierNotValid, false, nil)
		return packets.ErrClientIdentifierNotValid
	}
	return nil
}

// OnConnectAuthenticate accepts a device token of the device named by the
// user name, and nothing else.
func (h *hook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	deviceID, token := string(pk.Connect.Username), string(pk.Connect.Password)
	prefix, familyID, ok := resource.ParseToken(token)
	if !ok || prefix != resource.DeviceTokenPrefix {
		h.b.refused(RefusedConnect, "mqtt connect refused: the password is not a device token", "device_id", deviceID,
			"remote", cl.Net.Remote)
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
	defer cancel()
	p, err := h.b.deps.Resolver(ctx, token)
	if err != nil {
		if !errors.Is(err, scopes.ErrInvalidToken) {
			h.b.log.Warn("mqtt connect: resolving the token", "device_id", deviceID, "err", err)
		}
		h.b.refused(RefusedConnect, "mqtt connect refused: invalid device token", "device_id", deviceID, "remote", cl.Net.Remote)
		return false
	}
	if p.Kind != scopes.KindDevice || p.DeviceID != deviceID {
		h.b.refused(RefusedConnect, "mqtt connect refused: the token is not one of this device", "device_id", deviceID,
			"remote", cl.Net.Remote)
		return false
	}
	s := &session{id: resource.NewID(), cl: cl, principal: p, familyID: familyID, hash: resource.KeyedHash(h.b.deps.Key, token),
		connected: h.b.deps.Now().UTC().Truncate(time.Microsecond), remote: cl.Net.Remote}
	s.lastPacket.Store(s.connected.UnixNano())
	s.bytes = counters(cl.Net.Conn)
	if s.bytes == nil {
		s.bytes = &countingConn{}
	}
	h.byClient.Store(cl, s)
	return true
}

// OnSessionEstablish registers the session; an earlier session of the
// device on this replica is being taken over by mochi.
func (h *hook) OnSessionEstablish(cl *mochi.Client, _ packets.Packet) {
	s := h.session(cl)
	if s == nil {
		return
	}
	h.b.mu.Lock()
	old := h.b.sessions[s.deviceID()]
	h.b.sessions[s.deviceID()] = s
	h.b.mu.Unlock()
	if old != nil {
		old.takenOver.Store(true)
	}
	s.resources = h.b.retainedResources(s.deviceID())
	h.b.connected(s)
	if h.b.deps.OnConnection != nil {
		s.ended = h.b.deps.OnConnection()
	}
	h.b.log.Info("mqtt device connected", "device_id", s.deviceID(), "customer_id", s.principal.CustomerID,
		"remote", s.remote, "protocol", cl.Properties.ProtocolVersion)
}

// OnDisconnect unregisters the session and says why it ended.
func (h *hook) OnDisconnect(cl *mochi.Client, err error, _ bool) {
	s := h.session(cl)
	if s == nil {
		return
	}
	h.byClient.Delete(cl)
	h.b.mu.Lock()
	if h.b.sessions[s.deviceID()] == s {
		delete(h.b.sessions, s.deviceID())
	}
	h.b.mu.Unlock()
	reason := disconnectReason(s, err)
	h.b.disconnected(s, reason)
	if s.ended != nil {
		s.ended()
	}
	h.b.log.Info("mqtt device disconnected", "device_id", s.deviceID(), "reason", reason,
		"rx_bytes", s.bytes.rx.Load(), "tx_bytes", s.bytes.tx.Load())
}

// disconnectReason names why a session ended.
func disconnectReason(s *session, err error) string {
	cause := s.cl.StopCause()
	var ne net.Error
	switch {
	case s.revoked.Load():
		return ReasonRevoked
	case s.takenOver.Load() || s.cl.IsTakenOver() || errors.Is(cause, packets.ErrSessionTakenOver):
		return ReasonTakeover
	case errors.Is(cause, packets.ErrServerShuttingDown):
		return ReasonShutdown
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	}
	return ReasonClient
}

func (h *hook) session(cl *mochi.Client) *session {
	v, ok := h.byClient.Load(cl)
	if !ok {
		return nil
	}
	return v.(*session)
}

// OnPacketRead ends a 3.1.1 session that
// publishes where it may not (3.1.1 has no negative PUBACK; MQTT 5 clients
// get PUBACK "not authorized" from the ACL check instead).
func (h *hook) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	s := h.session(cl)
	if s == nil {
		return pk, nil
	}
	s.lastPacket.Store(time.Now().UnixNano())
	if pk.FixedHeader.Type == packets.Publish && cl.Properties.ProtocolVersion < 5 && !mayPublish(s.deviceID(), pk.TopicName) {
		h.b.refused(RefusedPublish, "mqtt publish refused: not a topic of the device", "device_id", s.deviceID(),
			"topic", pk.TopicName)
		cl.Stop(packets.ErrNotAuthorized)
		return pk, packets.ErrRejectPacket // ends the connection
	}
	return pk, nil
}

// OnACLCheck allows a device to publish under devices/{its id}/ only, and
// to subscribe to its own command topics only.
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	s := h.session(cl)
	if s == nil {
		return false
	}
	if write {
		if mayPublish(s.deviceID(), topic) {
			return true
		}
		h.b.refused(RefusedPublish, "mqtt publish refused: not a topic of the device", "device_id", s.deviceID(), "topic", topic)
		return false
	}
	if maySubscribe(s.deviceID(), topic) {
		return true
	}
	h.b.refused(RefusedSubscribe, "mqtt subscribe refused: not a command topic of the device", "device_id", s.deviceID(),
		"filter", topic)
	return false
}

// OnWill keeps a will only on a topic the device may publish to.
func (h *hook) OnWill(cl *mochi.Client, will mochi.Will) (mochi.Will, error) {
	s := h.session(cl)
	if s == nil || !mayPublish(s.deviceID(), will.TopicName) || isEventsTopic(s.deviceID(), will.TopicName) {
		return mochi.Will{}, nil
	}
	return will, nil
}

// OnPublish ingests what a device publishes on its events topic; other
// topics of the device pass through the broker.
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	s := h.session(cl)
	if s == nil {
		return pk, packets.ErrRejectPacket
	}
	var err error
	events := isEventsTopic(s.deviceID(), pk.TopicName)
	switch {
	case events:
		err = h.b.ingest(s, pk)
	case pk.TopicName == announceTopic(s.deviceID()):
		err = h.b.announce(s, pk)
	case isReply(s.deviceID(), pk.TopicName):
		err = h.b.reply(s, pk)
	}
	h.b.message(messageOutcome(events, err))
	return pk, err
}

// messageOutcome names what OnPublish's answer err does with a message of
// the events topic (events) or another one.
func messageOutcome(events bool, err error) MessageOutcome {
	var code packets.Code
	switch {
	case err == nil || errors.Is(err, packets.CodeSuccessIgnore):
		if events {
			return MessageAccepted
		}
		return MessageDelivered
	case errors.Is(err, packets.ErrRejectPacket):
		return MessageFailed
	case errors.As(err, &code) && code.Code == packets.ErrUnspecifiedError.Code:
		return MessageFailed
	}
	return MessageRejected
}

// Topics of a device.
func deviceTopic(deviceID string) string        { return "devices/" + deviceID + "/" }
func eventsTopic(deviceID string) string        { return deviceTopic(deviceID) + "events" }
func errorsTopic(deviceID string) string        { return deviceTopic(deviceID) + "errors" }
func isEventsTopic(deviceID, topic string) bool { return topic == eventsTopic(deviceID) }

// mayPublish: a topic under devices/{id}/ (no wildcards), except those the
// server publishes to the device: devices/{id}/errors and resource calls
// (…/call).
func mayPublish(deviceID, topic string) bool {
	ls := strings.Split(topic, "/")
	if len(ls) < 3 || ls[0] != "devices" || ls[1] != deviceID || ls[2] == "" || strings.ContainsAny(topic, "+#") {
		return false
	}
	return topic != errorsTopic(deviceID) && !strings.HasSuffix(topic, "/call")
}

// maySubscribe: the device's command topics, devices/{id}/errors,
// devices/{id}/resources/... and devices/{id}/commands/..., with wildcards
// only below those levels.
func maySubscribe(deviceID, filter string) bool {
	ls := strings.Split(filter, "/")
	if len(ls) < 3 || ls[0] != "devices" || ls[1] != deviceID {
		return false
	}
	switch ls[2] {
	case "errors", "resources", "commands":
		return true
	}
	return false
}
