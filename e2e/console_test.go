package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/eclipse/paho.golang/paho"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// consoleDemo is what serve --demo --json prints that the console test
// needs.
type consoleDemo struct {
	Email         string `json:"email"`
	Password      string `json:"password"`
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	ConsoleClient string `json:"console_client_id"`
	ConsoleURL    string `json:"console_url"`
	DeviceID      string `json:"device_id"`
	DeviceToken   string `json:"device_token"`
}

// TestConsole drives the customer console in headless Chromium against the
// real server: sign in through the login and consent pages, see the
// devices (table and map with a geogroup), filter (search, fault,
// geogroup), see the page's one subscription to the customer's events move
// a marker and update a row on a location POSTed over HTTP and follow the
// demo device's MQTT connect and disconnect, see the console refresh its
// revoked access token, open a device, watch an event ingested with an
// HTTP POST appear live, see the chart's series (Device.series) of
// temperatures posted in earlier hours in its summary and table, create a
// device token, see that an offline device's resources cannot be called,
// call the relay the demo device (a real MQTT 5 client) announced and see
// the out it replied, create an application and see each secret once,
// create and publish a configuration and assign it to a new group, and
// sign out (the tokens are revoked, the login session ends). axe-core
// checks every page for serious and critical violations; the page may
// reach its own origin only and must break no Content-Security-Policy
// rule. On SQLite the server runs with the trusted documents lock on the
// console's documents.
func TestConsole(t *testing.T) {
	axe := consoleAxe(t)
	shots := screenshotDir(t)
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			port := freePort(t)
			origin := fmt.Sprintf("http://127.0.0.1:%d", port)
			mqttAddr := freeAddr(t)
			env := mkenv(t).With("ASSETGATE_ADDR", fmt.Sprintf("127.0.0.1:%d", port), "ASSETGATE_ISSUER", origin,
				"ASSETGATE_MQTT_ADDR", mqttAddr)
			locked := name == storage.SQLite
			if locked {
				dir, err := filepath.Abs(filepath.Join(repoRoot, "console", "trusted-documents"))
				if err != nil {
					t.Fatal(err)
				}
				env = env.With("ASSETGATE_GRAPHQL_TRUSTED_DOCUMENTS", dir)
			}
			ts := startServer(t, env, "--demo", "--json")
			var demo consoleDemo
			line, _, _ := strings.Cut(ts.stdout.String(), "\n")
			if err := json.Unmarshal([]byte(line), &demo); err != nil || demo.ConsoleClient == "" {
				t.Fatalf("demo output %q: %v", line, err)
			}
			if demo.ConsoleURL != origin+"/console/" {
				t.Fatalf("console_url %q", demo.ConsoleURL)
			}
			app := postForm(t, ts.URL+"/oauth/token", demo.ClientID+":"+demo.ClientSecret,
				map[string][]string{"grant_type": {"client_credentials"}, "scope": {"app basic"}}, http.StatusOK)["access_token"].(string)
			// The app token goes through the backend's own (untrusted)
			// documents only where the server is not locked; when locked,
			// devices are made over JSON:API.
			truck := consoleDevice(t, ts.URL, app, "Truck 7", 52.52, 13.405, false)
			consoleDevice(t, ts.URL, app, "Trailer 12", 52.53, 13.41, true)
			consoleDevice(t, ts.URL, app, "Forklift 3", 48.14, 11.58, false)
			sendJSON(t, http.MethodPost, ts.URL+"/api/v1/geogroups", app, `{"data":{"type":"geogroups","attributes":{"name":"Berlin",`+
				`"geometry":{"type":"Polygon","coordinates":[[[13.0,52.3],[13.8,52.3],[13.8,52.7],[13.0,52.7],[13.0,52.3]]]}}}}`, http.StatusCreated)

			browser := testsupport.NewBrowserFor(t, 6*time.Minute)
			watch := watchBrowser(t, browser, origin)
			step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				ctx, cancel := context.WithTimeout(browser, time.Minute)
				defer cancel()
				if err := chromedp.Do(ctx, actions...); err != nil {
					loc, _ := chromedp.Run(browser, chromedp.Location())
					body, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.body.innerText`))
					t.Fatalf("%s: %v\nat %s: %q\nrefused: %q\nCSP: %q\nconsole: %q", what, err, loc, body, watch.refused(), watch.violations(), watch.console())
				}
			}
			shot := func(file string) {
				t.Helper()
				png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("screenshot: %v", err)
				}
				path := filepath.Join(shots, name+"-"+file)
				if err := os.WriteFile(path, png, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("screenshot: %s", path)
			}
			text := func(sel string) string {
				t.Helper()
				s, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(sel)))
				if err != nil {
					t.Fatalf("read %s: %v", sel, err)
				}
				return s
			}
			setValue := func(sel, v string) chromedp.Action[chromedp.Void] {
				return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
					_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+jsString(sel)+`); e.value = `+jsString(v)+`; return e.value === `+jsString(v)+` })()`))
					return err
				})
			}
			waitText := func(sel, want string) {
				t.Helper()
				deadline := time.Now().Add(45 * time.Second)
				var got string
				for time.Now().Before(deadline) {
					got, _ = chromedp.Run(browser, chromedp.Evaluate[string](`(document.querySelector(`+jsString(sel)+`) || {}).innerText || ""`))
					if strings.Contains(got, want) {
						return
					}
					time.Sleep(150 * time.Millisecond)
				}
				body, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.body.innerText`))
				t.Fatalf("%s shows %q, want %q\npage: %q\nconsole: %q", sel, got, want, body, watch.console())
			}

			// Sign in.
			step("open the console", chromedp.EmulateViewport(1366, 900), chromedp.Navigate(origin+"/console/"), chromedp.WaitVisible(chromedp.ID("signin")))
			consoleAxeCheck(t, browser, axe, "sign-in")
			step("sign in",
				chromedp.Click(chromedp.ID("signin")),
				chromedp.WaitVisible(chromedp.ID("email")),
				chromedp.SendKeys(chromedp.ID("email"), demo.Email),
				chromedp.SendKeys(chromedp.ID("password"), demo.Password),
				chromedp.Click(chromedp.ID("login")),
				chromedp.WaitVisible(chromedp.ID("approve")),
				chromedp.Click(chromedp.ID("approve")),
				chromedp.WaitVisible(chromedp.CSS("#devices tbody tr")),
			)
			if loc, _ := chromedp.Run(browser, chromedp.Location()); loc != origin+"/console/" {
				t.Fatalf("after sign-in the console is at %s", loc)
			}
			// The three devices and the demo's MQTT device.
			waitText("#device-count", "4 devices match")
			waitText("#who", demo.Email)
			// The map: the world outline, markers (the two Berlin devices
			// may be one cluster), a fault colour.
			step("the map", chromedp.WaitVisible(chromedp.CSS("#map path.land")), chromedp.WaitVisible(chromedp.CSS("#map path.area")),
				chromedp.WaitVisible(chromedp.CSS("#map .leaflet-marker-icon")))
			consoleAxeCheck(t, browser, axe, "devices")
			shot("fleet.png")

			// Filter.
			step("filter", chromedp.SendKeys(chromedp.CSS(`input[name=search]`), "truck"), chromedp.Click(chromedp.ID("apply")))
			waitText("#device-count", "1 device match")
			if got := text("#devices tbody"); !strings.Contains(got, "Truck 7") || strings.Contains(got, "Trailer") {
				t.Fatalf("filtered table: %q", got)
			}
			step("filter by fault", setValue(`input[name=search]`, ""), setValue(`select[name=fault]`, "true"), chromedp.Click(chromedp.ID("apply")))
			waitText("#devices tbody", "Trailer 12")
			if got := text("#devices tbody"); strings.Contains(got, "Truck") || strings.Contains(got, "Forklift") {
				t.Fatalf("devices with a fault: %q", got)
			}
			step("filter by geogroup", setValue(`select[name=fault]`, ""), chromedp.Click(chromedp.CSS(`select[name=geogroup]`)),
				chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
					_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const s = document.querySelector("select[name=geogroup]"); s.selectedIndex = 1; return s.value !== "" })()`))
					return err
				}), chromedp.Click(chromedp.ID("apply")))
			waitText("#device-count", "2 devices match")
			if got := text("#devices tbody"); !strings.Contains(got, "Truck 7") || !strings.Contains(got, "Trailer 12") {
				t.Fatalf("devices inside Berlin: %q", got)
			}
			step("clear the filter", setValue(`select[name=geogroup]`, ""), chromedp.Click(chromedp.ID("apply")))
			waitText("#device-count", "4 devices match")

			// The page's one subscription to the customer's events: a
			// location posted over HTTP moves the truck's marker (out of
			// the Berlin cluster) and updates its row.
			waitText("#live-state", "live")
			if got := text(`#devices tr[data-device="` + truck + `"] .last-event`); got != "—" {
				t.Fatalf("the truck's last event before any: %q", got)
			}
			time.Sleep(500 * time.Millisecond) // the subscription's start reaches the server
			sendJSON(t, http.MethodPost, ts.URL+"/api/v1/devices/"+truck+"/events", app,
				`{"data":{"type":"events","attributes":{"event_type":"location","payload":{"latitude":50.0,"longitude":12.5}}}}`, http.StatusCreated)
			step("the marker moves", chromedp.WaitVisible(chromedp.CSS(`#map .leaflet-marker-icon[data-device="`+truck+`"][data-position="50,12.5"]`)))
			if got := text(`#devices tr[data-device="` + truck + `"] .last-event`); got == "—" || got == "" {
				t.Fatalf("the truck's row after a live location: last event %q", got)
			}
			// The same stream brings the MQTT connects and disconnects:
			// the demo device's row follows its session.
			demoRow := `#devices tr[data-device="` + demo.DeviceID + `"] .conn-cell`
			if got := text(demoRow); got != "Not connected" {
				t.Fatalf("the demo device before its MQTT session: %q", got)
			}
			disconnect := connectDevice(t, mqttAddr, demo.DeviceID, demo.DeviceToken)
			waitText(demoRow, "Connected")
			if got := text(demoRow); got != "Connected" {
				t.Fatalf("the demo device in its MQTT session: %q", got)
			}
			disconnect()
			waitText(demoRow, "Not connected")

			// The access token is revoked behind the console's back: its next
			// request is refused, it refreshes (the refresh token rotates)
			// and goes on with a new access token.
			before := watch.bearers()
			postForm(t, ts.URL+"/oauth/revoke", "", map[string][]string{"token": {before[len(before)-1]}, "client_id": {demo.ConsoleClient}}, http.StatusOK)

			// A device, and a live event.
			step("open a device", chromedp.Click(chromedp.CSS(`#devices a[href$="`+truck+`"]`)), chromedp.WaitVisible(chromedp.ID("events")))
			waitText("h1", "Truck 7")
			if after := watch.bearers(); len(after) <= len(before) || watch.refreshes() == 0 {
				t.Fatalf("no refresh after the access token was revoked: %d bearer tokens before, %d after, %d refreshes", len(before), len(after), watch.refreshes())
			}
			waitText("#live-state", "live")
			time.Sleep(500 * time.Millisecond) // the subscription's start reaches the server
			sendJSON(t, http.MethodPost, ts.URL+"/api/v1/devices/"+truck+"/events", app,
				`{"data":{"type":"events","attributes":{"event_type":"temperature","payload":{"celsius":23.5}}}}`, http.StatusCreated)
			waitText("#events", "23.5 °C")
			waitText("#events-total", "3") // and the location posted on the devices page, and the geofence event it made (the truck left the Berlin geogroup)
			waitText("#events", "left geogroup")
			waitText("#chart", "Temperature")
			// The chart is the server's series: three more temperatures in
			// two earlier hours make three hourly points (the second of
			// two events: average 23, from 22 to 24), drawn again as each
			// arrives live, and listed in the table beside it.
			hour := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
			for _, e := range []struct {
				at      time.Duration
				celsius string
			}{{10 * time.Minute, "20"}, {70 * time.Minute, "22"}, {80 * time.Minute, "24"}} {
				sendJSON(t, http.MethodPost, ts.URL+"/api/v1/devices/"+truck+"/events", app,
					`{"data":{"type":"events","attributes":{"event_type":"temperature","occurred_at":"`+hour.Add(e.at).Format(time.RFC3339)+
						`","payload":{"celsius":`+e.celsius+`}}}}`, http.StatusCreated)
			}
			waitText("#series-summary", "Temperature: 3 points from 4 events, averages from 20 to 23.5 °C, lowest 20, highest 24 °C.")
			// Past events count in the last 24 hours but do not move "last
			// seen" back.
			waitText("#events-24h", "6")
			if recent, _ := chromedp.Run(browser, chromedp.Evaluate[bool](`Math.abs(Date.now() - Date.parse(document.getElementById("last-seen").textContent)) < 120000`)); !recent {
				t.Fatalf("last seen moved back to %q", text("#last-seen"))
			}
			rowsJS := `[...document.querySelectorAll("#series tr")].map(r => [...r.cells].slice(1).map(c => c.textContent).join("|"))`
			rows, err := chromedp.Run(browser, chromedp.Evaluate[[]string](rowsJS))
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"1|20 °C|20 °C|20 °C|20 °C", "2|23 °C|22 °C|24 °C|24 °C", "1|23.5 °C|23.5 °C|23.5 °C|23.5 °C"}; fmt.Sprint(rows) != fmt.Sprint(want) {
				t.Fatalf("the series table: %q, want %q", rows, want)
			}
			// Per minute the range spans too many buckets for the server:
			// the choice is not offered for 24 hours.
			if off, _ := chromedp.Run(browser, chromedp.Evaluate[bool](`document.querySelector("select[name=interval] option[value=ONE_MINUTE]").disabled`)); !off {
				t.Fatal("per-minute points are offered for 24 hours")
			}
			// A device token: shown once, listed after.
			step("create a device token", chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Gateway"),
				chromedp.Click(chromedp.CSS(`#tokens-h ~ form button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("device-token")))
			if tok := text("#device-token"); !strings.HasPrefix(tok, "agdt_") {
				t.Fatalf("shown device token %q", tok)
			}
			waitText("#tokens-h + table", "Gateway")
			consoleAxeCheck(t, browser, axe, "device")
			shot("device.png")
			// The truck never connected: its resources cannot be called.
			waitText(`section[aria-labelledby=res-h]`, "The device is not connected")
			if n, _ := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll("form.resource").length`)); n != 0 {
				t.Fatalf("an offline device offers %d resource forms", n)
			}

			// The demo device connects, announces a relay and answers its
			// calls: its page calls the relay and shows the device's out.
			calls := resourceDevice(t, mqttAddr, demo.DeviceID, demo.DeviceToken)
			step("open the demo device", chromedp.Click(chromedp.CSS(`.crumbs a`)), chromedp.WaitVisible(chromedp.CSS(`#devices a[href$="`+demo.DeviceID+`"]`)))
			waitText(demoRow, "Connected")
			step("open its resources", chromedp.Click(chromedp.CSS(`#devices a[href$="`+demo.DeviceID+`"]`)),
				chromedp.WaitVisible(chromedp.CSS(`form.resource textarea[name=in]`)))
			waitText(`form.resource h3`, "relay")
			step("call the relay", setValue(`form.resource textarea[name=in]`, `{"on": true}`), chromedp.Click(chromedp.CSS(`form.resource button[type=submit]`)))
			waitText(`form.resource pre.out`, `"on": true`)
			if got := text(`form.resource pre.out`); !strings.Contains(got, " ms") || strings.Contains(got, "false") {
				t.Fatalf("the relay's out on the page: %q", got)
			}
			select {
			case in := <-calls:
				if in != `{"on":true}` {
					t.Fatalf("the device received in %s", in)
				}
			default:
				t.Fatal("the page shows an out but the device received no call")
			}
			consoleAxeCheck(t, browser, axe, "device resources")
			shot("device-resources.png")

			// An application: the secret is shown once.
			step("applications", chromedp.Click(chromedp.CSS(`nav a[data-nav=applications]`)), chromedp.WaitVisible(chromedp.ID("app-create")))
			consoleAxeCheck(t, browser, axe, "applications")
			step("create an application",
				chromedp.SendKeys(chromedp.ID("app-name"), "Fleet backend"),
				chromedp.Click(chromedp.ID("app-create")),
				chromedp.WaitVisible(chromedp.ID("client-secret")),
			)
			secret := text("#client-secret")
			if !strings.HasPrefix(secret, "agcs_") {
				t.Fatalf("shown secret %q", secret)
			}
			waitText("#applications", "Fleet backend")
			shot("applications.png")
			step("applications again", chromedp.Click(chromedp.CSS(`nav a[data-nav=groups]`)), chromedp.WaitVisible(chromedp.ID("groups-h")),
				chromedp.Click(chromedp.CSS(`nav a[data-nav=applications]`)), chromedp.WaitVisible(chromedp.ID("applications")))
			if html, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.body.innerHTML`)); strings.Contains(html, secret) {
				t.Fatal("the client secret is shown again")
			}

			// Groups and configurations.
			step("groups", chromedp.Click(chromedp.CSS(`nav a[data-nav=groups]`)), chromedp.WaitVisible(chromedp.ID("cfg-name")))
			js := func(expr string) chromedp.Action[chromedp.Void] {
				return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
					_, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("(() => { "+expr+"; return true })()"))
					return err
				})
			}
			step("create a configuration", chromedp.SendKeys(chromedp.ID("cfg-name"), "Winter"),
				chromedp.SendKeys(chromedp.CSS(`#new-cfg-h ~ .field input[name=reportingIntervalS]`), "300"),
				chromedp.Click(chromedp.CSS(`#new-cfg-h ~ button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`form.cfg[aria-label="Configuration Winter"]`)))
			waitText(`form.cfg[aria-label="Configuration Winter"] h3`, "draft")
			step("publish it", js(`window.confirm = () => true`),
				chromedp.Click(chromedp.CSS(`form.cfg[aria-label="Configuration Winter"] button.primary`)))
			waitText(`form.cfg[aria-label="Configuration Winter"] h3`, "published")
			if ro, _ := chromedp.Run(browser, chromedp.Evaluate[bool](`[...document.querySelectorAll('form.cfg[aria-label="Configuration Winter"] input')].every(i => i.readOnly) && !document.querySelector('form.cfg[aria-label="Configuration Winter"] button')`)); !ro {
				t.Fatal("a published configuration is editable")
			}
			step("create a group", chromedp.SendKeys(chromedp.ID("group-name"), "Cold chain"), chromedp.Click(chromedp.CSS(`#groups-h ~ form button[type=submit]`)))
			waitText("#groups", "Cold chain")
			step("assign the configuration", js(`const s = document.querySelector('select[aria-label="Configuration of Cold chain"]'); s.selectedIndex = 1; s.dispatchEvent(new Event("change"))`))
			waitText("#status", "Cold chain now uses Winter")
			consoleAxeCheck(t, browser, axe, "groups")
			shot("groups.png")

			// Sign out: the tokens stop working; signing in again asks for
			// the password.
			tokens := watch.bearers()
			if len(tokens) == 0 {
				t.Fatal("saw no bearer token in the console's requests")
			}
			step("sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("signin")))
			for _, tok := range tokens {
				req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/users/me", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				doJSON(t, req, http.StatusUnauthorized)
			}
			step("sign in again", chromedp.Click(chromedp.ID("signin")), chromedp.WaitVisible(chromedp.ID("password")))

			if r := watch.refused(); len(r) > 0 {
				t.Errorf("the console asked for other origins: %q", r)
			}
			if v := watch.violations(); len(v) > 0 {
				t.Errorf("Content-Security-Policy violations: %q", v)
			}
		})
	}
}

