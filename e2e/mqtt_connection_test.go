package e2e

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// mqttDevice is a device connected with paho.golang (MQTT 5).
type mqttDevice struct {
	*paho.Client
	conn net.Conn
}

// dialDevice connects an MQTT 5 client as a device; err for a refused
// CONNECT.
func dialDevice(t *testing.T, addr, deviceID, token string) (*mqttDevice, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: deviceID, OnClientError: func(error) {}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: deviceID, Username: deviceID, UsernameFlag: true,
		Password: []byte(token), PasswordFlag: true, KeepAlive: 30, CleanStart: true}); err != nil {
		_ = conn.Close()
		return nil, err
	}
	d := &mqttDevice{Client: c, conn: conn}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return d, nil
}

// publish sends a QoS 1 message and returns the PUBACK's reason code.
func (d *mqttDevice) publish(t *testing.T, topic, payload string) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pr, err := d.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload)})
	if pr == nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
	return pr.ReasonCode
}

// connectionView is what one server shows of a device's connection: its
// JSON:API device attributes, its stats, its GraphQL fields, and where the
// connected filter puts it (with the lists' totals), in both APIs.
type connectionView struct {
	attrs, stats, node map[string]any
	// connected and disconnected are the ids filter[connected]=true|false
	// lists (JSON:API), gqlConnected and gqlDisconnected those of
	// devices(filter: {connected: ...}); the totals are meta.total and
	// totalCount.
	connected, disconnected       []string
	gqlConnected, gqlDisconnected []string
}

func viewConnection(t *testing.T, c *apiClient, base string, tn *apiTenant) connectionView {
	t.Helper()
	var v connectionView
	v.attrs = c.call(t, "GET", "/api/v1/devices/"+tn.deviceID, tn.app, nil).want(t, 200)["data"].(map[string]any)["attributes"].(map[string]any)
	v.stats = c.call(t, "GET", "/api/v1/devices/"+tn.deviceID+"/stats", tn.app, nil).want(t, 200)["data"].(map[string]any)["attributes"].(map[string]any)
	list := func(connected string) []string {
		doc := c.call(t, "GET", "/api/v1/devices?filter[connected]="+connected+"&page[size]=1", tn.app, nil).want(t, 200)
		ids := listIDs(doc)
		total := int(doc["meta"].(map[string]any)["total"].(float64))
		// Page by page, one device each: the total and the pages agree.
		for n := 2; len(ids) < total; n++ {
			doc := c.call(t, "GET", "/api/v1/devices?filter[connected]="+connected+"&page[size]=1&page[number]="+
				strconv.Itoa(n), tn.app, nil).want(t, 200)
			if len(listIDs(doc)) == 0 {
				t.Fatalf("filter[connected]=%s: total %d, but page %d is empty", connected, total, n)
			}
			ids = append(ids, listIDs(doc)...)
		}
		slices.Sort(ids)
		return ids
	}
	v.connected, v.disconnected = list("true"), list("false")
	q := `query($c: Boolean) { devices(filter: {connected: $c}, first: 100) { totalCount edges { node { id } } }
		device(id: "` + tn.deviceID + `") { connected connectedAt disconnectedAt remoteAddress rxBytes txBytes lastSeenAt lastEventAt
			stats { connected connectedAt disconnectedAt remoteAddress } } }`
	glist := func(connected bool) []string {
		d := gql(t, base, tn.app, q, map[string]any{"c": connected}).ok(t)
		var ids []string
		for _, n := range gqlNodes(at(d, "devices")) {
			ids = append(ids, n["id"].(string))
		}
		if total := at(d, "devices.totalCount"); total != float64(len(ids)) {
			t.Fatalf("devices(filter: {connected: %v}): totalCount %v, %d nodes", connected, total, len(ids))
		}
		v.node = at(d, "device").(map[string]any)
		slices.Sort(ids)
		return ids
	}
	v.gqlConnected, v.gqlDisconnected = glist(true), glist(false)
	return v
}

// waitConnection polls until ok holds for the view, failing after d.
func waitConnection(t *testing.T, d time.Duration, view func() connectionView, ok func(v connectionView) bool) connectionView {
	t.Helper()
	var v connectionView
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if v = view(); ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: attributes %v\nstats %v\ngraphql %v\nconnected %v / %v, disconnected %v / %v", d, v.attrs, v.stats, v.node,
				v.connected, v.gqlConnected, v.disconnected, v.gqlDisconnected)
		}
	}
}

