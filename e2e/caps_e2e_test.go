package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/coder/websocket"
)

// TestLiveStreamCaps runs the per-principal caps on live streams through
// the real server: past ASSETGATE_MAX_STREAMS_PER_PRINCIPAL an SSE stream
// is refused with 429, a JSON:API error and Retry-After, and a GraphQL
// subscription with RATE_LIMITED, while another principal is not held
// back; a closed stream gives its place back.
func TestLiveStreamCaps(t *testing.T) {
	env := testsupport.SQLiteEnv(t).With("ASSETGATE_MAX_STREAMS_PER_PRINCIPAL", "2")
	ts := startServer(t, env)
	c := newAPIClientOf(t, ts.URL)
	a := newAPITenant(t, env, c, "Caps")

	first := openSSE(t, ts.URL, a.deviceID, a.basic, "")
	openSSE(t, ts.URL, a.deviceID, a.basic, "")
	req, _ := http.NewRequestWithContext(t.Context(), "GET",
		ts.URL+"/api/v1/devices/"+a.deviceID+"/events/stream?authorization="+url.QueryEscape(a.basic), nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), `"status":"429"`) {
		t.Fatalf("a third stream: %d Retry-After %q %s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	// Another principal of the same customer streams.
	openSSE(t, ts.URL, a.deviceID, a.app, "")

	// subscribe opens a connection, subscribes to the device's events and
	// returns the first message after the acknowledgement within wait ("" when
	// none came: the subscription is open and waiting for events).
	subscribe := func(t *testing.T, wait time.Duration) (string, func(time.Duration) string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		t.Cleanup(cancel)
		conn := dialGraphQLWS(t, ctx, ts.URL, a.basic)
		write := func(v any) {
			raw, _ := json.Marshal(v)
			if err := conn.Write(ctx, websocket.MessageText, raw); err != nil {
				t.Fatal(err)
			}
		}
		// read returns the next message that is not a keep-alive within
		// d, or "".
		msgs := make(chan string, 16)
		go func() {
			defer close(msgs)
			for {
				_, raw, err := conn.Read(ctx)
				if err != nil {
					return
				}
				var m struct{ Type string }
				_ = json.Unmarshal(raw, &m)
				switch m.Type {
				case "connection_ack", "ping", "pong", "ka":
				default:
					msgs <- string(raw)
				}
			}
		}()
		read := func(d time.Duration) string {
			select {
			case m := <-msgs:
				return m
			case <-time.After(d):
				return ""
			}
		}
		write(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]string{
			"query": `subscription { deviceEvents(deviceId: "` + a.deviceID + `") { id } }`}})
		return read(wait), read
	}
	if got, _ := subscribe(t, 5*time.Second); !strings.Contains(got, "RATE_LIMITED") || !strings.Contains(got, `"retryAfter"`) {
		t.Fatalf("a subscription past the cap: %q", got)
	}
	// The first stream ends; its place is given back.
	first.close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, read := subscribe(t, 300*time.Millisecond)
		if got == "" {
			// The subscription is open: an event reaches it.
			id := postEvent(t, c, a.deviceID, a.app, 22)
			if m := read(5 * time.Second); !strings.Contains(m, id) {
				t.Fatalf("subscription after a place was given back: %q, want event %s", m, id)
			}
			return
		}
		if !strings.Contains(got, "RATE_LIMITED") {
			t.Fatalf("subscription: %q", got)
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed stream did not give its place back")
		}
	}
}