// resourceDevice connects an MQTT 5 client as the device, announces a
// relay resource (retained) and answers every call on
// devices/{id}/resources/+/call with {"id", "out": {"on": in.on}} on the
// call's response topic with its correlation data (the reply topic
// devices/{id}/resources/{name}/reply). It returns the ins of the calls it
// answered, compacted.
func resourceDevice(t *testing.T, addr, deviceID, token string) <-chan string {
	t.Helper()
	d, err := dialDevice(t, addr, deviceID, token)
	if err != nil {
		t.Fatalf("mqtt connect: %v", err)
	}
	prefix := "devices/" + deviceID + "/resources/"
	ins := make(chan string, 16)
	d.AddOnPublishReceived(func(pr paho.PublishReceived) (bool, error) {
		p := pr.Packet
		name, ok := strings.CutSuffix(strings.TrimPrefix(p.Topic, prefix), "/call")
		if !ok || !strings.HasPrefix(p.Topic, prefix) {
			return false, nil
		}
		var call struct {
			ID string          `json:"id"`
			In json.RawMessage `json:"in"`
		}
		var in struct {
			On *bool `json:"on"`
		}
		if err := json.Unmarshal(p.Payload, &call); err != nil || json.Unmarshal(call.In, &in) != nil || in.On == nil {
			t.Errorf("the device received a call it cannot read on %s: %q", p.Topic, p.Payload)
			return true, nil
		}
		var compact bytes.Buffer
		_ = json.Compact(&compact, call.In)
		ins <- compact.String()
		reply, _ := json.Marshal(map[string]any{"id": call.ID, "out": map[string]any{"on": *in.On}})
		topic := prefix + name + "/reply"
		var props *paho.PublishProperties
		if p.Properties != nil && p.Properties.ResponseTopic != "" {
			topic = p.Properties.ResponseTopic
			props = &paho.PublishProperties{CorrelationData: p.Properties.CorrelationData}
		}
		// Not from the client's receive loop, which must go on to read
		// the PUBACK.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := d.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: reply, Properties: props}); err != nil {
				t.Errorf("the device's reply on %s: %v", topic, err)
			}
		}()
		return true, nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := d.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: prefix + "+/call", QoS: 1}}}); err != nil {
		t.Fatalf("subscribe to the calls: %v", err)
	}
	announce := `[{"name":"relay","kind":"io","in":{"type":"object","properties":{"on":{"type":"boolean"}},"required":["on"]}}]`
	if pr, err := d.Publish(ctx, &paho.Publish{Topic: "devices/" + deviceID + "/resources", QoS: 1, Retain: true, Payload: []byte(announce)}); err != nil || pr.ReasonCode >= 0x80 {
		t.Fatalf("announce the resources: %v %v", pr, err)
	}
	return ins
}

