package graph_test

import (
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/storage"
)

// TestWebSocketCap opens WebSocket connections for one principal up to
// the bound: the next is closed without connection_ack, another principal
// still connects, and a closed connection gives its place back.
func TestWebSocketCap(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{cfg: func(c *graph.Config) { c.MaxSocketsPerPrincipal = 2 }})
	tok := e.me(e.a)
	acked := func(t *testing.T, token string) (*websocket.Conn, bool) {
		t.Helper()
		c, ctx := dialWS(t, e, map[string]any{"Authorization": "Bearer " + token})
		m, err := readWS(ctx, c)
		if code := websocket.CloseStatus(err); err != nil && code != 4429 {
			t.Fatalf("refused with close code %d (%v), want 4429", code, err)
		}
		return c, err == nil && m.Type == "connection_ack"
	}
	first, ok1 := acked(t, tok)
	_, ok2 := acked(t, tok)
	if !ok1 || !ok2 {
		t.Fatal("connections within the bound were refused")
	}
	if _, ok := acked(t, tok); ok {
		t.Fatal("a third connection of one principal was acknowledged")
	}
	if _, ok := acked(t, e.me(e.b)); !ok {
		t.Fatal("another principal was refused")
	}
	first.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := acked(t, tok); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection did not give its place back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
