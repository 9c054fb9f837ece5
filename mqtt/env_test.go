package mqtt_test

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/mqtt"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
	"github.com/assetgate/assetgate/wire/wiretest"
)

// backend is what a test environment runs on: SQLite, PostgreSQL, or
// PostgreSQL with Redis (where a second replica can be made).
type backend struct {
	name  string
	db    func(t *testing.T) *storage.DB
	redis bool
}

func backends() []backend {
	return []backend{
		{name: "sqlite", db: func(t *testing.T) *storage.DB { return storagetest.MustOpenDB(t, storage.SQLite) }},
		{name: "postgres", db: func(t *testing.T) *storage.DB { return storagetest.MustOpenDB(t, storage.Postgres) }},
		{name: "postgres+redis", redis: true, db: func(t *testing.T) *storage.DB { return storagetest.MustOpenDB(t, storage.Postgres) }},
	}
}

// eachBackend runs fn on every backend.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, newEnv(t, b)) })
	}
}

// env is one replica (App) on a database, with a tenant whose device has a
// device token, and what it takes to make another replica on the same
// stores.
type env struct {
	t      *testing.T
	db     *storage.DB
	rc     redis.UniversalClient
	prefix string
	app    *wire.App
	tn     wiretest.Tenant
	// token is a device token of tn.Device with every permission.
	token string
	me    context.Context
	logs  *testsupport.SyncBuffer
}

func newEnv(t *testing.T, b backend) *env {
	t.Helper()
	e := &env{t: t, db: b.db(t), logs: &testsupport.SyncBuffer{}}
	if b.redis {
		e.rc = storagetest.MustOpenRedis(t)
		e.prefix = storagetest.MustRedisPrefix(t, e.rc)
	}
	e.app = e.replica()
	e.tn = wiretest.MustTenant(t, e.app, "Acme", "mqtt", "correct horse battery")
	e.me = scopes.NewContext(t.Context(), &scopes.Principal{Kind: scopes.KindUser, CustomerID: e.tn.Customer.ID,
		UserID: e.tn.User.ID, Scopes: []string{scopes.Me}})
	e.token = e.deviceToken(e.tn.Device.ID, nil)
	return e
}

// replica builds a service graph on the environment's stores with an MQTT
// listener (TCP and WebSocket on free loopback ports) and starts it.
func (e *env) replica() *wire.App {
	e.t.Helper()
	cfg := wiretest.Config()
	cfg.MQTT = mqtt.Config{Addr: "127.0.0.1:0", WSAddr: "127.0.0.1:0"}
	cfg.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := []wire.Option{wire.WithDB(e.db)}
	if e.rc != nil {
		cfg.RedisPrefix = e.prefix
		opts = append(opts, wire.WithRedis(e.rc))
	}
	a := wiretest.MustNew(e.t, cfg, opts...)
	if err := a.ListenMQTT(); err != nil {
		e.t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	a.Start(ctx)
	return a
}

// deviceToken makes a device token of a device with permissions (nil:
// all).
func (e *env) deviceToken(deviceID string, perms []string) string {
	e.t.Helper()
	_, secret, err := e.app.DeviceTokens.Create(e.me, deviceID, resource.DeviceTokenInput{Name: "mqtt", Permissions: perms})
	if err != nil {
		e.t.Fatalf("create device token: %v", err)
	}
	return secret
}

// client5 is an MQTT 5 client (paho.golang) with what it received.
type client5 struct {
	*paho.Client
	mu           sync.Mutex
	received     []*paho.Publish
	recv         chan *paho.Publish
	disconnected chan *paho.Disconnect
	conn         net.Conn
}

// dial5 connects an MQTT 5 client to addr; it returns the CONNACK (and an
// error for a refused one).
func dial5(t *testing.T, addr, clientID, user, password string) (*client5, *paho.Connack, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return connect5(t, conn, clientID, user, password)
}

func connect5(t *testing.T, conn net.Conn, clientID, user, password string) (*client5, *paho.Connack, error) {
	t.Helper()
	c := &client5{recv: make(chan *paho.Publish, 100), disconnected: make(chan *paho.Disconnect, 1), conn: conn}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn: conn, ClientID: clientID,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			c.recv <- r.Packet
			return true, nil
		}},
		OnServerDisconnect: func(d *paho.Disconnect) {
			select {
			case c.disconnected <- d:
			default:
			}
		},
		OnClientError: func(error) {},
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: clientID, Username: user, UsernameFlag: user != "",
		Password: []byte(password), PasswordFlag: password != "", KeepAlive: 30, CleanStart: true})
	if err != nil {
		_ = conn.Close()
		return nil, ca, err
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c, ca, nil
}

// mustDial5 connects a device with its token.
func mustDial5(t *testing.T, addr, deviceID, token string) *client5 {
	t.Helper()
	c, ca, err := dial5(t, addr, deviceID, deviceID, token)
	if err != nil {
		t.Fatalf("connect %s: %v (connack %+v)", deviceID, err, ca)
	}
	return c
}

// next returns the next message the client receives on topic, failing
// after d.
func (c *client5) next(t *testing.T, topic string, d time.Duration) *paho.Publish {
	t.Helper()
	timer := time.After(d)
	for {
		select {
		case p := <-c.recv:
			if p.Topic == topic {
				return p
			}
		case <-timer:
			t.Fatalf("no message on %s within %v", topic, d)
			return nil
		}
	}
}

// waitDisconnect returns the DISCONNECT the server sent, failing after d.
func (c *client5) waitDisconnect(t *testing.T, d time.Duration) *paho.Disconnect {
	t.Helper()
	select {
	case dp := <-c.disconnected:
		return dp
	case <-time.After(d):
		t.Fatalf("no DISCONNECT within %v", d)
		return nil
	}
}

func (c *client5) subscribe(t *testing.T, filter string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
	if sa == nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
	return sa.Reasons
}

// publish sends a QoS 1 message and returns the PUBACK's reason code.
func (c *client5) publish(t *testing.T, topic string, payload []byte, user ...paho.UserProperty) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pr, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload,
		Properties: &paho.PublishProperties{User: user}})
	if pr == nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
	return pr.ReasonCode
}

// eventsOf returns the stored events of the tenant's device.
func (e *env) eventsOf(deviceID string) []*resource.Event {
	e.t.Helper()
	l, err := e.app.Events.ListForDevice(e.me, deviceID, resource.ListQuery[resource.EventListFilter]{})
	if err != nil {
		e.t.Fatalf("list events: %v", err)
	}
	return l.Events
}
