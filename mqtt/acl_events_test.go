package mqtt_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/eclipse/paho.golang/paho"

	"github.com/assetgate/assetgate/mqtt"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestACL(t *testing.T) {
	e := newEnv(t, backends()[0])
	dev := e.tn.Device.ID
	other := storagetest.NewDevice(e.tn.Customer.ID, time.Now())
	storagetest.MustCreateDevice(t, e.app.Stores.Devices, other)
	c := mustDial5(t, e.app.MQTT.Addr(), dev, e.token)

	for _, s := range []struct {
		filter string
		ok     bool
	}{
		{"devices/" + dev + "/errors", true},
		{"devices/" + dev + "/resources/+/call", true},
		{"devices/" + dev + "/commands/#", true},
		{"devices/" + dev + "/events", false},
		{"devices/" + dev + "/#", false},
		{"devices/" + other.ID + "/errors", false},
		{"devices/+/errors", false},
		{"#", false},
		{"$SYS/#", false},
	} {
		got := c.subscribe(t, s.filter)
		if ok := got[0] < 0x80; ok != s.ok {
			t.Errorf("subscribe %s: SUBACK %#x, want allowed=%v", s.filter, got[0], s.ok)
		}
	}
	for _, p := range []struct {
		topic string
		ok    bool
	}{
		{"devices/" + dev + "/status", true},
		{"devices/" + other.ID + "/events", false},
		{"devices/" + other.ID + "/status", false},
		{"devices/" + dev + "/errors", false},
		{"devices/" + dev + "/resources/open/call", false},
		{"status", false},
	} {
		rc := c.publish(t, p.topic, []byte(`{}`))
		if ok := rc < 0x80; ok != p.ok {
			t.Errorf("publish %s: PUBACK %#x, want allowed=%v", p.topic, rc, p.ok)
		}
		if !p.ok && rc != rcNotAuthorized {
			t.Errorf("publish %s: PUBACK %#x, want %#x", p.topic, rc, rcNotAuthorized)
		}
	}
	if n := len(e.eventsOf(other.ID)); n != 0 {
		t.Fatalf("the other device has %d events", n)
	}
	logs := e.logs.String()
	for _, want := range []string{`"refused":"subscribe"`, `"refused":"publish"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %s in the log", want)
		}
	}
}

func TestACL311DisconnectsOnForeignPublish(t *testing.T) {
	e := newEnv(t, backends()[0])
	dev := e.tn.Device.ID
	lost := make(chan error, 1)
	c, err := dial3(t, e.app.MQTT.Addr(), dev, dev, e.token, func(err error) { lost <- err })
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Subscribe("devices/other/errors", 1, nil)
	tok.WaitTimeout(5 * time.Second)
	if st, ok := tok.(interface{ Result() map[string]byte }); ok && st.Result()["devices/other/errors"] != 0x80 {
		t.Fatalf("3.1.1 SUBACK for another device's topic: %#x, want 0x80", st.Result()["devices/other/errors"])
	}
	c.Publish("devices/other/events", 0, false, `{}`)
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatalf("a 3.1.1 client publishing on another device's topic stayed connected\n%s", e.logs.String())
	}
}

// temperature is an event message of the events topic.
func temperature(c float64) []byte {
	b, _ := json.Marshal(map[string]any{"event_type": "temperature", "payload": map[string]any{"celsius": c}})
	return b
}

func TestEventsIngest(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		dev := e.tn.Device.ID
		c := mustDial5(t, e.app.MQTT.Addr(), dev, e.token)
		c.subscribe(t, "devices/"+dev+"/errors")
		topic := "devices/" + dev + "/events"

		// One event: acknowledged once stored.
		if rc := c.publish(t, topic, temperature(21.5)); rc != rcSuccess {
			t.Fatalf("PUBACK %#x", rc)
		}
		evs := e.eventsOf(dev)
		if len(evs) != 1 || evs[0].Type != resource.EventTemperature || evs[0].Payload["celsius"] != 21.5 {
			t.Fatalf("events after one publish: %+v", evs)
		}
		// A batch.
		batch := `[{"event_type":"battery","payload":{"percent":80}},{"event_type":"shock","occurred_at":"` +
			time.Now().UTC().Add(-time.Hour).Format(time.RFC3339) + `","payload":{"g":3}}]`
		if rc := c.publish(t, topic, []byte(batch)); rc != rcSuccess {
			t.Fatalf("batch PUBACK %#x", rc)
		}
		if n := len(e.eventsOf(dev)); n != 3 {
			t.Fatalf("%d events after the batch, want 3", n)
		}
		// Idempotency: the same key twice stores once.
		key := paho.UserProperty{Key: mqtt.IdempotencyProperty, Value: "k-" + resource.NewID()}
		for range 2 {
			if rc := c.publish(t, topic, temperature(22), key); rc != rcSuccess {
				t.Fatalf("PUBACK %#x", rc)
			}
		}
		if n := len(e.eventsOf(dev)); n != 4 {
			t.Fatalf("%d events after two publishes with one idempotency key, want 4", n)
		}
		// The same key with another body is refused.
		if rc := c.publish(t, topic, temperature(23), key); rc < 0x80 {
			t.Fatalf("a reused idempotency key with another body: PUBACK %#x", rc)
		}
		c.next(t, "devices/"+dev+"/errors", 3*time.Second)

		// Invalid payloads: refused with 0x99 and an error message with a
		// pointer; nothing stored.
		for _, bad := range []struct{ payload, pointer string }{
			{`{"event_type":"temperature","payload":{"celsius":999}}`, "/payload/celsius"},
			{`{"event_type":"teleport","payload":{}}`, "/event_type"},
			{`{"event_type":"temperature"}`, "/payload"},
			{`{"event_type":"temperature","payload":{"celsius":1},"extra":1}`, "/extra"},
			{`[{"event_type":"battery","payload":{"percent":80}},{"event_type":"battery","payload":{"percent":101}}]`, "/1/payload/percent"},
			{`not json`, ""},
		} {
			if rc := c.publish(t, topic, []byte(bad.payload)); rc != rcPayloadInvalid {
				t.Errorf("%s: PUBACK %#x, want %#x", bad.payload, rc, rcPayloadInvalid)
				continue
			}
			msg := c.next(t, "devices/"+dev+"/errors", 3*time.Second)
			var got struct {
				Topic  string `json:"topic"`
				Errors []struct{ Code, Detail, Pointer string }
			}
			if err := json.Unmarshal(msg.Payload, &got); err != nil || len(got.Errors) != 1 {
				t.Fatalf("error message %s: %v", msg.Payload, err)
			}
			if got.Topic != topic || got.Errors[0].Code != resource.EInvalid || got.Errors[0].Pointer != bad.pointer || got.Errors[0].Detail == "" {
				t.Errorf("%s: error message %s, want pointer %q", bad.payload, msg.Payload, bad.pointer)
			}
		}
		if n := len(e.eventsOf(dev)); n != 4 {
			t.Fatalf("%d events after the refused ones, want 4", n)
		}
	})
}

func TestEventsNeedEventsWrite(t *testing.T) {
	e := newEnv(t, backends()[0])
	dev := e.tn.Device.ID
	readOnly := e.deviceToken(dev, []string{scopes.DeviceRead})
	c := mustDial5(t, e.app.MQTT.Addr(), dev, readOnly)
	if rc := c.publish(t, "devices/"+dev+"/events", temperature(20)); rc != rcNotAuthorized {
		t.Fatalf("PUBACK %#x for a token without events:write, want %#x", rc, rcNotAuthorized)
	}
	if n := len(e.eventsOf(dev)); n != 0 {
		t.Fatalf("%d events stored", n)
	}
}

func TestEvents311WithIdempotencyField(t *testing.T) {
	e := newEnv(t, backends()[0])
	dev := e.tn.Device.ID
	c, err := dial3(t, e.app.MQTT.Addr(), dev, dev, e.token, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := `{"event_type":"temperature","payload":{"celsius":19},"idempotency_key":"boot-1"}`
	for range 2 {
		tok := c.Publish("devices/"+dev+"/events", 1, false, msg)
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("3.1.1 publish: %v", tok.Error())
		}
	}
	if n := len(e.eventsOf(dev)); n != 1 {
		t.Fatalf("%d events after a 3.1.1 publish sent twice with one idempotency key, want 1", n)
	}
}

func TestWebSocket(t *testing.T) {
	e := newEnv(t, backends()[0])
	dev := e.tn.Device.ID
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws://"+e.app.MQTT.WSAddr()+"/mqtt", &websocket.DialOptions{Subprotocols: []string{"mqtt"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	c, ca, err := connect5(t, websocket.NetConn(context.Background(), ws, websocket.MessageBinary), dev, dev, e.token)
	if err != nil {
		t.Fatalf("connect over WebSocket: %v %+v", err, ca)
	}
	if rc := c.publish(t, "devices/"+dev+"/events", temperature(18)); rc != rcSuccess {
		t.Fatalf("PUBACK %#x", rc)
	}
	if n := len(e.eventsOf(dev)); n != 1 {
		t.Fatalf("%d events over WebSocket", n)
	}
}
