package mqtt_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/wire"
	"github.com/assetgate/assetgate/wire/wiretest"
)

// announcement is what the test device announces: one resource of each
// kind, and one it never answers.
const announcement = `[
	{"name":"relay","kind":"input","in":{"type":"object","properties":{"on":{"type":"boolean"}},"required":["on"],"additionalProperties":false}},
	{"name":"temperature","kind":"output"},
	{"name":"double","kind":"io","in":{"type":"number"}},
	{"name":"reboot","kind":"callback"},
	{"name":"stuck","kind":"output"}
]`

// device is an MQTT 5 device that announces its resources and answers
// calls as a Thinger.io device would: relay remembers "on", temperature
// answers 21.5, double doubles, reboot counts.
type device struct {
	c       *client5
	relayOn chan bool
	reboots chan struct{}
}

func startDevice(t *testing.T, addr, deviceID, token string) *device {
	t.Helper()
	d := &device{c: mustDial5(t, addr, deviceID, token), relayOn: make(chan bool, 10), reboots: make(chan struct{}, 10)}
	if rc := d.c.subscribe(t, "devices/"+deviceID+"/resources/+/call"); rc[0] >= 0x80 {
		t.Fatalf("subscribe to calls: %#x", rc[0])
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := d.c.Publish(ctx, &paho.Publish{Topic: "devices/" + deviceID + "/resources", QoS: 1, Retain: true,
		Payload: []byte(announcement)}); err != nil {
		t.Fatalf("announce: %v", err)
	}
	go d.serve(t.Context())
	return d
}

func (d *device) serve(ctx context.Context) {
	for {
		var p *paho.Publish
		select {
		case <-ctx.Done():
			return
		case p = <-d.c.recv:
		}
		var call struct {
			ID string          `json:"id"`
			In json.RawMessage `json:"in"`
		}
		_ = json.Unmarshal(p.Payload, &call)
		parts := strings.Split(p.Topic, "/")
		var out any
		switch parts[3] {
		case "relay":
			var in struct{ On bool }
			_ = json.Unmarshal(call.In, &in)
			d.relayOn <- in.On
		case "temperature":
			out = map[string]any{"celsius": 21.5}
		case "double":
			var n float64
			_ = json.Unmarshal(call.In, &n)
			out = n * 2
		case "reboot":
			d.reboots <- struct{}{}
		case "stuck":
			continue
		}
		body, _ := json.Marshal(map[string]any{"out": out})
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, _ = d.c.Publish(pctx, &paho.Publish{Topic: p.Properties.ResponseTopic, QoS: 1, Payload: body,
			Properties: &paho.PublishProperties{CorrelationData: p.Properties.CorrelationData}})
		cancel()
	}
}

// waitConnected waits until the service sees the device as connected with
// its announcement.
func waitAnnounced(t *testing.T, a *wire.App, me context.Context, deviceID string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		rs, err := a.DeviceResources.Resources(me, deviceID)
		if err == nil && rs.Connected && len(rs.Resources) == 5 {
			return
		}
	}
	t.Fatal("the device's announcement never showed")
}