// consoleDevice creates a device over JSON:API and returns its id.
func consoleDevice(t *testing.T, base, token, name string, lat, lon float64, fault bool) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"type": "devices", "attributes": map[string]any{
		"name": name, "imei": storagetest.NewIMEI(), "latitude": lat, "longitude": lon, "fault": fault}}})
	doc := sendJSON(t, http.MethodPost, base+"/api/v1/devices", token, string(body), http.StatusCreated)
	return doc["data"].(map[string]any)["id"].(string)
}

// freePort returns a loopback port that was free a moment ago: the
// console's origin (issuer and redirect URI) must be known before start.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// screenshotDir is where the test's screenshots go (not committed):
// ASSETGATE_TEST_SCREENSHOTS, or test-output/console in the repository.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ASSETGATE_TEST_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(repoRoot, "test-output", "console")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// consoleAxe returns axe-core's browser build from tools/console's pinned
// npm packages, installing them (npm ci) when they are missing.
func consoleAxe(t *testing.T) string {
	t.Helper()
	testsupport.RequireTool(t, testsupport.ChromiumPath, "scripts/install-chromium.sh")
	tools := filepath.Join(repoRoot, "tools", "console")
	file := filepath.Join(tools, "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(file); err != nil {
		testsupport.RequireTool(t, "npm", "Node.js and npm, for axe-core")
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = tools
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in tools/console: %v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// consoleAxeCheck runs axe-core on the page and fails on serious or
// critical violations.
func consoleAxeCheck(t *testing.T, browser context.Context, axe, page string) {
	t.Helper()
	if _, err := chromedp.Run(browser, chromedp.Evaluate[bool](axe+";true")); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	type violation struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	}
	res, err := chromedp.Run(browser, chromedp.Evaluate[[]violation](
		`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe-core on %s: %v", page, err)
	}
	n := 0
	for _, v := range res {
		if v.Impact == "serious" || v.Impact == "critical" {
			n++
			t.Errorf("axe-core on the %s page: %s (%s) %s at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
	t.Logf("axe-core on the %s page: %d violations, %d serious or critical", page, len(res), n)
}

// browserWatch records what the page asked of other origins (refused),
// Content-Security-Policy violations, console errors and the bearer
// tokens the console sent.
type browserWatch struct {
	mu                     sync.Mutex
	out, csp, logs, tokens []string
	refreshed              int
}

func watchBrowser(t *testing.T, browser context.Context, origin string) *browserWatch {
	t.Helper()
	w := &browserWatch{}
	paused := chromedp.Events(browser, fetch.RequestPaused)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			if strings.HasPrefix(ev.Request.URL, origin+"/") {
				if a, ok := ev.Request.Headers["Authorization"].(string); ok && strings.HasPrefix(a, "Bearer ") {
					w.add(&w.tokens, strings.TrimPrefix(a, "Bearer "))
				}
				if strings.HasSuffix(ev.Request.URL, "/oauth/token") {
					for _, e := range ev.Request.PostDataEntries {
						if strings.Contains(string(e.Bytes), "grant_type=refresh_token") {
							w.mu.Lock()
							w.refreshed++
							w.mu.Unlock()
						}
					}
				}
				_, _ = chromedp.Call(browser, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				continue
			}
			w.add(&w.out, ev.Request.URL)
			_, _ = chromedp.Call(browser, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: "BlockedByClient"})
		}
	}()
	messages := chromedp.Console(browser)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if strings.Contains(m.Text, "Content Security Policy") {
				w.add(&w.csp, m.Text)
			}
			w.add(&w.logs, m.Text)
		}
	}()
	if _, err := chromedp.Call(browser, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *browserWatch) add(s *[]string, v string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, x := range *s {
		if x == v {
			return
		}
	}
	*s = append(*s, v)
}

func (w *browserWatch) get(s *[]string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), (*s)...)
}

func (w *browserWatch) refused() []string    { return w.get(&w.out) }
func (w *browserWatch) violations() []string { return w.get(&w.csp) }
func (w *browserWatch) console() []string    { return w.get(&w.logs) }
func (w *browserWatch) bearers() []string    { return w.get(&w.tokens) }

func (w *browserWatch) refreshes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refreshed
}

// TestConsoleCLI: `assetgate app create-console` makes the console's
// public application for a customer (owned by its first user, or the one
// named), prints the address that opens the console with it, gives the
// same application again on a second run, and refuses a customer without
// users, an owner of another customer and an origin with a path.
func TestConsoleCLI(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			cust := mustCLI(t, env, "", "customer", "create", "--name", "Console Co")["id"].(string)
			empty := mustCLI(t, env, "", "customer", "create", "--name", "Nobody Inc")["id"].(string)
			if r := runCLI(t, env, "", "app", "create-console", "--customer", empty, "--json"); r.code == 0 || !strings.Contains(r.stderr, "no users") {
				t.Fatalf("a customer without users: exit %d: %s", r.code, r.stderr)
			}
			user := mustCLI(t, env, "correct horse battery\n", "user", "create", "--customer", cust, "--email", "ops@console.example", "--password-stdin")["id"].(string)
			out := mustCLI(t, env, "", "app", "create-console", "--customer", cust, "--origin", "https://console.example.com/")
			id, _ := out["client_id"].(string)
			if out["created"] != true || out["owner_id"] != user || out["token_endpoint_auth_method"] != "none" || out["pkce_enforcement"] != "s256_required" ||
				fmt.Sprint(out["redirect_uris"]) != "[https://console.example.com/console/callback]" ||
				fmt.Sprint(out["post_logout_redirect_uris"]) != "[https://console.example.com/console/]" ||
				fmt.Sprint(out["grant_types"]) != "[authorization_code refresh_token]" || fmt.Sprint(out["scopes"]) != "[openid me]" ||
				out["console_url"] != "https://console.example.com/console/?client_id="+id {
				t.Fatalf("create-console: %v", out)
			}
			again := mustCLI(t, env, "", "app", "create-console", "--customer", cust, "--origin", "https://console.example.com")
			if again["client_id"] != id || again["created"] != false {
				t.Fatalf("second create-console: %v", again)
			}
			other := mustCLI(t, env, "", "customer", "create", "--name", "Other")["id"].(string)
			stranger := mustCLI(t, env, "another long password\n", "user", "create", "--customer", other, "--email", "x@other.example", "--password-stdin")["id"].(string)
			if r := runCLI(t, env, "", "app", "create-console", "--customer", cust, "--owner", stranger, "--origin", "http://x.example", "--json"); r.code == 0 {
				t.Fatalf("an owner of another customer: exit 0: %s", r.stdout)
			}
			if r := runCLI(t, env, "", "app", "create-console", "--customer", cust, "--origin", "https://x.example/sub"); r.code != 2 {
				t.Fatalf("an origin with a path: exit %d: %s", r.code, r.stderr)
			}
		})
	}
}
