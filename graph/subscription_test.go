package graph_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

const subscribeEvents = `subscription($id: ID!) { deviceEvents(deviceId: $id) { id deviceId type payload { percent } } }`

// subscribe opens a graphql-transport-ws connection to url with token and
// starts the deviceEvents subscription (id "s") of the device.
func subscribe(t *testing.T, url, token, deviceID string) (*websocket.Conn, context.Context) {
	t.Helper()
	c, ctx := dialWS(t, &env{url: url}, map[string]any{"Authorization": "Bearer " + token})
	if m, err := readWS(ctx, c); err != nil || m.Type != "connection_ack" {
		t.Fatalf("after init: %+v %v", m, err)
	}
	payload, _ := json.Marshal(map[string]any{"query": subscribeEvents, "variables": map[string]any{"id": deviceID}})
	writeWS(t, ctx, c, wsMessage{ID: "s", Type: "subscribe", Payload: payload})
	return c, ctx
}

// nextEvent records battery events on the device through record (once per
// 100 ms, as the subscription may not be established yet) until the
// subscription delivers one, and returns the delivered event's id with the
// ids recorded.
func nextEvent(t *testing.T, ctx context.Context, c *websocket.Conn, record func() string) (string, []string) {
	t.Helper()
	got := make(chan wsMessage, 1)
	go func() {
		m, err := readWS(ctx, c)
		if err != nil {
			m = wsMessage{Type: "read error: " + err.Error()}
		}
		got <- m
	}()
	var recorded []string
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		recorded = append(recorded, record())
		select {
		case m := <-got:
			if m.Type != "next" || m.ID != "s" {
				t.Fatalf("subscription: %+v %s", m, m.Payload)
			}
			var p struct {
				Data struct {
					DeviceEvents struct{ ID, Type string } `json:"deviceEvents"`
				} `json:"data"`
			}
			if err := json.Unmarshal(m.Payload, &p); err != nil || p.Data.DeviceEvents.Type != "BATTERY" {
				t.Fatalf("next: %s", m.Payload)
			}
			return p.Data.DeviceEvents.ID, recorded
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("no event arrived")
		}
	}
}

// recorder records a battery event on a device through the GraphQL
// endpoint of e with an `app` token, and returns its id.
func recorder(t *testing.T, e *env, url string, tn tenant) func() string {
	tok := e.app(tn, scopes.App)
	other := &env{url: url}
	return func() string {
		d := other.query(t, tok, `mutation($id: ID!) { recordEvent(input: {deviceId: $id, type: BATTERY, payload: {percent: 42}}) { event { id } } }`,
			map[string]any{"id": tn.device.ID}).ok(t)
		return get(d, "recordEvent.event.id").(string)
	}
}

// TestSubscription follows a device's events over WebSocket, and ends the
// subscription when its token is revoked.
func TestSubscription(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{cfg: func(c *graph.Config) { c.SubscriptionRecheck = 100 * time.Millisecond }})
	t.Run("OK", func(t *testing.T) {
		tok := e.me(e.a)
		c, ctx := subscribe(t, e.url, tok, e.a.device.ID)
		id, recorded := nextEvent(t, ctx, c, recorder(t, e, e.url, e.a))
		if !strings.Contains(strings.Join(recorded, " "), id) {
			t.Fatalf("delivered %s, recorded %v", id, recorded)
		}
		// Revoked: the subscription completes within a recheck.
		e.mu.Lock()
		delete(e.tokens, tok)
		e.mu.Unlock()
		for {
			m, err := readWS(ctx, c)
			if err != nil {
				t.Fatalf("no complete after revocation: %v", err)
			}
			if m.Type == "complete" && m.ID == "s" {
				break
			}
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		c, ctx := subscribe(t, e.url, e.deviceToken(e.a, scopes.DeviceRead), e.a.device.ID)
		m, err := readWS(ctx, c)
		if err != nil || !strings.Contains(string(m.Payload), "FORBIDDEN") {
			t.Fatalf("got %+v %s %v", m, m.Payload, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		c, ctx := subscribe(t, e.url, e.me(e.a), e.b.device.ID)
		m, err := readWS(ctx, c)
		if err != nil || !strings.Contains(string(m.Payload), "NOT_FOUND") {
			t.Fatalf("got %+v %s %v", m, m.Payload, err)
		}
	})
}

// TestSubscriptionOutlivesServerTimeouts keeps a subscription open past
// the HTTP server's read and write timeouts (the service's server has
// both).
func TestSubscriptionOutlivesServerTimeouts(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{})
	srv := httptest.NewUnstartedServer(graph.New(e.deps, e.cfg))
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	c, ctx := subscribe(t, srv.URL+"/graphql", e.me(e.a), e.a.device.ID)
	time.Sleep(time.Second)
	nextEvent(t, ctx, c, recorder(t, e, e.url, e.a))
}

// TestSubscriptionAcrossReplicas subscribes on one replica and records on
// another: the event travels through Redis pub/sub, the fan-out of the
// live event stream.
func TestSubscriptionAcrossReplicas(t *testing.T) {
	rc := storagetest.MustOpenRedis(t)
	e := newEnv(t, storage.SQLite, options{redis: rc})
	// Replica B has a service graph of its own, with its own Redis bus.
	b := httptest.NewServer(e.newApp(t, rc).GraphQL())
	t.Cleanup(b.Close)

	c, ctx := subscribe(t, b.URL+"/graphql", e.me(e.a), e.a.device.ID)
	id, recorded := nextEvent(t, ctx, c, recorder(t, e, e.url, e.a))
	if !strings.Contains(strings.Join(recorded, " "), id) {
		t.Fatalf("replica B delivered %s, replica A recorded %v", id, recorded)
	}
}
