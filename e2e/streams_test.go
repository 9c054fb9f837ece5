package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/eclipse/paho.golang/paho"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// customerStream is the path of the tenant-wide event stream.
const customerStream = "/api/v1/events/stream"

// addDevice creates another device in the tenant's group through the API
// and returns its id.
func addDevice(t *testing.T, c *apiClient, tn *apiTenant, name string) string {
	t.Helper()
	return c.call(t, "POST", "/api/v1/devices", tn.me, apiDoc("devices", "", map[string]any{"name": name, "imei": testIMEI()},
		map[string][2]string{"group": {"device-groups", tn.groupID}})).id(t)
}

// streamed is an SSE event's data: the event resource object's id and
// device.
func streamed(t *testing.T, e sseEvent) (id, deviceID string) {
	t.Helper()
	var obj struct {
		ID            string `json:"id"`
		Relationships struct {
			Device struct {
				Data struct {
					ID string `json:"id"`
				} `json:"data"`
			} `json:"device"`
		} `json:"relationships"`
	}
	if e.event != "" || json.Unmarshal([]byte(e.data), &obj) != nil || obj.ID == "" {
		t.Fatalf("not an event: %+v", e)
	}
	if e.id < obj.ID {
		t.Fatalf("id: %s is below the event's own %s", e.id, obj.ID)
	}
	return obj.ID, obj.Relationships.Device.Data.ID
}

// quietSSE fails when the stream sends an event within d.
func quietSSE(t *testing.T, c *sseClient, d time.Duration) {
	t.Helper()
	select {
	case e := <-c.events:
		t.Fatalf("unexpected event %+v", e)
	case <-time.After(d):
	}
}

// connectionOf decodes a "connection" SSE event.
func connectionOf(t *testing.T, e sseEvent) (deviceID string, connected bool, reason string) {
	t.Helper()
	var c struct {
		DeviceID      string  `json:"device_id"`
		Connected     bool    `json:"connected"`
		Reason        *string `json:"reason"`
		RemoteAddress *string `json:"remote_address"`
		At            string  `json:"at"`
	}
	if e.event != "connection" || e.id != "" || json.Unmarshal([]byte(e.data), &c) != nil || c.RemoteAddress == nil || c.At == "" {
		t.Fatalf("not a connection event: %+v", e)
	}
	if c.Reason != nil {
		reason = *c.Reason
	}
	return c.DeviceID, c.Connected, reason
}

// connectDevice connects an MQTT 5 client as a device (dialDevice),
// failing the test when the CONNECT is refused, and returns what
// disconnects it (once; the test's cleanup does it otherwise).
func connectDevice(t *testing.T, addr, deviceID, token string) (disconnect func()) {
	t.Helper()
	d, err := dialDevice(t, addr, deviceID, token)
	if err != nil {
		t.Fatalf("mqtt connect: %v", err)
	}
	var once sync.Once
	return func() { once.Do(func() { _ = d.Disconnect(&paho.Disconnect{}) }) }
}

// gqlSubscription is a graphql-transport-ws subscription whose "next"
// payloads a goroutine reads.
type gqlSubscription struct {
	next chan map[string]any
}