// checkAgree fails unless the JSON:API attributes, the stats and the
// GraphQL fields show the same connection, and the filters of both APIs
// put the device (and the other, never connected, device) where connected
// says.
func checkAgree(t *testing.T, v connectionView, deviceID, otherID string) {
	t.Helper()
	for _, k := range []string{"connected", "connected_at", "disconnected_at", "remote_address"} {
		if v.attrs[k] != v.stats[k] {
			t.Fatalf("%s: attribute %v, stats %v", k, v.attrs[k], v.stats[k])
		}
	}
	gq := map[string]string{"connected": "connected", "connected_at": "connectedAt", "disconnected_at": "disconnectedAt",
		"remote_address": "remoteAddress", "rx_bytes": "rxBytes", "tx_bytes": "txBytes", "last_seen_at": "lastSeenAt"}
	for k, g := range gq {
		if !sameInstant(v.attrs[k], v.node[g]) {
			t.Fatalf("%s: JSON:API %v, GraphQL %s %v", k, v.attrs[k], g, v.node[g])
		}
	}
	if v.node["connected"] != v.node["stats"].(map[string]any)["connected"] {
		t.Fatalf("GraphQL connected %v, stats.connected %v", v.node["connected"], v.node["stats"])
	}
	on, off := []string{}, []string{deviceID, otherID}
	if v.attrs["connected"] == true {
		on, off = []string{deviceID}, []string{otherID}
	}
	slices.Sort(off)
	if !slices.Equal(v.connected, on) || !slices.Equal(v.disconnected, off) {
		t.Fatalf("filter[connected] (device connected: %v): true %v, false %v; want %v, %v", v.attrs["connected"],
			v.connected, v.disconnected, on, off)
	}
	if !slices.Equal(v.connected, v.gqlConnected) || !slices.Equal(v.disconnected, v.gqlDisconnected) {
		t.Fatalf("filters differ: JSON:API %v/%v, GraphQL %v/%v", v.connected, v.disconnected, v.gqlConnected, v.gqlDisconnected)
	}
}

// sameInstant compares two JSON values, times as instants (GraphQL and
// JSON:API may write fractions apart).
func sameInstant(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		at, err1 := time.Parse(time.RFC3339Nano, as)
		bt, err2 := time.Parse(time.RFC3339Nano, bs)
		if err1 == nil && err2 == nil {
			return at.Equal(bt)
		}
	}
	return a == b
}

// TestDeviceConnectionState: a device connected over MQTT shows connected
// (since when, from where, its bytes, last seen) in its JSON:API
// attributes, its stats and GraphQL, and filter[connected] /
// DeviceFilter.connected list it with correct totals; after DISCONNECT it
// shows disconnected everywhere. With PostgreSQL and Redis the device is
// connected to another replica than the one asked. The MQTT metrics move.
func TestDeviceConnectionState(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			maddr, mqttAddr := freeAddr(t), freeAddr(t)
			env := mkenv(t).With("ASSETGATE_MQTT_ADDR", mqttAddr, "ASSETGATE_METRICS_ADDR", maddr)
			ts := startServer(t, env)
			deviceMetrics, deviceMQTT := maddr, mqttAddr
			if env.Get("ASSETGATE_REDIS_URL") != "" {
				deviceMetrics, deviceMQTT = freeAddr(t), freeAddr(t)
				startServer(t, env.With("ASSETGATE_ADDR", freeAddr(t), "ASSETGATE_MQTT_ADDR", deviceMQTT,
					"ASSETGATE_METRICS_ADDR", deviceMetrics))
			}
			c := newAPIClientOf(t, ts.URL)
			tn := newAPITenant(t, env, c, "Online")
			otherID := c.call(t, "POST", "/api/v1/devices", tn.me, apiDoc("devices", "", map[string]any{"name": "never connected", "imei": testIMEI()},
				nil)).id(t)
			view := func() connectionView { return viewConnection(t, c, ts.URL, tn) }

			v := view()
			if v.attrs["connected"] != false || v.attrs["connected_at"] != nil || v.attrs["remote_address"] != nil || v.attrs["rx_bytes"] != 0.0 {
				t.Fatalf("a device that never connected: %v", v.attrs)
			}
			checkAgree(t, v, tn.deviceID, otherID)

			gauge := "assetgate_mqtt_connections"
			waitValue(t, deviceMetrics, 0, gauge)
			moved(t, deviceMetrics, 1, "assetgate_mqtt_refused_total", []string{"reason", "connect"}, func() {
				if _, err := dialDevice(t, deviceMQTT, tn.deviceID, "agd_not-a-token"); err == nil {
					t.Fatal("a wrong token connected")
				}
			})
			var d *mqttDevice
			var err error
			if d, err = dialDevice(t, deviceMQTT, tn.deviceID, tn.device); err != nil {
				t.Fatalf("connect: %v", err)
			}
			waitValue(t, deviceMetrics, 1, gauge)
			dev := "devices/" + tn.deviceID
			moved(t, deviceMetrics, 1, "assetgate_mqtt_messages_received_total", []string{"outcome", "accepted"}, func() {
				if rc := d.publish(t, dev+"/events", `{"event_type":"temperature","payload":{"celsius":21.5}}`); rc != 0 {
					t.Fatalf("PUBACK %#x for a valid event", rc)
				}
			})
			moved(t, deviceMetrics, 1, "assetgate_mqtt_messages_received_total", []string{"outcome", "rejected"}, func() {
				if rc := d.publish(t, dev+"/events", `{"event_type":"temperature","payload":{"celsius":999}}`); rc < 0x80 {
					t.Fatalf("PUBACK %#x for an invalid event", rc)
				}
			})
			s := moved(t, deviceMetrics, 1, "assetgate_mqtt_messages_received_total", []string{"outcome", "refused"}, func() {
				if rc := d.publish(t, "devices/"+otherID+"/events", `{"event_type":"temperature","payload":{"celsius":20}}`); rc != 0x87 {
					t.Fatalf("PUBACK %#x for another device's topic, want 0x87", rc)
				}
			})
			if s.value("assetgate_mqtt_refused_total", "reason", "publish") < 1 || s.value("assetgate_mqtt_refused_total", "reason", "payload") < 1 {
				t.Fatalf("refusals by reason: publish %v, payload %v", s.value("assetgate_mqtt_refused_total", "reason", "publish"),
					s.value("assetgate_mqtt_refused_total", "reason", "payload"))
			}

			v = waitConnection(t, 10*time.Second, view, func(v connectionView) bool {
				return v.attrs["connected"] == true && v.attrs["rx_bytes"].(float64) > 0 && v.attrs["tx_bytes"].(float64) > 0 &&
					v.stats["rx_bytes"] == v.attrs["rx_bytes"] && v.node["rxBytes"] == v.attrs["rx_bytes"]
			})
			checkAgree(t, v, tn.deviceID, otherID)
			if v.attrs["remote_address"] != d.conn.LocalAddr().String() || v.attrs["connected_at"] == nil || v.attrs["disconnected_at"] != nil {
				t.Fatalf("a connected device: %v (client at %s)", v.attrs, d.conn.LocalAddr())
			}
			seen, _ := time.Parse(time.RFC3339Nano, v.attrs["last_seen_at"].(string))
			last, _ := time.Parse(time.RFC3339Nano, v.attrs["last_event_at"].(string))
			if seen.Before(last) {
				t.Fatalf("last_seen_at %v before last_event_at %v", seen, last)
			}

			_ = d.Disconnect(&paho.Disconnect{})
			waitValue(t, deviceMetrics, 0, gauge)
			v = waitConnection(t, 10*time.Second, view, func(v connectionView) bool { return v.attrs["connected"] == false })
			checkAgree(t, v, tn.deviceID, otherID)
			if v.attrs["disconnected_at"] == nil || v.attrs["connected_at"] == nil || v.attrs["rx_bytes"].(float64) == 0 {
				t.Fatalf("after the session: %v", v.attrs)
			}
		})
	}
}

