package e2e

import (
	"github.com/assetgate/assetgate/internal/testsupport"

	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/assetgate/assetgate/graph"
)

// TestShutdownDrainsWebSockets: a graceful shutdown completes the open
// subscriptions and closes every GraphQL WebSocket with 1012 ("service
// restart"), telling the client to reconnect, and does not wait for them;
// an SSE stream open at the same time gets its final "shutdown" event.
func TestShutdownDrainsWebSockets(t *testing.T) {
	env := testsupport.SQLiteEnv(t)
	ts := startServer(t, env)
	c := newAPIClientOf(t, ts.URL)
	tn := newAPITenant(t, env, c, "Drain")
	stream := openSSE(t, ts.URL, tn.deviceID, tn.device, "")

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	idle := dialGraphQLWS(t, ctx, ts.URL, tn.me)
	readWS(t, ctx, idle, "connection_ack")
	subscribed := dialGraphQLWS(t, ctx, ts.URL, tn.me)
	readWS(t, ctx, subscribed, "connection_ack")
	sub, _ := json.Marshal(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { deviceEvents(deviceId: "` + tn.deviceID + `") { id } }`}})
	if err := subscribed.Write(ctx, websocket.MessageText, sub); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the subscription is running

	start := time.Now()
	if err := ts.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, ts.stderr.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %s with WebSockets open", d)
	}
	for name, ws := range map[string]*websocket.Conn{"idle": idle, "subscribed": subscribed} {
		var err error
		for err == nil {
			_, _, err = ws.Read(ctx)
		}
		if got := websocket.CloseStatus(err); got != graph.CloseServiceRestart {
			t.Errorf("%s WebSocket ended with %v (status %d), want close %d", name, err, got, graph.CloseServiceRestart)
		} else if !strings.Contains(err.Error(), "service restart") {
			t.Errorf("%s WebSocket close reason: %v", name, err)
		}
	}
	if e := stream.next(t); e.event != "end" || !strings.Contains(e.data, `"shutdown"`) || !strings.Contains(e.data, "reconnect") {
		t.Fatalf("final SSE event %+v", e)
	}
}
