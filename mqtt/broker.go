// Package mqtt is assetgate's MQTT listener for devices (MQTT 3.1.1 and 5,
// on TCP, TLS and WebSocket), on the mochi-mqtt broker library. A device
// connects with its id as client id and user name and one of its device
// tokens as password; it publishes only under devices/{its id}/ and
// subscribes only to its own command topics. Events it publishes on
// devices/{id}/events go through resource.EventService, as those posted
// over HTTP do. docs/architecture.md ("MQTT") describes the design.
//
// The package is a transport: it imports resource and scopes, never the
// other APIs.
package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// Config says where the listener listens. With neither Addr nor WSAddr
// there is no listener.
type Config struct {
	// Addr is the TCP address of MQTT (TLS when TLS is set), e.g. ":1883".
	Addr string
	// WSAddr is the TCP address of MQTT over WebSocket (any path; TLS
	// when TLS is set).
	WSAddr string
	// TLS, when set, makes both listeners TLS listeners.
	TLS *tls.Config
	// Recheck is how often the tokens of live sessions are checked again,
	// so that a revoked or expired token's session ends; 0 is
	// DefaultRecheck.
	Recheck time.Duration
	// Lease is how long the replica's lease in the connection mirror runs
	// (renewed every third of it): the devices of a replica that died
	// without ending its sessions read disconnected at most this long
	// after its last renewal. 0 is DefaultLease.
	Lease time.Duration
}

// DefaultLease is the default of Config.Lease.
const DefaultLease = 15 * time.Second

// DefaultRecheck is the default of Config.Recheck: a revoked token's
// session ends within a second, on every replica.
const DefaultRecheck = time.Second

// Enabled reports whether the configuration asks for a listener.
func (c Config) Enabled() bool { return c.Addr != "" || c.WSAddr != "" }

// Refusal is what a refusal counter is told: which rule refused what.
type Refusal string

// Refusals.
const (
	RefusedConnect   Refusal = "connect"
	RefusedPublish   Refusal = "publish"
	RefusedSubscribe Refusal = "subscribe"
	RefusedPayload   Refusal = "payload"
)

// MessageOutcome is what became of a message a device published, as a
// message counter is told.
type MessageOutcome string

// Message outcomes.
const (
	// MessageAccepted: events stored (and a QoS 1 message acknowledged).
	MessageAccepted MessageOutcome = "accepted"
	// MessageDelivered: another message of the device (an announcement, a
	// call's reply, a topic of its own) taken by the broker.
	MessageDelivered MessageOutcome = "delivered"
	// MessageRejected: an invalid payload, never stored.
	MessageRejected MessageOutcome = "rejected"
	// MessageRefused: a topic the device may not publish to.
	MessageRefused MessageOutcome = "refused"
	// MessageFailed: events not stored through no fault of the message
	// (the store failed); the device sends them again.
	MessageFailed MessageOutcome = "failed"
)

// Deps are what the listener runs on.
type Deps struct {
	// Resolver turns the password of a CONNECT into its principal: the
	// bearer resolver of the HTTP APIs, so the same device tokens work.
	Resolver scopes.Resolver
	// Tokens and Key re-check the tokens of live sessions by family and
	// keyed hash (the token itself is not kept).
	Tokens resource.TokenStore
	Key    []byte
	// Events is the ingest of events published on devices/{id}/events.
	Events *resource.EventService
	// Connections keeps the devices' connection states (shared by the
	// replicas with Redis); Relay, with Redis, carries calls and takeovers
	// between replicas (nil: this is the only replica).
	Connections resource.ConnectionStore
	Relay       Relay
	// Mirror, when set, records connects and disconnects in the database
	// (what filter[connected] reads) under the replica's lease.
	Mirror resource.ConnectionMirror
	// OnConnection, when set, is called when a session is established; it
	// returns what to call when the session ends (a metrics gauge).
	OnConnection func() (ended func())
	// OnMessage, when set, is called for every message a device publishes,
	// with its outcome (a metrics hook).
	OnMessage func(MessageOutcome)
	// OnRefused, when set, is called for every refused connection,
	// publish, subscription or payload (a metrics hook).
	OnRefused func(Refusal)
	Logger    *slog.Logger
	Now       func() time.Time
}

// Broker is the MQTT listener. Make it with New, start it with Listen,
// stop it with Close.
type Broker struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	srv  *mochi.Server

	// replica names this broker among the replicas.
	replica string
	calls   *calls

	mu       sync.Mutex
	sessions map[string]*session // by device id
	tcp      *tcpListener
	ws       *wsListener
	started  bool
	closed   bool
	closing  chan struct{}
	stop     context.CancelFunc
	loops    sync.WaitGroup
}

