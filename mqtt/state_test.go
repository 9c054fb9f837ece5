package mqtt_test

import (
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/assetgate/assetgate/resource"
)

func TestConnectionState(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		dev := e.tn.Device.ID
		// With Redis, the device is on replica B and A reads the state.
		deviceSide := e.app
		if e.rc != nil {
			deviceSide = e.replica()
		}
		stats := func() *resource.DeviceStats {
			t.Helper()
			st, err := e.app.Events.Stats(e.me, dev)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		if st := stats(); st.Connected || st.ConnectedAt != nil {
			t.Fatalf("a device that never connected: %+v", st)
		}
		c := mustDial5(t, deviceSide.MQTT.Addr(), dev, e.token)
		if rc := c.publish(t, "devices/"+dev+"/events", temperature(20)); rc != rcSuccess {
			t.Fatalf("PUBACK %#x", rc)
		}
		var st *resource.DeviceStats
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			st = stats()
			if st.Connected && st.RxBytes > 0 && st.TxBytes > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stats of a connected device that published: %+v", st)
			}
		}
		if st.ConnectedAt == nil || st.DisconnectedAt != nil || st.RemoteAddress == nil || *st.RemoteAddress != c.conn.LocalAddr().String() {
			t.Fatalf("stats while connected: %+v", st)
		}
		if st.LastSeenAt == nil || st.LastSeenAt.Before(*st.ConnectedAt) {
			t.Fatalf("last seen %v", st.LastSeenAt)
		}
		_ = c.Disconnect(&paho.Disconnect{})
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			st = stats()
			if !st.Connected {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("still connected after DISCONNECT")
			}
		}
		if st.DisconnectedAt == nil || st.ConnectedAt == nil || st.RxBytes == 0 {
			t.Fatalf("stats after the session: %+v", st)
		}
	})
}

func TestTakeoverAcrossReplicas(t *testing.T) {
	b := backends()[2]
	e := newEnv(t, b)
	other := e.replica()
	dev := e.tn.Device.ID
	first := mustDial5(t, other.MQTT.Addr(), dev, e.token)
	second := mustDial5(t, e.app.MQTT.Addr(), dev, e.token)
	if d := first.waitDisconnect(t, 3*time.Second); d.ReasonCode != rcSessionTakenOver {
		t.Fatalf("DISCONNECT reason %#x on the first replica, want %#x", d.ReasonCode, rcSessionTakenOver)
	}
	if rc := second.publish(t, "devices/"+dev+"/events", temperature(20)); rc != rcSuccess {
		t.Fatalf("the new session: PUBACK %#x", rc)
	}
	time.Sleep(200 * time.Millisecond)
	st, err := e.app.Events.Stats(e.me, dev)
	if err != nil || !st.Connected {
		t.Fatalf("after a takeover across replicas the device reads %+v, %v; want connected", st, err)
	}
}
