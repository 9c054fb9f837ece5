package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
)

// freeAddr returns a loopback address with a port that was free a moment
// ago (the listener that found it is closed again).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// scrape is one GET of a /metrics endpoint, parsed with the Prometheus
// text parser.
type scrape struct {
	raw      []byte
	families map[string]*dto.MetricFamily
}

func scrapeMetrics(t *testing.T, addr string) scrape {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d: %s", res.StatusCode, raw)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, raw)
	}
	return scrape{raw: raw, families: fams}
}

// value sums the samples of a family whose labels include labels (pairs
// of name and value): counter and gauge values, histogram sample counts.
// A missing family is -1.
func (s scrape) value(name string, labels ...string) float64 {
	f, ok := s.families[name]
	if !ok {
		return -1
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

// histogramSum is the sum of the observations of the matching histograms.
func (s scrape) histogramSum(name string, labels ...string) float64 {
	var sum float64
	for _, m := range s.families[name].GetMetric() {
		if hasLabels(m, labels) && m.Histogram != nil {
			sum += m.Histogram.GetSampleSum()
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// moved scrapes before and after do and fails unless the family's value
// for labels grew by at least want.
func moved(t *testing.T, addr string, want float64, name string, labels []string, do func()) scrape {
	t.Helper()
	before := scrapeMetrics(t, addr).value(name, labels...)
	do()
	var after scrape
	// Counters move before the response is written, the HTTP metrics just
	// after: a few polls absorb that.
	for range 50 {
		after = scrapeMetrics(t, addr)
		if after.value(name, labels...)-max(before, 0) >= want {
			return after
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s%v went from %v to %v, want a rise of at least %v", name, labels, before, after.value(name, labels...), want)
	return after
}

// waitValue polls until the family's value for labels is want.
func waitValue(t *testing.T, addr string, want float64, name string, labels ...string) {
	t.Helper()
	var got float64
	for range 100 {
		if got = scrapeMetrics(t, addr).value(name, labels...); got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
}

// doRequest sends req and returns the status and body.
func doRequest(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestMetricsEndToEnd runs `assetgate serve` with its metrics listener on a
// free port and checks, family by family, that each metric moves when its
// event happens through real HTTP requests, that label values stay bounded
// (route patterns, never raw paths or ids), and that promtool finds the
// output clean.
func TestMetricsEndToEnd(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			maddr := freeAddr(t)
			env := mkenv(t).With("ASSETGATE_METRICS_ADDR", maddr, "ASSETGATE_REFRESH_GRACE", "0s")
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			tn := newAPITenant(t, env, c, "Metrics")
			withRedis := env.Get("ASSETGATE_REDIS_URL") != ""

			t.Run("http", func(t *testing.T) {
				rawID := "raw-" + resource.NewID()
				s := moved(t, maddr, 1, "http_server_request_duration_seconds",
					[]string{"http_route", "/api/v1/devices/{id}", "http_request_method", "GET", "http_response_status_code", "404"},
					func() { c.call(t, "GET", "/api/v1/devices/"+rawID, tn.me, nil).want(t, 404) })
				if bytes.Contains(s.raw, []byte(rawID)) {
					t.Fatalf("a raw path reached a label: %s", rawID)
				}
				moved(t, maddr, 1, "http_server_request_duration_seconds",
					[]string{"http_route", "/healthz", "http_request_method", "GET", "http_response_status_code", "200"},
					func() { waitHealthy(t, ts.URL) })
				form := url.Values{"grant_type": {"client_credentials"}, "scope": {"nothing-" + strings.Repeat("x", 500)}}.Encode()
				labels := []string{"http_route", "/oauth/token", "http_request_method", "POST"}
				before := scrapeMetrics(t, maddr)
				var body []byte
				after := moved(t, maddr, 1, "http_server_request_body_size_bytes", labels, func() {
					req, _ := http.NewRequest("POST", ts.URL+"/oauth/token", strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					_, body = doRequest(t, req)
				})
				if got := after.histogramSum("http_server_request_body_size_bytes", labels...) -
					before.histogramSum("http_server_request_body_size_bytes", labels...); got < float64(len(form)) {
					t.Fatalf("request body sizes grew by %v, want at least %d", got, len(form))
				}
				if got := after.histogramSum("http_server_response_body_size_bytes", labels...) -
					before.histogramSum("http_server_response_body_size_bytes", labels...); got < float64(len(body)) {
					t.Fatalf("response body sizes grew by %v, want at least %d", got, len(body))
				}
			})

			t.Run("active requests and live streams", func(t *testing.T) {
				_, reader := issueDeviceToken(t, c, tn, "events:read")
				waitValue(t, maddr, 0, "assetgate_live_stream_subscribers", "transport", "sse")
				sse := openSSE(t, ts.URL, tn.deviceID, reader, "")
				waitValue(t, maddr, 1, "assetgate_live_stream_subscribers", "transport", "sse")
				if got := scrapeMetrics(t, maddr).value("http_server_active_requests", "http_request_method", "GET"); got < 1 {
					t.Fatalf("http_server_active_requests{GET} = %v with a stream open", got)
				}
				sse.close()
				waitValue(t, maddr, 0, "assetgate_live_stream_subscribers", "transport", "sse")
				// The tenant-wide stream counts among them.
				tenant := openSSEPath(t, ts.URL, "/api/v1/events/stream", reader, "")
				waitValue(t, maddr, 1, "assetgate_live_stream_subscribers", "transport", "sse")
				tenant.close()
				waitValue(t, maddr, 0, "assetgate_live_stream_subscribers", "transport", "sse")

				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				ws := dialGraphQLWS(t, ctx, ts.URL, tn.me)
				readWS(t, ctx, ws, "connection_ack")
				waitValue(t, maddr, 1, "assetgate_graphql_websocket_connections")
				sub, _ := json.Marshal(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
					"query": `subscription { deviceEvents(deviceId: "` + tn.deviceID + `") { id } }`}})
				if err := ws.Write(ctx, websocket.MessageText, sub); err != nil {
					t.Fatal(err)
				}
				waitValue(t, maddr, 1, "assetgate_live_stream_subscribers", "transport", "websocket")
				// A tenant-wide subscription beside it counts too.
				all, _ := json.Marshal(map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{
					"query": `subscription { deviceEvents { id } }`}})
				if err := ws.Write(ctx, websocket.MessageText, all); err != nil {
					t.Fatal(err)
				}
				waitValue(t, maddr, 2, "assetgate_live_stream_subscribers", "transport", "websocket")
				ws.Close(websocket.StatusNormalClosure, "")
				waitValue(t, maddr, 0, "assetgate_live_stream_subscribers", "transport", "websocket")
				waitValue(t, maddr, 0, "assetgate_graphql_websocket_connections")
			})

			t.Run("websocket refusals", func(t *testing.T) {
				moved(t, maddr, 1, "assetgate_graphql_websocket_refused_total", []string{"reason", "invalid_token"}, func() {
					ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
					defer cancel()
					ws := dialGraphQLWS(t, ctx, ts.URL, "agat_not-a-token")
					if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != 4403 {
						t.Fatalf("websocket with a bad token: %v, want close 4403", err)
					}
				})
				moved(t, maddr, 1, "assetgate_graphql_websocket_refused_total", []string{"reason", "subscribe_before_init"}, func() {
					ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
					defer cancel()
					ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
					if err != nil {
						t.Fatal(err)
					}
					defer ws.CloseNow()
					if err := ws.Write(ctx, websocket.MessageText, []byte(`{"id":"1","type":"subscribe","payload":{"query":"{ me { id } }"}}`)); err != nil {
						t.Fatal(err)
					}
					if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != 4401 {
						t.Fatalf("subscribe before connection_init: %v, want close 4401", err)
					}
				})
			})

			t.Run("tokens issued", func(t *testing.T) {
				backend := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "MetricsBackend", "--grant", "client_credentials", "--scope", "app")
				moved(t, maddr, 1, "assetgate_oauth_tokens_issued_total", []string{"grant_type", "client_credentials", "client_kind", "confidential"},
					func() { oauthToken(t, c, backend, url.Values{"grant_type": {"client_credentials"}, "scope": {"app"}}) })
			})

			mobile := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "MetricsMobile", "--grant", "password", "--grant", "refresh_token", "--scope", "me")
			t.Run("refresh reuse", func(t *testing.T) {
				tok := postForm(t, ts.URL+"/oauth/token", clientBasic(mobile),
					url.Values{"grant_type": {"password"}, "username": {tn.email}, "password": {tenantPassword}, "scope": {"me"}}, http.StatusOK)
				refresh := tok["refresh_token"].(string)
				moved(t, maddr, 1, "assetgate_oauth_tokens_issued_total", []string{"grant_type", "refresh_token", "client_kind", "confidential"}, func() {
					postForm(t, ts.URL+"/oauth/token", clientBasic(mobile), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, http.StatusOK)
				})
				moved(t, maddr, 1, "assetgate_oauth_refresh_reuse_detected_total", nil, func() {
					postForm(t, ts.URL+"/oauth/token", clientBasic(mobile), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, http.StatusBadRequest)
				})
			})

			t.Run("login failures", func(t *testing.T) {
				moved(t, maddr, 1, "assetgate_login_failures_total", []string{"reason", "credentials"}, func() {
					postForm(t, ts.URL+"/oauth/token", clientBasic(mobile),
						url.Values{"grant_type": {"password"}, "username": {tn.email}, "password": {"wrong password"}, "scope": {"me"}}, http.StatusBadRequest)
				})
			})

			introspector := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "MetricsIntrospector", "--grant", "client_credentials", "--scope", "app")
			t.Run("introspections", func(t *testing.T) {
				moved(t, maddr, 1, "assetgate_oauth_introspections_total", []string{"result", "active"}, func() {
					postForm(t, ts.URL+"/oauth/introspect", clientBasic(introspector), url.Values{"token": {tn.me}}, http.StatusOK)
				})
				moved(t, maddr, 1, "assetgate_oauth_introspections_total", []string{"result", "inactive"}, func() {
					postForm(t, ts.URL+"/oauth/introspect", clientBasic(introspector), url.Values{"token": {"agat_unknown"}}, http.StatusOK)
				})
			})

			t.Run("revocations", func(t *testing.T) {
				tok := oauthToken(t, c, introspector, url.Values{"grant_type": {"client_credentials"}, "scope": {"app"}})
				moved(t, maddr, 1, "assetgate_oauth_revocations_total", []string{"hint", "access_token"}, func() {
					req, _ := http.NewRequest("POST", ts.URL+"/oauth/revoke",
						strings.NewReader(url.Values{"token": {tok}, "token_type_hint": {"access_token"}}.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(introspector["client_id"].(string), introspector["client_secret"].(string))
					if status, body := doRequest(t, req); status != http.StatusOK {
						t.Fatalf("revoke = %d: %s", status, body)
					}
				})
			})

			t.Run("device code polls", func(t *testing.T) {
				tv := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "MetricsTV",
					"--grant", "urn:ietf:params:oauth:grant-type:device_code", "--auth-method", "none")
				id := tv["client_id"].(string)
				da := postForm(t, ts.URL+"/oauth/device_authorization", "", url.Values{"client_id": {id}}, http.StatusOK)
				moved(t, maddr, 1, "assetgate_oauth_device_polls_total", []string{"outcome", "authorization_pending"}, func() {
					postForm(t, ts.URL+"/oauth/token", "", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
						"client_id": {id}, "device_code": {da["device_code"].(string)}}, http.StatusBadRequest)
				})
			})

			t.Run("graphql operations", func(t *testing.T) {
				moved(t, maddr, 1, "assetgate_graphql_operations_total", []string{"operation", "MetricsMe", "outcome", "ok"},
					func() { gql(t, ts.URL, tn.me, `query MetricsMe { me { id } }`, nil).ok(t) })
				moved(t, maddr, 1, "assetgate_graphql_operations_total", []string{"operation", "MetricsDevice", "outcome", "NOT_FOUND"},
					func() {
						gql(t, ts.URL, tn.me, `query MetricsDevice { device(id: "nope") { id } }`, nil).fails(t, "NOT_FOUND")
					})
				deep := `query Deep { device(id: "x") { ` + strings.Repeat("group { devices { edges { node { ", 4) + "id" + strings.Repeat(" } } } }", 4) + " } }"
				moved(t, maddr, 1, "assetgate_graphql_rejected_total", []string{"limit", "depth"},
					func() { gql(t, ts.URL, tn.me, deep, nil).fails(t, "DEPTH_LIMIT_EXCEEDED") })
			})

			t.Run("jsonapi errors", func(t *testing.T) {
				moved(t, maddr, 1, "assetgate_jsonapi_errors_total", []string{"code", resource.ENotFound},
					func() { c.call(t, "GET", "/api/v1/devices/nope", tn.me, nil).want(t, 404) })
			})

			t.Run("events ingested", func(t *testing.T) {
				_, writer := issueDeviceToken(t, c, tn, "events:write")
				moved(t, maddr, 1, "assetgate_events_ingested_total", []string{"transport", "jsonapi", "outcome", "accepted"},
					func() { postEvent(t, c, tn.deviceID, writer, 21.5) })
				key := "metrics-" + resource.NewID()
				postKeyed(t, c, tn.deviceID, writer, temperatureDoc(20), key)
				moved(t, maddr, 1, "assetgate_events_ingested_total", []string{"transport", "jsonapi", "outcome", "replayed"},
					func() { postKeyed(t, c, tn.deviceID, writer, temperatureDoc(20), key) })
				moved(t, maddr, 1, "assetgate_events_ingested_total", []string{"transport", "jsonapi", "outcome", "rejected"},
					func() {
						c.callInvalid(t, "POST", "/api/v1/devices/"+tn.deviceID+"/events", writer, temperatureDoc(-1000)).want(t, 422)
					})
				moved(t, maddr, 1, "assetgate_events_ingested_total", []string{"transport", "graphql", "outcome", "accepted"}, func() {
					gql(t, ts.URL, writer, `mutation($id: ID!) { recordEvent(input: {deviceId: $id, type: TEMPERATURE, payload: {celsius: 19.5}}) { replayed } }`,
						map[string]any{"id": tn.deviceID}).ok(t)
				})
			})

			t.Run("pools and runtime", func(t *testing.T) {
				s := scrapeMetrics(t, maddr)
				for _, f := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
					if s.value(f) <= 0 {
						t.Errorf("%s = %v, want > 0", f, s.value(f))
					}
				}
				if got := s.value("go_sql_open_connections"); got < 1 {
					t.Errorf("go_sql_open_connections = %v, want at least 1 after requests", got)
				}
				if !withRedis {
					if _, ok := s.families["assetgate_redis_pool_connections"]; ok {
						t.Error("Redis pool metrics without Redis")
					}
					return
				}
				moved(t, maddr, 1, "assetgate_redis_pool_hits_total", nil, func() { c.call(t, "GET", "/api/v1/users/me", tn.me, nil).want(t, 200) })
				if got := s.value("assetgate_redis_pool_connections"); got < 1 {
					t.Errorf("assetgate_redis_pool_connections = %v, want at least 1", got)
				}
			})

			t.Run("promtool", func(t *testing.T) {
				testsupport.RequireTool(t, "promtool", "scripts/install-promtool.sh installs Debian's prometheus package")
				s := scrapeMetrics(t, maddr)
				cmd := exec.Command("promtool", "check", "metrics")
				cmd.Stdin = bytes.NewReader(s.raw)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("promtool check metrics: %v\n%s", err, out)
				}
			})
		})
	}
}

