package mqtt_test

import (
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// MQTT 5 CONNACK reason codes.
const (
	rcSuccess           = 0x00
	rcClientIDNotValid  = 0x85
	rcBadUserOrPassword = 0x86
	rcNotAuthorized     = 0x87
	rcSessionTakenOver  = 0x8E
	rcPayloadInvalid    = 0x99
	rcServerShutdown    = 0x8B
)

func TestConnectAuthentication(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		addr := e.app.MQTT.Addr()
		dev := e.tn.Device.ID
		other := storagetest.NewDevice(e.tn.Customer.ID, time.Now())
		storagetest.MustCreateDevice(t, e.app.Stores.Devices, other)
		otherToken := e.deviceToken(other.ID, nil)
		revoked := e.deviceToken(dev, nil)
		toks, err := e.app.DeviceTokens.List(e.me, dev)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.app.DeviceTokens.Revoke(e.me, dev, toks[len(toks)-1].ID); err != nil {
			t.Fatal(err)
		}
		// A token of the right shape for this device's family that was
		// never issued.
		_, fam, _ := resource.ParseToken(e.token)
		forged := resource.NewToken(resource.DeviceTokenPrefix, fam)

		for _, c := range []struct {
			name, clientID, user, password string
			want                           byte
		}{
			{"its own token", dev, dev, e.token, rcSuccess},
			{"no password", dev, dev, "", rcBadUserOrPassword},
			{"not a token", dev, dev, "hunter2", rcBadUserOrPassword},
			{"forged token", dev, dev, forged, rcBadUserOrPassword},
			{"revoked token", dev, dev, revoked, rcBadUserOrPassword},
			{"another device's token", dev, dev, otherToken, rcBadUserOrPassword},
			{"client id is not the device", "sensor-1", dev, e.token, rcClientIDNotValid},
			{"user is not the device", other.ID, other.ID, e.token, rcBadUserOrPassword},
			{"no user name", dev, "", e.token, rcClientIDNotValid},
		} {
			t.Run(c.name, func(t *testing.T) {
				cl, ca, err := dial5(t, addr, c.clientID, c.user, c.password)
				if ca == nil {
					t.Fatalf("no CONNACK: %v", err)
				}
				if ca.ReasonCode != c.want {
					t.Fatalf("CONNACK reason %#x, want %#x", ca.ReasonCode, c.want)
				}
				if (err == nil) != (c.want == rcSuccess) {
					t.Fatalf("connect error %v for reason %#x", err, ca.ReasonCode)
				}
				_ = cl
			})
		}
		if strings.Contains(e.logs.String(), e.token) || strings.Contains(e.logs.String(), otherToken) {
			t.Fatal("a token was logged")
		}
		if !strings.Contains(e.logs.String(), `"refused":"connect"`) {
			t.Fatal("refused connections were not logged")
		}
	})
}

// dial3 connects an MQTT 3.1.1 client (paho.mqtt.golang).
func dial3(t *testing.T, addr, clientID, user, password string, onLost func(error)) (pahov3.Client, error) {
	t.Helper()
	o := pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(clientID).SetUsername(user).
		SetPassword(password).SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4).
		SetConnectTimeout(5 * time.Second).SetCleanSession(true)
	if onLost != nil {
		o.SetConnectionLostHandler(func(_ pahov3.Client, err error) { onLost(err) })
	}
	c := pahov3.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("3.1.1 connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

func TestConnectAuthentication311(t *testing.T) {
	e := newEnv(t, backends()[0])
	addr, dev := e.app.MQTT.Addr(), e.tn.Device.ID
	if _, err := dial3(t, addr, dev, dev, e.token, nil); err != nil {
		t.Fatalf("3.1.1 connect with the device token: %v", err)
	}
	_, err := dial3(t, addr, dev, dev, "agdt_nope", nil)
	if err == nil || !strings.Contains(err.Error(), "not Authorized") && !strings.Contains(err.Error(), "bad user name or password") {
		t.Fatalf("3.1.1 connect with a bad password: %v, want a refusal", err)
	}
	_, err = dial3(t, addr, "other", dev, e.token, nil)
	if err == nil || !strings.Contains(err.Error(), "identifier rejected") {
		t.Fatalf("3.1.1 connect with another client id: %v, want identifier rejected", err)
	}
}

func TestTakeover(t *testing.T) {
	e := newEnv(t, backends()[0])
	addr, dev := e.app.MQTT.Addr(), e.tn.Device.ID
	first := mustDial5(t, addr, dev, e.token)
	second := mustDial5(t, addr, dev, e.token)
	if d := first.waitDisconnect(t, 3*time.Second); d.ReasonCode != rcSessionTakenOver {
		t.Fatalf("first session's DISCONNECT reason %#x, want %#x (session taken over)", d.ReasonCode, rcSessionTakenOver)
	}
	if got := second.subscribe(t, "devices/"+dev+"/errors"); got[0] != 1 {
		t.Fatalf("the second session does not work: SUBACK %v", got)
	}
	waitLog(t, e, `"reason":"takeover"`)
}

func TestRevokedTokenDisconnects(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		dev := e.tn.Device.ID
		// On Redis, the session lives on replica B while the token is
		// revoked through replica A.
		app := e.app
		if e.rc != nil {
			app = e.replica()
		}
		c := mustDial5(t, app.MQTT.Addr(), dev, e.token)
		toks, err := e.app.DeviceTokens.List(e.me, dev)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := e.app.DeviceTokens.Revoke(e.me, dev, toks[0].ID); err != nil {
			t.Fatal(err)
		}
		d := c.waitDisconnect(t, 3*time.Second)
		if took := time.Since(start); took > 1500*time.Millisecond {
			t.Errorf("disconnected %v after the revocation, want within a second", took)
		}
		if d.ReasonCode != rcNotAuthorized {
			t.Fatalf("DISCONNECT reason %#x, want %#x", d.ReasonCode, rcNotAuthorized)
		}
		waitLog(t, e, `"reason":"revoked"`)
		if _, ca, err := dial5(t, app.MQTT.Addr(), dev, dev, e.token); err == nil || ca.ReasonCode != rcBadUserOrPassword {
			t.Fatalf("reconnect with the revoked token: %v", err)
		}
	})
}

// waitLog waits up to 3 s for the log to hold s.
func waitLog(t *testing.T, e *env, s string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(e.logs.String(), s) {
			return
		}
	}
	t.Fatalf("the log never held %s", s)
}
