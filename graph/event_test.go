package graph_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestEvents records events through GraphQL (application and device
// tokens), reads them back through every field that shows them, and checks
// stats, idempotency and validation.
func TestEvents(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		app, me := e.app(e.a, scopes.App), e.me(e.a)
		dev := e.deviceToken(e.a, scopes.AllPermissions()...)
		const record = `mutation($in: RecordEventInput!) { recordEvent(input: $in) { replayed event { id deviceId type occurredAt
			payload { latitude longitude celsius g percent fault } } } }`
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		at := func(i int) string { return base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339) }
		var ids []string
		for i, in := range []map[string]any{
			{"type": "LOCATION", "occurredAt": at(0), "payload": map[string]any{"latitude": 48.1, "longitude": 11.5}},
			{"type": "TEMPERATURE", "occurredAt": at(1), "payload": map[string]any{"celsius": -4.5}},
			{"type": "STATUS", "occurredAt": at(2), "payload": map[string]any{"fault": true}},
		} {
			in["deviceId"] = e.a.device.ID
			tok := app
			if i == 2 {
				tok = dev // a device reports for itself
			}
			d := e.query(t, tok, record, map[string]any{"in": in}).ok(t)
			ids = append(ids, get(d, "recordEvent.event.id").(string))
			if get(d, "recordEvent.event.type") != in["type"] || get(d, "recordEvent.replayed") != false {
				t.Fatalf("recorded %v", d)
			}
		}
		t.Run("Payload", func(t *testing.T) {
			d := e.query(t, me, `query($id: ID!) { event(id: $id) { deviceId type payload { latitude longitude celsius fault } } }`,
				map[string]any{"id": ids[0]}).ok(t)
			if get(d, "event.deviceId") != e.a.device.ID || get(d, "event.payload.latitude") != 48.1 || get(d, "event.payload.celsius") != nil {
				t.Fatalf("event %v", d)
			}
		})
		t.Run("Lists", func(t *testing.T) {
			d := e.query(t, me, `query($id: ID!) { events { totalCount edges { node { id } } }
				device(id: $id) { events(filter: {type: [TEMPERATURE, STATUS]}, orderBy: [{field: OCCURRED_AT}]) { edges { node { id } } } } }`,
				map[string]any{"id": e.a.device.ID}).ok(t)
			newestFirst := slices.Clone(ids)
			slices.Reverse(newestFirst)
			if got := nodeIDs(d["events"]); !slices.Equal(got, newestFirst) {
				t.Fatalf("events %v, want %v", got, newestFirst)
			}
			if got := nodeIDs(get(d, "device.events")); !slices.Equal(got, ids[1:]) {
				t.Fatalf("device events %v, want %v", got, ids[1:])
			}
			d = e.query(t, me, `query($since: Time, $until: Time, $dev: [ID!]) { events(filter: {since: $since, until: $until, device: $dev}) { edges { node { id } } } }`,
				map[string]any{"since": at(1), "until": at(2), "dev": []string{e.a.device.ID}}).ok(t)
			if got := nodeIDs(d["events"]); !slices.Equal(got, ids[1:2]) {
				t.Fatalf("events in [1, 2) %v", got)
			}
			// Another customer sees none of them.
			d = e.query(t, e.me(e.b), `{ events { totalCount } }`, nil).ok(t)
			if get(d, "events.totalCount") != 0.0 {
				t.Fatalf("customer B sees %v", d)
			}
			e.query(t, e.me(e.b), `query($id: ID!) { event(id: $id) { id } }`, map[string]any{"id": ids[0]}).fails(t, "NOT_FOUND")
		})
		t.Run("Stats", func(t *testing.T) {
			d := e.query(t, me, `query($id: ID!) { device(id: $id) { lastEventAt stats { totalEvents eventsLast24h fault latitude longitude lastEventAt } } }`,
				map[string]any{"id": e.a.device.ID}).ok(t)
			if get(d, "device.stats.totalEvents") != 3.0 || get(d, "device.stats.eventsLast24h") != 3.0 || get(d, "device.stats.fault") != true ||
				get(d, "device.stats.latitude") != 48.1 || get(d, "device.lastEventAt") != get(d, "device.stats.lastEventAt") {
				t.Fatalf("stats %v", d)
			}
		})
		t.Run("Idempotent", func(t *testing.T) {
			in := map[string]any{"deviceId": e.a.device.ID, "type": "BATTERY", "payload": map[string]any{"percent": 80.0}, "idempotencyKey": "k-" + storagetest.NewIMEI()}
			first := e.query(t, app, record, map[string]any{"in": in}).ok(t)
			again := e.query(t, app, record, map[string]any{"in": in}).ok(t)
			if get(again, "recordEvent.replayed") != true || get(again, "recordEvent.event.id") != get(first, "recordEvent.event.id") {
				t.Fatalf("first %v, again %v", first, again)
			}
			in["payload"] = map[string]any{"percent": 81.0}
			r := e.query(t, app, record, map[string]any{"in": in})
			if err := r.fails(t, "CONFLICT"); err.Extensions["field"] != "input.idempotencyKey" {
				t.Fatalf("error %+v", err)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			for _, c := range []struct {
				in    map[string]any
				field string
			}{
				{map[string]any{"type": "LOCATION", "payload": map[string]any{"latitude": 91.0, "longitude": 0.0}}, "input.payload.latitude"},
				{map[string]any{"type": "BATTERY", "payload": map[string]any{}}, "input.payload.percent"},
				{map[string]any{"type": "BATTERY", "occurredAt": time.Now().Add(time.Hour).Format(time.RFC3339), "payload": map[string]any{"percent": 1.0}}, "input.occurredAt"},
			} {
				c.in["deviceId"] = e.a.device.ID
				r := e.query(t, app, record, map[string]any{"in": c.in})
				if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != c.field {
					t.Fatalf("%v: error %+v, want field %s", c.in, err, c.field)
				}
			}
			// A device reports for itself only.
			other := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
			e.query(t, dev, record, map[string]any{"in": map[string]any{"deviceId": other.ID, "type": "BATTERY", "payload": map[string]any{"percent": 1.0}}}).
				fails(t, "NOT_FOUND")
		})
	})
}

