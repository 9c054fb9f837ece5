package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// sseEvent is one dispatched block of an event stream (comments dropped).
type sseEvent struct{ id, event, data string }

// sseClient is an open event stream read by a goroutine.
type sseClient struct {
	events chan sseEvent
	done   chan struct{}
	cancel context.CancelFunc
}

// close ends the stream from the client's side and waits for its reader.
func (c *sseClient) close() {
	c.cancel()
	<-c.done
}

// openSSE opens an event stream with a plain HTTP client (the token in the
// query, as an EventSource sends it) and fails unless it answers 200
// text/event-stream.
func openSSE(t testing.TB, base, deviceID, token, lastEventID string) *sseClient {
	t.Helper()
	return openSSEPath(t, base, "/api/v1/devices/"+deviceID+"/events/stream", token, lastEventID)
}

// openSSEPath opens the event stream at path as openSSE does.
func openSSEPath(t testing.TB, base, path, token, lastEventID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", base+path+"?authorization="+url.QueryEscape(token), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		res.Body.Close()
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	c := &sseClient{events: make(chan sseEvent, 1024), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(c.done)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch {
			case line == "":
				if e.data != "" {
					c.events <- e
				}
				e = sseEvent{}
			case field == "id":
				e.id = value
			case field == "event":
				e.event = value
			case field == "data":
				e.data += value
			}
		}
	}()
	return c
}

// next returns the next event; it fails the test when none comes in 10 s.
func (c *sseClient) next(t testing.TB) sseEvent {
	t.Helper()
	select {
	case e := <-c.events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return sseEvent{}
}

// postEvent ingests a temperature event with a token and returns its id.
func postEvent(t *testing.T, c *apiClient, deviceID, token string, celsius float64) string {
	t.Helper()
	return c.call(t, "POST", "/api/v1/devices/"+deviceID+"/events", token, temperatureDoc(celsius)).id(t)
}

// issueDeviceToken creates a device token through the API as the user and
// returns its id and the token.
func issueDeviceToken(t *testing.T, c *apiClient, tn *apiTenant, permissions ...string) (id, token string) {
	t.Helper()
	attrs := map[string]any{"name": "e2e"}
	if len(permissions) > 0 {
		attrs["permissions"] = permissions
	}
	d := c.call(t, "POST", "/api/v1/devices/"+tn.deviceID+"/tokens", tn.me, apiDoc("device-tokens", "", attrs, nil)).want(t, 201)["data"].(map[string]any)
	return d["id"].(string), d["attributes"].(map[string]any)["token"].(string)
}

// TestEventsEndToEnd runs the event features through `assetgate serve`: a
// device token issued through the API ingests, with idempotent retries; a
// real HTTP client follows the live stream and resumes it; tenants stay
// apart.
func TestEventsEndToEnd(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			a, b := newAPITenant(t, env, c, "EventsA"), newAPITenant(t, env, c, "EventsB")
			_, writer := issueDeviceToken(t, c, a, "events:write")
			_, reader := issueDeviceToken(t, c, a, "events:read")

			stream := openSSE(t, ts.URL, a.deviceID, reader, "")
			first := postEvent(t, c, a.deviceID, writer, 20)
			if e := stream.next(t); e.id != first || !strings.Contains(e.data, `"celsius":20`) {
				t.Fatalf("streamed %+v, want %s", e, first)
			}

			// Ten concurrent retries of one request: one event.
			const n = 10
			ids := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { ids[i] = postKeyed(t, c, a.deviceID, writer, temperatureDoc(21), "retry-e2e") })
			}
			wg.Wait()
			for _, id := range ids[1:] {
				if id != ids[0] {
					t.Fatalf("retries created %s and %s", ids[0], id)
				}
			}
			if e := stream.next(t); e.id != ids[0] {
				t.Fatalf("streamed %+v, want %s", e, ids[0])
			}
			select {
			case e := <-stream.events:
				t.Fatalf("a retry was streamed again: %+v", e)
			case <-time.After(300 * time.Millisecond):
			}

			// Resume after the first event: the second comes from the store.
			resumed := openSSE(t, ts.URL, a.deviceID, a.basic, first)
			if e := resumed.next(t); e.id != ids[0] {
				t.Fatalf("resumed with %+v, want %s", e, ids[0])
			}

			// Tenants: B's tokens cannot see or feed A's device.
			c.call(t, "POST", "/api/v1/devices/"+a.deviceID+"/events", b.app, temperatureDoc(1)).want(t, 404)
			c.call(t, "GET", "/api/v1/devices/"+a.deviceID+"/events", b.device, nil).want(t, 404)
			doc := c.call(t, "GET", "/api/v1/events", b.basic, nil).want(t, 200)
			if ids := listIDs(doc); len(ids) != 0 {
				t.Fatalf("B lists A's events: %v", ids)
			}
		})
	}
}

