package graph_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/assetgate/assetgate/storage"
)

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialWS opens a graphql-transport-ws connection and sends connection_init
// with the payload.
func dialWS(t *testing.T, e *env, payload map[string]any) (*websocket.Conn, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if res.Header.Get("Sec-WebSocket-Protocol") != "graphql-transport-ws" {
		t.Fatalf("subprotocol %q", res.Header.Get("Sec-WebSocket-Protocol"))
	}
	raw, _ := json.Marshal(payload)
	writeWS(t, ctx, c, wsMessage{Type: "connection_init", Payload: raw})
	return c, ctx
}

func writeWS(t *testing.T, ctx context.Context, c *websocket.Conn, m wsMessage) {
	t.Helper()
	raw, _ := json.Marshal(m)
	if err := c.Write(ctx, websocket.MessageText, raw); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readWS returns the next message that is not a ping or pong.
func readWS(ctx context.Context, c *websocket.Conn) (wsMessage, error) {
	for {
		_, raw, err := c.Read(ctx)
		if err != nil {
			return wsMessage{}, err
		}
		var m wsMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return m, err
		}
		if m.Type != "ping" && m.Type != "pong" && m.Type != "ka" {
			return m, nil
		}
	}
}

// TestWebSocket runs an operation over graphql-transport-ws with the
// token in connection_init, and refuses a connection without a valid one.
func TestWebSocket(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{})
	t.Run("OK", func(t *testing.T) {
		c, ctx := dialWS(t, e, map[string]any{"Authorization": "Bearer " + e.me(e.a)})
		if m, err := readWS(ctx, c); err != nil || m.Type != "connection_ack" {
			t.Fatalf("after init: %+v %v", m, err)
		}
		writeWS(t, ctx, c, wsMessage{ID: "1", Type: "subscribe", Payload: json.RawMessage(`{"query":"{ me { id } }"}`)})
		m, err := readWS(ctx, c)
		if err != nil || m.Type != "next" || m.ID != "1" || !strings.Contains(string(m.Payload), e.a.user.ID) {
			t.Fatalf("result: %+v %s %v", m, m.Payload, err)
		}
		if m, err := readWS(ctx, c); err != nil || m.Type != "complete" {
			t.Fatalf("end: %+v %v", m, err)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		tok := e.me(e.a)
		c, ctx := dialWS(t, e, map[string]any{"Authorization": "Bearer " + tok})
		if m, err := readWS(ctx, c); err != nil || m.Type != "connection_ack" {
			t.Fatalf("after init: %+v %v", m, err)
		}
		e.mu.Lock()
		delete(e.tokens, tok) // revoked
		e.mu.Unlock()
		writeWS(t, ctx, c, wsMessage{ID: "2", Type: "subscribe", Payload: json.RawMessage(`{"query":"{ me { id } }"}`)})
		m, err := readWS(ctx, c)
		if err != nil || m.ID != "2" || !strings.Contains(string(m.Payload), "UNAUTHENTICATED") || strings.Contains(string(m.Payload), e.a.user.ID) {
			t.Fatalf("after revocation: %+v %s %v", m, m.Payload, err)
		}
	})
	for name, payload := range map[string]map[string]any{
		"ErrMissingToken": {},
		"ErrInvalidToken": {"Authorization": "Bearer nope"},
	} {
		t.Run(name, func(t *testing.T) {
			c, ctx := dialWS(t, e, payload)
			for {
				m, err := readWS(ctx, c)
				if err != nil {
					// 4403, not a normal closure: graphql-ws clients
					// reconnect at once after a normal one.
					if code := websocket.CloseStatus(err); code != 4403 {
						t.Fatalf("closed with %d (%v), want 4403 Forbidden", code, err)
					}
					return
				}
				if m.Type == "connection_ack" || m.Type == "next" {
					t.Fatalf("an unauthenticated connection got %+v", m)
				}
			}
		})
	}
}

// TestWebSocketSubscribeBeforeInit closes a connection whose first message
// subscribes, before any connection_init, with 4401 Unauthorized, and runs
// nothing; a connection that starts with connection_init still works.
func TestWebSocketSubscribeBeforeInit(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	writeWS(t, ctx, c, wsMessage{ID: "1", Type: "subscribe", Payload: json.RawMessage(`{"query":"{ me { id } }"}`)})
	for {
		m, err := readWS(ctx, c)
		if err != nil {
			if code := websocket.CloseStatus(err); code != closeUnauthorizedWant {
				t.Fatalf("closed with %d (%v), want %d Unauthorized", code, err, closeUnauthorizedWant)
			}
			break
		}
		if m.Type == "next" || m.Type == "connection_ack" {
			t.Fatalf("a subscribe before init got %+v", m)
		}
	}
	ok, ctx2 := dialWS(t, e, map[string]any{"Authorization": "Bearer " + e.me(e.a)})
	if m, err := readWS(ctx2, ok); err != nil || m.Type != "connection_ack" {
		t.Fatalf("after init: %+v %v", m, err)
	}
}

// closeUnauthorizedWant is graphql-transport-ws's 4401, written out here so
// the test does not share the constant it checks.
const closeUnauthorizedWant = 4401