// New makes a broker on deps; it listens once Listen is called.
func New(cfg Config, deps Deps) (*Broker, error) {
	if deps.Resolver == nil || deps.Tokens == nil || deps.Events == nil || deps.Connections == nil || len(deps.Key) == 0 {
		return nil, errors.New("mqtt: Resolver, Tokens, Key, Events and Connections are required")
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheck
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	log := deps.Logger.With("component", "mqtt")
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = maxPacketSize
	caps.MaximumQos = 1
	caps.SharedSubAvailable = 0
	caps.MaximumSessionExpiryInterval = maxSessionExpiry
	caps.ReceiveMaximum = 64
	caps.MaximumClientWritesPending = 256
	// Acknowledgements carry no properties of the packet they acknowledge,
	// so a successful PUBACK is the 0x00 of the specification.
	caps.Compatibilities.NoInheritedPropertiesOnAck = true
	b := &Broker{cfg: cfg, deps: deps, log: log, sessions: map[string]*session{}, replica: resource.NewID(), calls: newCalls(),
		closing: make(chan struct{})}
	b.srv = mochi.New(&mochi.Options{
		Capabilities: caps, InlineClient: true, Logger: log,
		// $SYS topics are not served (no device may subscribe to them);
		// they are refreshed rarely.
		SysTopicResendInterval: 3600,
	})
	if err := b.srv.AddHook(&hook{b: b}, nil); err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	return b, nil
}

// maxPacketSize bounds one MQTT packet, as the JSON:API bounds a body.
const maxPacketSize = 1 << 20

// maxSessionExpiry bounds how long a disconnected MQTT 5 session is kept.
const maxSessionExpiry = 3600

// Listen opens the configured listeners and starts serving them, and the
// loop that re-checks live sessions' tokens.
func (b *Broker) Listen() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started || b.closed {
		return errors.New("mqtt: Listen called twice or after Close")
	}
	if b.cfg.Addr != "" {
		b.tcp = &tcpListener{id: "tcp", address: b.cfg.Addr, tlsConfig: b.cfg.TLS}
		if err := b.srv.AddListener(b.tcp); err != nil {
			return fmt.Errorf("mqtt: listen on %s: %w", b.cfg.Addr, err)
		}
	}
	if b.cfg.WSAddr != "" {
		b.ws = newWSListener("ws", b.cfg.WSAddr, b.cfg.TLS)
		if err := b.srv.AddListener(b.ws); err != nil {
			b.closeListenersLocked()
			return fmt.Errorf("mqtt: listen on %s: %w", b.cfg.WSAddr, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	if b.deps.Relay != nil {
		if err := b.deps.Relay.Subscribe(ctx, replicaChannel(b.replica), b.onRelay); err != nil {
			cancel()
			b.closeListenersLocked()
			return fmt.Errorf("mqtt: %w", err)
		}
	}
	// The lease exists before the first session is marked connected (no
	// session yet: nothing to mark again).
	rctx, rcancel := context.WithTimeout(ctx, stateTimeout)
	b.renew(rctx)
	rcancel()
	if err := b.srv.Serve(); err != nil {
		cancel()
		b.closeListenersLocked()
		return fmt.Errorf("mqtt: %w", err)
	}
	b.stop, b.started = cancel, true
	b.loops.Add(2)
	go func() {
		defer b.loops.Done()
		b.recheckLoop(b.closing)
	}()
	go func() {
		defer b.loops.Done()
		b.leaseLoop(b.closing)
	}()
	b.log.Info("mqtt listening", "addr", b.Addr(), "ws_addr", b.WSAddr(), "tls", b.cfg.TLS != nil)
	return nil
}

func (b *Broker) closeListenersLocked() {
	b.srv.Listeners.CloseAll(func(string) {})
}

// Addr is the address the TCP listener listens on ("" without one).
func (b *Broker) Addr() string {
	if b.tcp == nil {
		return ""
	}
	return b.tcp.Address()
}

// WSAddr is the address the WebSocket listener listens on ("" without
// one).
func (b *Broker) WSAddr() string {
	if b.ws == nil {
		return ""
	}
	return b.ws.Address()
}

// Close stops listening and ends every session (MQTT 5 clients get a
// DISCONNECT "server shutting down"). It is safe to call more than once.
func (b *Broker) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	started := b.started
	stop := b.stop
	b.mu.Unlock()
	if !started {
		return
	}
	close(b.closing)
	b.loops.Wait()
	_ = b.srv.Close()
	b.releaseLease()
	stop() // the relay, after the sessions' last states are stored
}

// Connected reports whether a device has a live session on this replica.
func (b *Broker) Connected(deviceID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.sessions[deviceID]
	return ok
}

// publish sends a message from the server to whoever subscribed to topic
// (QoS 1).
func (b *Broker) publish(topic string, payload []byte) {
	if err := b.srv.Publish(topic, payload, false, 1); err != nil {
		b.log.Warn("mqtt publish", "topic", topic, "err", err)
	}
}

// disconnect ends a client's session with a reason code (MQTT 5 clients
// receive a DISCONNECT with it; 3.1.1 clients see the connection close).
func (b *Broker) disconnect(cl *mochi.Client, code packets.Code) {
	if cl.Properties.ProtocolVersion == 5 {
		_ = b.srv.DisconnectClient(cl, code)
		return
	}
	cl.Stop(code)
}

// refused counts and logs a refusal.
func (b *Broker) refused(r Refusal, msg string, args ...any) {
	b.log.Info(msg, append([]any{"refused", string(r)}, args...)...)
	if b.deps.OnRefused != nil {
		b.deps.OnRefused(r)
	}
	if r == RefusedPublish {
		b.message(MessageRefused)
	}
}

// message counts a message a device published.
func (b *Broker) message(o MessageOutcome) {
	if b.deps.OnMessage != nil {
		b.deps.OnMessage(o)
	}
}