// subscribeGraphQL starts subscription "s" of query with vars on a new
// WebSocket connection of base with token.
func subscribeGraphQL(t *testing.T, base, token, query string, vars map[string]any) *gqlSubscription {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := dialGraphQLWS(t, ctx, base, token)
	sub, _ := json.Marshal(map[string]any{"id": "s", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
	if err := c.Write(ctx, websocket.MessageText, sub); err != nil {
		t.Fatal(err)
	}
	s := &gqlSubscription{next: make(chan map[string]any, 1024)}
	go func() {
		defer close(s.next)
		for {
			_, raw, err := c.Read(ctx)
			if err != nil {
				return
			}
			var m struct {
				Type    string `json:"type"`
				Payload struct {
					Data struct {
						DeviceEvents map[string]any `json:"deviceEvents"`
					} `json:"data"`
					Errors []any `json:"errors"`
				} `json:"payload"`
			}
			if json.Unmarshal(raw, &m) != nil {
				continue
			}
			switch {
			case m.Type == "next" && len(m.Payload.Errors) > 0:
				s.next <- map[string]any{"end": string(raw)}
				return
			case m.Type == "next":
				s.next <- m.Payload.Data.DeviceEvents
			case m.Type == "error" || m.Type == "complete":
				s.next <- map[string]any{"end": string(raw)}
				return
			}
		}
	}()
	return s
}

// take returns the next item of the subscription, failing after 10 s.
func (s *gqlSubscription) take(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m, ok := <-s.next:
		if !ok || m["end"] != nil {
			t.Fatalf("subscription ended: %v", m)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no subscription item within 10s")
	}
	return nil
}

const tenantSubscription = `subscription($after: ID) { deviceEvents(after: $after, connections: true) {
	id deviceId type connection { connected reason remoteAddress } } }`

// TestTenantStreams runs the tenant-wide live streams through `assetgate
// serve` with its MQTT listener: GET /api/v1/events/stream and deviceEvents
// without deviceId deliver the events of every device of the customer and
// none of another's, resume across devices with Last-Event-ID / after, and
// show an MQTT device's connect and disconnect (as on the device's own
// stream).
func TestTenantStreams(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			mqttAddr := freeAddr(t)
			env := mkenv(t).With("ASSETGATE_MQTT_ADDR", mqttAddr)
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			a, b := newAPITenant(t, env, c, "FleetA"), newAPITenant(t, env, c, "FleetB")
			d1, d2 := a.deviceID, addDevice(t, c, a, "FleetA second")

			t.Run("SSE", func(t *testing.T) {
				st := openSSEPath(t, ts.URL, customerStream, a.basic, "")
				e1 := postEvent(t, c, d1, a.app, 1)
				postEvent(t, c, b.deviceID, b.app, 2) // another customer's
				e2 := postEvent(t, c, d2, a.app, 3)
				e3 := postEvent(t, c, d1, a.app, 4)
				// Published in this order: had B's event leaked, it would
				// come before e2.
				for _, want := range [][2]string{{e1, d1}, {e2, d2}, {e3, d1}} {
					if id, dev := streamed(t, st.next(t)); id != want[0] || dev != want[1] {
						t.Fatalf("streamed %s of %s, want %s of %s", id, dev, want[0], want[1])
					}
				}
				quietSSE(t, st, 300*time.Millisecond)

				// Resume across devices: the stored events after e1, by id,
				// then live ones.
				resumed := openSSEPath(t, ts.URL, customerStream, a.me, e1)
				for _, want := range []string{e2, e3} {
					if id, _ := streamed(t, resumed.next(t)); id != want {
						t.Fatalf("resumed with %s, want %s", id, want)
					}
				}
				live := postEvent(t, c, d2, a.app, 5)
				if id, _ := streamed(t, resumed.next(t)); id != live {
					t.Fatalf("after the replay %s, want %s", id, live)
				}

				// A device token's tenant stream is its own device's.
				own := openSSEPath(t, ts.URL, customerStream, a.device, "")
				postEvent(t, c, d2, a.app, 6)
				mine := postEvent(t, c, d1, a.app, 7)
				if id, dev := streamed(t, own.next(t)); id != mine || dev != d1 {
					t.Fatalf("device token streamed %s of %s, want %s of its device", id, dev, mine)
				}
				// B's stream sees none of A's.
				bs := openSSEPath(t, ts.URL, customerStream, b.basic, "")
				postEvent(t, c, d1, a.app, 8)
				quietSSE(t, bs, 300*time.Millisecond)
				// Errors before the stream starts are JSON:API errors.
				c.call(t, "GET", customerStream, "", nil).want(t, 401)
			})

			t.Run("ResumeUnderConcurrentIngest", func(t *testing.T) {
				// Three devices ingest at once; a stream is read for a
				// while and dropped, a second resumes from its last id:.
				// The second repeats nothing of the first, and every event
				// answered 201 with an id above its resume point reaches
				// it once.
				devices := []string{d1, d2, addDevice(t, c, a, "FleetA third")}
				from := postEvent(t, c, d1, a.app, 0)
				var mu sync.Mutex
				var posted []string
				stop := make(chan struct{})
				var wg sync.WaitGroup
				for i, d := range devices {
					wg.Go(func() {
						for n := 0; ; n++ {
							select {
							case <-stop:
								return
							default:
							}
							id := postKeyed(t, c, d, a.app, temperatureDoc(float64((i*10+n)%100)), "k-"+resource.NewID())
							if id == "" {
								return
							}
							mu.Lock()
							posted = append(posted, id)
							mu.Unlock()
						}
					})
				}
				first := openSSEPath(t, ts.URL, customerStream, a.basic, from)
				seen := map[string]bool{}
				high := from
				for range 30 {
					e := first.next(t)
					id, _ := streamed(t, e)
					if seen[id] || id <= from {
						t.Fatalf("first stream: %s twice or not after %s", id, from)
					}
					seen[id], high = true, e.id
				}
				first.close()
				second := openSSEPath(t, ts.URL, customerStream, a.basic, high)
				time.Sleep(1500 * time.Millisecond)
				close(stop)
				wg.Wait()
				var want []string
				for _, id := range posted {
					if id > high {
						want = append(want, id)
					}
				}
				slices.Sort(want)
				var got []string
				for len(got) < len(want) {
					var e sseEvent
					select {
					case e = <-second.events:
					case <-time.After(10 * time.Second):
						w := map[string]bool{}
						for _, id := range got {
							w[id] = true
						}
						var missing []string
						for _, id := range want {
							if !w[id] {
								missing = append(missing, id)
							}
						}
						t.Fatalf("second stream: %d of %d events after %s; missing %v", len(got), len(want), high, missing)
					}
					id, _ := streamed(t, e)
					if seen[id] {
						t.Fatalf("second stream repeats %s", id)
					}
					seen[id] = true
					got = append(got, id)
				}
				quietSSE(t, second, 300*time.Millisecond)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("second stream delivered %d events, want the %d posted after %s", len(got), len(want), high)
				}
				if len(want) == 0 {
					t.Fatal("nothing was posted after the resume point: the test proved nothing")
				}
				t.Logf("%d events posted; the second stream got all %d after the resume point, none twice", len(posted), len(want))
			})

			t.Run("GraphQL", func(t *testing.T) {
				from := postEvent(t, c, d1, a.app, 10)
				sub := subscribeGraphQL(t, ts.URL, a.me, tenantSubscription, map[string]any{"after": from})
				e1 := postEvent(t, c, d2, a.app, 11)
				postEvent(t, c, b.deviceID, b.app, 12)
				e2 := postEvent(t, c, d1, a.app, 13)
				for _, want := range [][2]string{{e1, d2}, {e2, d1}} {
					if m := sub.take(t); m["id"] != want[0] || m["deviceId"] != want[1] || m["type"] != "TEMPERATURE" || m["connection"] != nil {
						t.Fatalf("subscription: %v, want %s of %s", m, want[0], want[1])
					}
				}
				// CONNECTION is live only: no filter or recordEvent takes it.
				gql(t, ts.URL, a.basic, `{ events(filter: {type: [CONNECTION]}) { totalCount } }`, nil).fails(t, "BAD_USER_INPUT")
				gql(t, ts.URL, a.app, `mutation($id: ID!) { recordEvent(input: {deviceId: $id, type: CONNECTION, payload: {}}) { event { id } } }`,
					map[string]any{"id": d1}).fails(t, "BAD_USER_INPUT")
				// A malformed after is BAD_USER_INPUT.
				bad := subscribeGraphQL(t, ts.URL, a.me, tenantSubscription, map[string]any{"after": "nope"})
				select {
				case m := <-bad.next:
					if end, _ := m["end"].(string); !strings.Contains(end, "BAD_USER_INPUT") {
						t.Fatalf("after: nope gave %v", m)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no error for a malformed after")
				}
			})

			t.Run("MQTTConnection", func(t *testing.T) {
				// The subscription is live once an event posted after its
				// resume point arrives (replayed or live).
				before := postEvent(t, c, d2, a.app, 20)
				sub := subscribeGraphQL(t, ts.URL, a.me, tenantSubscription, map[string]any{"after": before})
				// A subscription that did not ask for connections (as every
				// client before them) gets none.
				plain := subscribeGraphQL(t, ts.URL, a.me, `subscription($after: ID) { deviceEvents(after: $after) { id type } }`,
					map[string]any{"after": before})
				mark := postEvent(t, c, d2, a.app, 21)
				for _, s := range []*gqlSubscription{sub, plain} {
					if m := s.take(t); m["id"] != mark {
						t.Fatalf("subscription: %v, want %s", m, mark)
					}
				}
				tenant := openSSEPath(t, ts.URL, customerStream, a.basic, "")
				device := openSSEPath(t, ts.URL, "/api/v1/devices/"+d1+"/events/stream", a.basic, "")
				disconnect := connectDevice(t, mqttAddr, d1, a.device)
				for _, st := range []*sseClient{tenant, device} {
					if dev, connected, reason := connectionOf(t, st.next(t)); dev != d1 || !connected || reason != "" {
						t.Fatalf("connect: %s %v %q", dev, connected, reason)
					}
				}
				if m := sub.take(t); m["type"] != "CONNECTION" || m["deviceId"] != d1 ||
					m["connection"].(map[string]any)["connected"] != true || m["connection"].(map[string]any)["remoteAddress"] == nil {
					t.Fatalf("subscription: %v", m)
				}
				disconnect()
				for _, st := range []*sseClient{tenant, device} {
					if dev, connected, reason := connectionOf(t, st.next(t)); dev != d1 || connected || reason != "client" {
						t.Fatalf("disconnect: %s %v %q", dev, connected, reason)
					}
				}
				if m := sub.take(t); m["type"] != "CONNECTION" || m["connection"].(map[string]any)["reason"] != "CLIENT" {
					t.Fatalf("subscription: %v", m)
				}
				// Live only: a stream resuming from before them replays
				// the events, not the connection changes.
				last := postEvent(t, c, d1, a.app, 22)
				if m := plain.take(t); m["id"] != last || m["type"] != "TEMPERATURE" {
					t.Fatalf("the subscription without connections: %v, want %s", m, last)
				}
				again := openSSEPath(t, ts.URL, customerStream, a.basic, mark)
				if id, _ := streamed(t, again.next(t)); id != last {
					t.Fatalf("resumed with %s, want %s", id, last)
				}
				quietSSE(t, again, 300*time.Millisecond)
			})
		})
	}
}