func TestResourceCalls(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		dev := e.tn.Device.ID
		// With Redis, the device is on replica B and calls go through A.
		deviceSide := e.app
		if e.rc != nil {
			deviceSide = e.replica()
		}
		d := startDevice(t, deviceSide.MQTT.Addr(), dev, e.token)
		waitAnnounced(t, e.app, e.me, dev)
		call := func(name, in string, timeout time.Duration) (json.RawMessage, error) {
			var raw json.RawMessage
			if in != "" {
				raw = json.RawMessage(in)
			}
			return e.app.DeviceResources.Call(e.me, dev, name, raw, timeout)
		}

		if out, err := call("temperature", "", 0); err != nil || string(out) != `{"celsius":21.5}` {
			t.Fatalf("output: %s, %v", out, err)
		}
		if out, err := call("double", "21", 0); err != nil || string(out) != `42` {
			t.Fatalf("io: %s, %v", out, err)
		}
		if out, err := call("relay", `{"on":true}`, 0); err != nil || out != nil {
			t.Fatalf("input: %s, %v", out, err)
		}
		if on := <-d.relayOn; !on {
			t.Fatal("the relay was not turned on")
		}
		if _, err := call("reboot", "", 0); err != nil {
			t.Fatalf("callback: %v", err)
		}
		<-d.reboots

		_, err := call("relay", `{"on":"yes"}`, 0)
		if resource.ErrorCode(err) != resource.EInvalid || resource.ErrorField(err) != "in.on" {
			t.Fatalf("schema mismatch: %v (field %q)", err, resource.ErrorField(err))
		}
		if _, err := call("relay", "", 0); resource.ErrorCode(err) != resource.EInvalid {
			t.Fatalf("input without in: %v", err)
		}
		if _, err := call("temperature", "1", 0); resource.ErrorCode(err) != resource.EInvalid {
			t.Fatalf("output with in: %v", err)
		}
		if _, err := call("fan", "", 0); resource.ErrorCode(err) != resource.ENotFound {
			t.Fatalf("unknown resource: %v", err)
		}
		if _, err := call("temperature", "", 61*time.Second); resource.ErrorCode(err) != resource.EInvalid {
			t.Fatalf("a timeout over 60 s: %v", err)
		}
		start := time.Now()
		if _, err := call("stuck", "", time.Second); resource.ErrorCode(err) != resource.EGatewayTimeout {
			t.Fatalf("no reply: %v", err)
		}
		if took := time.Since(start); took < time.Second || took > 3*time.Second {
			t.Fatalf("the call without a reply took %v, want about its 1 s timeout", took)
		}

		calls, err := e.app.DeviceResources.ListCalls(e.me, dev)
		if err != nil {
			t.Fatal(err)
		}
		outcomes := map[string]int{}
		for _, c := range calls {
			outcomes[c.Outcome]++
			if c.Caller != "user:"+e.tn.User.ID || c.DeviceID != dev {
				t.Fatalf("audit row %+v", c)
			}
		}
		if outcomes["ok"] != 4 || outcomes[resource.EGatewayTimeout] != 1 || outcomes[resource.EInvalid] < 3 || outcomes[resource.ENotFound] != 1 {
			t.Fatalf("audit outcomes %v", outcomes)
		}

		// Offline: the device leaves.
		_ = d.c.Disconnect(&paho.Disconnect{})
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			_, err := call("temperature", "", time.Second)
			if resource.ErrorCode(err) == resource.EDeviceOffline {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a call to a disconnected device: %v", err)
			}
		}
	})
}

func TestResourceCallPermissions(t *testing.T) {
	e := newEnv(t, backends()[0])
	dev := e.tn.Device.ID
	startDevice(t, e.app.MQTT.Addr(), dev, e.token)
	waitAnnounced(t, e.app, e.me, dev)

	// A token handed to a door opener app: the relay, nothing else.
	_, relayOnly, err := e.app.DeviceTokens.Create(e.me, dev, resource.DeviceTokenInput{Name: "opener",
		Permissions: []string{"resources:call:relay"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.app.Resolver(t.Context(), relayOnly)
	if err != nil {
		t.Fatal(err)
	}
	ctx := scopes.NewContext(t.Context(), p)
	if _, err := e.app.DeviceResources.Call(ctx, dev, "relay", json.RawMessage(`{"on":false}`), 0); err != nil {
		t.Fatalf("the relay token calling the relay: %v", err)
	}
	if _, err := e.app.DeviceResources.Call(ctx, dev, "reboot", nil, 0); resource.ErrorCode(err) != resource.EForbidden {
		t.Fatalf("the relay token calling reboot: %v", err)
	}
	if _, _, err := e.app.Events.Ingest(ctx, dev, resource.EventInput{Type: resource.EventBattery,
		Payload: map[string]any{"percent": 50}}, ""); resource.ErrorCode(err) != resource.EForbidden {
		t.Fatalf("the relay token posting an event: %v", err)
	}
	// basic (read-only application) may not call.
	basic := scopes.NewContext(t.Context(), &scopes.Principal{Kind: scopes.KindApplication, CustomerID: e.tn.Customer.ID,
		ClientID: "c", Scopes: []string{scopes.Basic}})
	if _, err := e.app.DeviceResources.Call(basic, dev, "reboot", nil, 0); resource.ErrorCode(err) != resource.EForbidden {
		t.Fatalf("a basic token calling: %v", err)
	}
	// Another customer: the device does not exist for it, and it is never
	// reached.
	other := wiretest.MustTenant(t, e.app, "Other", "other", "correct horse battery")
	them := scopes.NewContext(t.Context(), &scopes.Principal{Kind: scopes.KindUser, CustomerID: other.Customer.ID,
		UserID: other.User.ID, Scopes: []string{scopes.Me}})
	if _, err := e.app.DeviceResources.Call(them, dev, "reboot", nil, 0); resource.ErrorCode(err) != resource.ENotFound {
		t.Fatalf("another customer calling: %v", err)
	}
	if _, err := e.app.DeviceResources.Resources(them, dev); resource.ErrorCode(err) != resource.ENotFound {
		t.Fatalf("another customer reading resources: %v", err)
	}
}