// TestDeviceConnectionAfterCrash: the replica holding a device's session
// is SIGKILLed, so nothing ends the session in the stores. Once its lease
// runs out the device reads disconnected, in the attributes and the filter,
// on the server started in its place (the same database and Redis).
func TestDeviceConnectionAfterCrash(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			mqttAddr := freeAddr(t)
			env := mkenv(t).With("ASSETGATE_MQTT_ADDR", mqttAddr, "ASSETGATE_MQTT_LEASE", "2s")
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			tn := newAPITenant(t, env, c, "Crash")
			otherID := c.call(t, "POST", "/api/v1/devices", tn.me, apiDoc("devices", "", map[string]any{"name": "never connected", "imei": testIMEI()},
				nil)).id(t)
			if _, err := dialDevice(t, mqttAddr, tn.deviceID, tn.device); err != nil {
				t.Fatalf("connect: %v", err)
			}
			v := waitConnection(t, 10*time.Second, func() connectionView { return viewConnection(t, c, ts.URL, tn) },
				func(v connectionView) bool { return v.attrs["connected"] == true })
			checkAgree(t, v, tn.deviceID, otherID)
			connectedAt := v.attrs["connected_at"]

			ts.kill(t)
			start := time.Now()
			// The server in its place listens for MQTT elsewhere (the old
			// port may linger); its first lease renewal marks the dead
			// replica's devices disconnected once that lease ran out.
			next := startServer(t, env.With("ASSETGATE_MQTT_ADDR", freeAddr(t)))
			c2 := newAPIClientOf(t, next.URL)
			v = waitConnection(t, 15*time.Second, func() connectionView { return viewConnection(t, c2, next.URL, tn) },
				func(v connectionView) bool { return v.attrs["connected"] == false })
			t.Logf("disconnected %v after the SIGKILL (lease 2s)", time.Since(start).Round(100*time.Millisecond))
			checkAgree(t, v, tn.deviceID, otherID)
			if v.attrs["connected_at"] != connectedAt || v.attrs["disconnected_at"] == nil {
				t.Fatalf("after the crash: %v (connected at %v)", v.attrs, connectedAt)
			}
			// It stays so: the lease rule, not a race, decided.
			time.Sleep(3 * time.Second)
			checkAgree(t, viewConnection(t, c2, next.URL, tn), tn.deviceID, otherID)
			if v := viewConnection(t, c2, next.URL, tn); v.attrs["connected"] != false {
				t.Fatalf("connected again: %v", v.attrs)
			}
		})
	}
}