// readWS reads graphql-transport-ws messages until one of type want.
func readWS(t *testing.T, ctx context.Context, ws *websocket.Conn, want string) map[string]any {
	t.Helper()
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		if m["type"] == want {
			return m
		}
	}
}

// TestMetricsListenerAddress: the default metrics address taken by
// another process only costs a warning (serve --demo and a second instance
// on one host still start); an address the operator set that cannot be
// bound fails serve at start; "off" serves no metrics.
func TestMetricsListenerAddress(t *testing.T) {
	t.Run("default taken", func(t *testing.T) {
		if ln, err := net.Listen("tcp", "127.0.0.1:9464"); err == nil { // the default address
			defer ln.Close()
		} // else another process holds it already: the same case
		env := testsupport.SQLiteEnv(t)
		delete(env, "ASSETGATE_METRICS_ADDR")
		ts := startServer(t, env)
		if !strings.Contains(ts.stderr.String(), "metrics listener not started") {
			t.Fatalf("no warning about the default metrics address; stderr: %s", ts.stderr.String())
		}
	})
	t.Run("given and taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		r := runCLI(t, testsupport.SQLiteEnv(t).With("ASSETGATE_METRICS_ADDR", ln.Addr().String()), "", "serve")
		if r.err == nil || !strings.Contains(r.stderr, "ASSETGATE_METRICS_ADDR") || r.code != 1 {
			t.Fatalf("serve with a taken metrics address: err %v, code %d, stderr %s", r.err, r.code, r.stderr)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		r := runCLI(t, testsupport.SQLiteEnv(t).With("ASSETGATE_METRICS_ADDR", "9464"), "", "serve")
		if r.code != 2 || !strings.Contains(r.stderr, "ASSETGATE_METRICS_ADDR") {
			t.Fatalf("serve with metrics address 9464: code %d, stderr %s", r.code, r.stderr)
		}
	})
}