// TestTenantStreamTwoReplicas runs two replicas on one PostgreSQL database
// and one Redis: an event ingested on A and an MQTT device connected to A
// reach a tenant stream on B.
func TestTenantStreamTwoReplicas(t *testing.T) {
	redisURL := storagetest.RequireEnv(t, storagetest.RedisURLEnv)
	mqttA := freeAddr(t)
	env := testsupport.PostgresEnv(t).With("ASSETGATE_REDIS_URL", redisURL)
	replicaA, replicaB := startServer(t, env.With("ASSETGATE_MQTT_ADDR", mqttA)), startServer(t, env)
	ca := newAPIClientOf(t, replicaA.URL)
	tn := newAPITenant(t, env, ca, "FleetReplicas")
	d2 := addDevice(t, ca, tn, "FleetReplicas second")

	onB := openSSEPath(t, replicaB.URL, customerStream, tn.basic, "") // subscribed in Redis before it answers 200
	e1 := postEvent(t, ca, tn.deviceID, tn.app, 30)
	e2 := postEvent(t, ca, d2, tn.app, 31)
	for _, want := range []string{e1, e2} {
		if id, _ := streamed(t, onB.next(t)); id != want {
			t.Fatalf("B streamed %s, want %s (posted to A)", id, want)
		}
	}
	connectDevice(t, mqttA, tn.deviceID, tn.device)
	if dev, connected, _ := connectionOf(t, onB.next(t)); dev != tn.deviceID || !connected {
		t.Fatalf("B: connection of %s %v, want %s connected on A", dev, connected, tn.deviceID)
	}
}
