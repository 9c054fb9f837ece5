package e2e

import (
	"bytes"
	"encoding/json"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
)

// TestMQTTWithMosquittoClients walks the README: a device connected with
// mosquitto_pub/mosquitto_sub and its device token announces its
// resources, sends an event that JSON:API lists, and answers a resource
// call made over JSON:API (the 3.1.1 way: the call id in the message).
func TestMQTTWithMosquittoClients(t *testing.T) {
	testsupport.RequireTool(t, "mosquitto_pub", "scripts/install-mosquitto-clients.sh")
	testsupport.RequireTool(t, "mosquitto_sub", "scripts/install-mosquitto-clients.sh")
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			mqttAddr := freeAddr(t)
			host, port, _ := net.SplitHostPort(mqttAddr)
			env := mkenv(t).With("ASSETGATE_MQTT_ADDR", mqttAddr)
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			a := newAPITenant(t, env, c, "Mosquitto")
			dev := "devices/" + a.deviceID
			conn := []string{"-h", host, "-p", port, "-i", a.deviceID, "-u", a.deviceID, "-P", a.device}
			mosquitto := func(tool string, args ...string) string {
				t.Helper()
				out, err := exec.CommandContext(t.Context(), tool, append(conn, args...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
				}
				return string(out)
			}

			// The device announces its resources (retained) and sends an
			// event with QoS 1.
			mosquitto("mosquitto_pub", "-V", "mqttv5", "-q", "1", "-r", "-t", dev+"/resources",
				"-m", `[{"name":"relay","kind":"io","in":{"type":"object","properties":{"on":{"type":"boolean"}},"required":["on"]}}]`)
			mosquitto("mosquitto_pub", "-V", "mqttv5", "-q", "1", "-t", dev+"/events",
				"-m", `{"event_type":"temperature","payload":{"celsius":21.5}}`)
			evs := c.call(t, "GET", "/api/v1/devices/"+a.deviceID+"/events", a.app, nil).want(t, 200)
			data := evs["data"].([]any)
			if len(data) != 1 || data[0].(map[string]any)["attributes"].(map[string]any)["payload"].(map[string]any)["celsius"] != 21.5 {
				t.Fatalf("events after mosquitto_pub: %v", evs)
			}
			// A refused payload: mosquitto_pub reports the reason code.
			cmd := exec.CommandContext(t.Context(), "mosquitto_pub", append(conn, "-V", "mqttv5", "-q", "1", "-t", dev+"/events",
				"-m", `{"event_type":"temperature","payload":{"celsius":999}}`)...)
			if out, err := cmd.CombinedOutput(); err == nil && !strings.Contains(string(out), "payload format invalid") {
				t.Fatalf("an invalid event was accepted: %s", out)
			}

			// The device waits for one call (3.1.1).
			sub := exec.CommandContext(t.Context(), "mosquitto_sub", append(conn, "-q", "1", "-C", "1", "-W", "30",
				"-t", dev+"/resources/+/call")...)
			var subOut bytes.Buffer
			sub.Stdout, sub.Stderr = &subOut, &subOut
			if err := sub.Start(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				rs := c.call(t, "GET", "/api/v1/devices/"+a.deviceID+"/resources", a.app, nil).want(t, 200)
				attrs := rs["data"].(map[string]any)["attributes"].(map[string]any)
				if attrs["connected"] == true && len(attrs["resources"].([]any)) == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the device never showed connected with its resource: %v", rs)
				}
			}
			// A schema mismatch never reaches the device.
			bad := c.call(t, "POST", "/api/v1/devices/"+a.deviceID+"/resources/relay", a.app,
				apiDoc("resource-calls", "", map[string]any{"in": map[string]any{"on": "yes"}}, nil)).want(t, 400)
			if p := bad["errors"].([]any)[0].(map[string]any)["source"].(map[string]any)["pointer"]; p != "/data/attributes/in/on" {
				t.Fatalf("schema mismatch pointer %v", p)
			}

			answered := make(chan apiResult, 1)
			go func() {
				answered <- c.call(t, "POST", "/api/v1/devices/"+a.deviceID+"/resources/relay", a.app,
					apiDoc("resource-calls", "", map[string]any{"in": map[string]any{"on": true}, "timeout": 20}, nil))
			}()
			if err := sub.Wait(); err != nil {
				t.Fatalf("mosquitto_sub: %v\n%s", err, subOut.String())
			}
			var call struct {
				ID string `json:"id"`
				In struct {
					On bool `json:"on"`
				} `json:"in"`
			}
			if err := json.Unmarshal(bytes.TrimSpace(subOut.Bytes()), &call); err != nil || call.ID == "" || !call.In.On {
				t.Fatalf("the call the device received: %q (%v)", subOut.String(), err)
			}
			mosquitto("mosquitto_pub", "-q", "1", "-t", dev+"/resources/relay/reply",
				"-m", `{"id":"`+call.ID+`","out":{"on":true,"since":`+strconv.Itoa(int(time.Now().Unix()))+`}}`)
			res := <-answered
			out := res.want(t, 200)["data"].(map[string]any)["attributes"].(map[string]any)["out"].(map[string]any)
			if out["on"] != true {
				t.Fatalf("the call's out: %v", out)
			}
			audit := c.call(t, "GET", "/api/v1/devices/"+a.deviceID+"/resource-calls", a.me, nil).want(t, 200)["data"].([]any)
			if len(audit) != 2 || audit[0].(map[string]any)["attributes"].(map[string]any)["outcome"] != "ok" {
				t.Fatalf("audit rows: %v", audit)
			}
		})
	}
}