// postKeyed posts an event document with an Idempotency-Key through the
// validating client and returns the event id ("" after reporting an
// error; it may run on another goroutine than the test's).
func postKeyed(t *testing.T, c *apiClient, deviceID, token string, body map[string]any, key string) string {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(t.Context(), "POST", c.base+"/api/v1/devices/"+deviceID+"/events", bytes.NewReader(raw))
	if err != nil {
		t.Error(err)
		return ""
	}
	req.Header.Set("Content-Type", jsonapi.MediaType)
	req.Header.Set("Accept", jsonapi.MediaType)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(jsonapi.IdempotencyKeyHeader, key)
	res, err := c.client.Do(req)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer res.Body.Close()
	var doc struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || res.StatusCode != http.StatusCreated {
		t.Errorf("keyed post: %d, %v", res.StatusCode, err)
	}
	return doc.Data.ID
}

// TestEventsTwoReplicas runs two replicas (two server processes on different
// ports) on one PostgreSQL database and one Redis: an event posted to A
// reaches a stream on B, a token issued by A works on B, and a token
// revoked on B is refused by A at once.
func TestEventsTwoReplicas(t *testing.T) {
	redisURL := storagetest.RequireEnv(t, storagetest.RedisURLEnv)
	env := testsupport.PostgresEnv(t).With("ASSETGATE_REDIS_URL", redisURL)
	replicaA, replicaB := startServer(t, env), startServer(t, env)
	if replicaA.URL == replicaB.URL {
		t.Fatal("the replicas share an address")
	}
	ca, cb := newAPIClientOf(t, replicaA.URL), newAPIClientOf(t, replicaB.URL)
	tn := newAPITenant(t, env, ca, "Replicas")

	tokenID, token := issueDeviceToken(t, ca, tn) // issued by A
	cb.call(t, "GET", "/api/v1/devices/"+tn.deviceID, token, nil).want(t, 200)

	onB := openSSE(t, replicaB.URL, tn.deviceID, token, "") // subscribed in Redis before it answers 200
	id := postEvent(t, ca, tn.deviceID, token, 30)
	e := onB.next(t)
	var obj map[string]any
	if err := json.Unmarshal([]byte(e.data), &obj); err != nil || e.id != id || obj["id"] != id {
		t.Fatalf("B streamed %+v, want %s (posted to A)", e, id)
	}

	cb.call(t, "DELETE", "/api/v1/devices/"+tn.deviceID+"/tokens/"+tokenID, tn.me, nil).want(t, 204) // revoked on B
	res := ca.call(t, "GET", "/api/v1/devices/"+tn.deviceID, token, nil)                             // refused by A at once
	if res.status != http.StatusUnauthorized {
		t.Fatalf("A after the revocation on B: %d", res.status)
	}
}

// TestEventsShutdownEndsStreams checks that a graceful shutdown ends open
// streams (a device's and the tenant-wide one) with a final "shutdown"
// event instead of waiting for them.
func TestEventsShutdownEndsStreams(t *testing.T) {
	env := testsupport.SQLiteEnv(t)
	ts := startServer(t, env)
	c := newAPIClientOf(t, ts.URL)
	tn := newAPITenant(t, env, c, "Shutdown")
	stream := openSSE(t, ts.URL, tn.deviceID, tn.device, "")
	tenant := openSSEPath(t, ts.URL, "/api/v1/events/stream", tn.basic, "")
	start := time.Now()
	if err := ts.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, ts.stderr.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %s with a stream open", d)
	}
	for _, st := range []*sseClient{stream, tenant} {
		if e := st.next(t); e.event != "end" || !strings.Contains(e.data, `"shutdown"`) {
			t.Fatalf("final event %+v", e)
		}
		<-st.done
	}
}
