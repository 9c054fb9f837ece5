package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestGraphQLEndToEnd drives /graphql on a real server, on both set-ups,
// with tokens from POST /oauth/token: the password grant's `me` token and
// client credentials' `app` and `basic` tokens.
func TestGraphQLEndToEnd(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			ts := startServer(t, env)
			tn := newGQLTenant(t, env, ts.URL, "Graph")

			t.Run("Unauthenticated", func(t *testing.T) {
				r := gql(t, ts.URL, "", `{ me { id } }`, nil)
				if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer realm="assetgate"` {
					t.Fatalf("status %d, challenge %q", r.status, r.header.Get("WWW-Authenticate"))
				}
				r.fails(t, "UNAUTHENTICATED")
			})
			t.Run("Me", func(t *testing.T) {
				d := gql(t, ts.URL, tn.me, `{ me { id email customer { id name } } }`, nil).ok(t)
				if at(d, "me.id") != tn.userID || at(d, "me.email") != tn.email || at(d, "me.customer.id") != tn.customerID ||
					at(d, "me.customer.name") != "Graph" {
					t.Fatalf("me = %v", d)
				}
				gql(t, ts.URL, tn.app, `{ me { id } }`, nil).fails(t, "FORBIDDEN")
			})
			t.Run("Writes", func(t *testing.T) {
				d := gql(t, ts.URL, tn.app, `mutation { createConfiguration(input: {name: "Base", settings: {reportingIntervalS: 120}}) { configuration { id } } }`, nil).ok(t)
				cid := at(d, "createConfiguration.configuration.id").(string)
				gql(t, ts.URL, tn.app, `mutation($id: ID!) { publishConfiguration(input: {id: $id}) { configuration { state } } }`, map[string]any{"id": cid}).ok(t)
				d = gql(t, ts.URL, tn.me, `mutation($c: ID!) { createDeviceGroup(input: {name: "Yard", configurationId: $c}) { deviceGroup { id } } }`, map[string]any{"c": cid}).ok(t)
				gid := at(d, "createDeviceGroup.deviceGroup.id").(string)
				d = gql(t, ts.URL, tn.app, `mutation($g: ID!, $imei: String!) { createDevice(input: {name: "Crane", imei: $imei, groupId: $g}) { device { id } } }`,
					map[string]any{"g": gid, "imei": testIMEI()}).ok(t)
				did := at(d, "createDevice.device.id").(string)
				gql(t, ts.URL, tn.basic, `mutation { createDeviceGroup(input: {name: "No"}) { deviceGroup { id } } }`, nil).fails(t, "FORBIDDEN")
				d = gql(t, ts.URL, tn.basic, `{ devices(first: 25) { totalCount edges { node { id group { id configuration { id settings { reportingIntervalS } } } } } } }`, nil).ok(t)
				if at(d, "devices.totalCount") != 1.0 || at(d, "devices.edges.0.node.id") != did || at(d, "devices.edges.0.node.group.id") != gid ||
					at(d, "devices.edges.0.node.group.configuration.settings.reportingIntervalS") != 120.0 {
					t.Fatalf("devices = %v", d)
				}
			})
			t.Run("Events", func(t *testing.T) {
				// A device token made through GraphQL records events through
				// GraphQL; a `me` token follows them live over WebSocket.
				d := gql(t, ts.URL, tn.app, `mutation($imei: String!) { createDevice(input: {name: "Tracker", imei: $imei}) { device { id } } }`,
					map[string]any{"imei": testIMEI()}).ok(t)
				did := at(d, "createDevice.device.id").(string)
				d = gql(t, ts.URL, tn.me, `mutation($id: ID!) { createDeviceToken(input: {deviceId: $id, name: "Tracker", permissions: [EVENTS_WRITE]}) { token } }`,
					map[string]any{"id": did}).ok(t)
				devTok := at(d, "createDeviceToken.token").(string)

				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				c := dialGraphQLWS(t, ctx, ts.URL, tn.me)
				sub, _ := json.Marshal(map[string]any{"id": "s", "type": "subscribe", "payload": map[string]any{
					"query": `subscription($id: ID!) { deviceEvents(deviceId: $id) { id type payload { celsius } } }`, "variables": map[string]any{"id": did}}})
				if err := c.Write(ctx, websocket.MessageText, sub); err != nil {
					t.Fatal(err)
				}
				next := make(chan string, 1)
				go func() {
					for {
						_, raw, err := c.Read(ctx)
						if err != nil {
							next <- err.Error()
							return
						}
						if strings.Contains(string(raw), `"next"`) {
							next <- string(raw)
							return
						}
					}
				}()
				var got string
				for got == "" {
					gql(t, ts.URL, devTok, `mutation($id: ID!) { recordEvent(input: {deviceId: $id, type: TEMPERATURE, payload: {celsius: 21.5}}) { event { id } } }`,
						map[string]any{"id": did}).ok(t)
					select {
					case got = <-next:
					case <-time.After(200 * time.Millisecond):
					}
				}
				if !strings.Contains(got, `"TEMPERATURE"`) || !strings.Contains(got, "21.5") {
					t.Fatalf("subscription got %s", got)
				}
				d = gql(t, ts.URL, tn.basic, `query($id: ID!) { device(id: $id) { stats { totalEvents } events(first: 1) { totalCount edges { node { type } } } } }`,
					map[string]any{"id": did}).ok(t)
				if n := at(d, "device.stats.totalEvents").(float64); n < 1 || at(d, "device.events.totalCount") != n ||
					at(d, "device.events.edges.0.node.type") != "TEMPERATURE" {
					t.Fatalf("device = %v", d)
				}
				// The device token may only write events.
				gql(t, ts.URL, devTok, `{ events { totalCount } }`, nil).fails(t, "FORBIDDEN")
			})
			t.Run("PersistedQueryByGET", func(t *testing.T) {
				// A document no earlier run has registered (Redis outlives runs).
				doc := "query Who { me { id } } # " + testIMEI()
				sum := sha256.Sum256([]byte(doc))
				ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hex.EncodeToString(sum[:]) + `"}}`
				get := func() gqlResult {
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+"/graphql?"+url.Values{"extensions": {ext}}.Encode(), nil)
					req.Header.Set("Authorization", "Bearer "+tn.me)
					return doGQL(t, req)
				}
				get().fails(t, "PERSISTED_QUERY_NOT_FOUND")
				var extMap map[string]any
				_ = json.Unmarshal([]byte(ext), &extMap)
				raw, _ := json.Marshal(map[string]any{"query": doc, "extensions": extMap})
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+"/graphql", strings.NewReader(string(raw)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tn.me)
				doGQL(t, req).ok(t)
				if d := get().ok(t); at(d, "me.id") != tn.userID {
					t.Fatalf("GET = %v", d)
				}
			})
			t.Run("GraphiQL", func(t *testing.T) {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+"/graphql", nil)
				req.Header.Set("Accept", "text/html")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "graphiql") {
					t.Fatalf("GET /graphql (text/html) = %d", res.StatusCode)
				}
			})
			t.Run("WebSocket", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				c := dialGraphQLWS(t, ctx, ts.URL, tn.me)
				if err := c.Write(ctx, websocket.MessageText, []byte(`{"id":"1","type":"subscribe","payload":{"query":"{ me { id } }"}}`)); err != nil {
					t.Fatal(err)
				}
				for {
					_, raw, err := c.Read(ctx)
					if err != nil {
						t.Fatalf("read: %v", err)
					}
					if strings.Contains(string(raw), `"next"`) {
						if !strings.Contains(string(raw), tn.userID) {
							t.Fatalf("next = %s", raw)
						}
						return
					}
				}
			})
			// Last: revocation is seen at once.
			t.Run("Revoked", func(t *testing.T) {
				postForm(t, ts.URL+"/oauth/revoke", clientBasic(tn.mobile), url.Values{"token": {tn.me}}, http.StatusOK)
				r := gql(t, ts.URL, tn.me, `{ me { id } }`, nil)
				if r.status != http.StatusUnauthorized || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Fatalf("after revoke: status %d, challenge %q", r.status, r.header.Get("WWW-Authenticate"))
				}
			})
		})
	}
}