// TestDeviceTokens creates, lists and revokes device tokens through
// GraphQL.
func TestDeviceTokens(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		me := e.me(e.a)
		d := e.query(t, me, `mutation($id: ID!) { createDeviceToken(input: {deviceId: $id, name: "Gateway", permissions: [EVENTS_WRITE, DEVICE_READ]}) {
			token deviceToken { id name permissions expiresAt } } }`, map[string]any{"id": e.a.device.ID}).ok(t)
		tokID, _ := get(d, "createDeviceToken.deviceToken.id").(string)
		if tok, _ := get(d, "createDeviceToken.token").(string); !strings.HasPrefix(tok, "agdt_") ||
			!slices.Equal(toStrings(get(d, "createDeviceToken.deviceToken.permissions")), []string{"DEVICE_READ", "EVENTS_WRITE"}) {
			t.Fatalf("created %v", d)
		}
		d = e.query(t, me, `query($id: ID!) { device(id: $id) { tokens { id name permissions } } }`, map[string]any{"id": e.a.device.ID}).ok(t)
		if get(d, "device.tokens.0.id") != tokID || get(d, "device.tokens.1") != nil {
			t.Fatalf("tokens %v", d)
		}
		r := e.query(t, me, `mutation($id: ID!) { createDeviceToken(input: {deviceId: $id, name: "None", permissions: []}) { token } }`, map[string]any{"id": e.a.device.ID})
		if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "input.permissions" {
			t.Fatalf("error %+v", err)
		}
		e.query(t, e.me(e.b), `mutation($d: ID!, $id: ID!) { revokeDeviceToken(input: {deviceId: $d, id: $id}) { revokedId } }`,
			map[string]any{"d": e.a.device.ID, "id": tokID}).fails(t, "NOT_FOUND")
		d = e.query(t, me, `mutation($d: ID!, $id: ID!) { revokeDeviceToken(input: {deviceId: $d, id: $id}) { revokedId } }`,
			map[string]any{"d": e.a.device.ID, "id": tokID}).ok(t)
		if get(d, "revokeDeviceToken.revokedId") != tokID {
			t.Fatalf("revoked %v", d)
		}
		d = e.query(t, me, `query($id: ID!) { device(id: $id) { tokens { id } } }`, map[string]any{"id": e.a.device.ID}).ok(t)
		if get(d, "device.tokens.0") != nil {
			t.Fatalf("tokens after revocation %v", d)
		}
	})
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
