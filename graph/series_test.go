package graph_test

import (
	"math"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestSeries reads the series of a device and of its group and checks the
// figures against values the test computes from the events it stored, the
// typed fields per payload number, the scopes and tenants, and the
// argument paths of the validation errors.
func TestSeries(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		base := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -5) // a day start, within retention
		var evs []*resource.Event
		for i := range 9 {
			ev := storagetest.NewEvent(e.a.customer.ID, e.a.device.ID, resource.EventTemperature, base.Add(time.Duration(i)*20*time.Minute))
			ev.Payload = map[string]any{resource.PayloadCelsius: float64(i*i%7) - 2.5}
			evs = append(evs, ev)
		}
		storagetest.MustCreateEvents(t, e.stores.events, evs...)
		// want: per hour, count, min, max, avg, last.
		want := map[string][5]float64{}
		for h := range 3 {
			var n, lo, hi, sum, last float64 = 0, math.Inf(1), math.Inf(-1), 0, 0
			for _, ev := range evs[h*3 : h*3+3] {
				c := ev.Payload[resource.PayloadCelsius].(float64)
				n, lo, hi, sum, last = n+1, min(lo, c), max(hi, c), sum+c, c
			}
			want[base.Add(time.Duration(h)*time.Hour).Format(time.RFC3339)] = [5]float64{n, lo, hi, sum / n, last}
		}
		vars := map[string]any{"id": e.a.device.ID, "group": e.a.group.ID, "since": base.Format(time.RFC3339),
			"until": base.Add(24 * time.Hour).Format(time.RFC3339)}
		const q = `query($id: ID!, $group: ID!, $since: Time, $until: Time) {
			device(id: $id) { series(type: TEMPERATURE, since: $since, until: $until, interval: ONE_HOUR) {
				id start count celsius { min max avg last } latitude { last } } }
			deviceGroup(id: $group) { series(type: TEMPERATURE, since: $since, until: $until) { id start count celsius { min max avg last } } } }`
		check := func(t *testing.T, points any, subject string) {
			t.Helper()
			list, _ := points.([]any)
			if len(list) != len(want) {
				t.Fatalf("points %v, want %d", points, len(want))
			}
			for _, it := range list {
				p := it.(map[string]any)
				start := p["start"].(string)
				w, ok := want[start]
				c, _ := p["celsius"].(map[string]any)
				if !ok || p["id"] != subject+":temperature:1h:"+start || p["count"] != w[0] || c["min"] != w[1] || c["max"] != w[2] ||
					math.Abs(c["avg"].(float64)-w[3]) > 1e-9 || c["last"] != w[4] {
					t.Fatalf("point %v, want %v", p, w)
				}
				if l, ok := p["latitude"]; ok && l != nil {
					t.Fatalf("a temperature point has latitude %v", l)
				}
			}
		}
		t.Run("OK", func(t *testing.T) {
			d := e.query(t, e.me(e.a), q, vars).ok(t)
			check(t, get(d, "device.series"), e.a.device.ID)
			check(t, get(d, "deviceGroup.series"), e.a.group.ID)
		})
		t.Run("DeviceToken", func(t *testing.T) {
			const own = `query($id: ID!, $since: Time, $until: Time) { device(id: $id) { series(type: TEMPERATURE, since: $since, until: $until) {
				id start count celsius { min max avg last } } } }`
			d := e.query(t, e.deviceToken(e.a, scopes.DeviceRead, scopes.EventsRead), own, vars).ok(t)
			check(t, get(d, "device.series"), e.a.device.ID)
			e.query(t, e.deviceToken(e.a, scopes.DeviceRead), own, vars).fails(t, "FORBIDDEN")
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			d := e.query(t, e.me(e.b), q, vars)
			if d.code() != "NOT_FOUND" {
				t.Fatalf("customer B: %+v", d.Errors)
			}
		})
		for _, tc := range []struct {
			name, args, field string
		}{
			{"ErrSinceAfterUntil", `since: "2026-05-02T00:00:00Z", until: "2026-05-01T00:00:00Z"`, "until"},
			{"ErrTooManyBuckets", `since: "2026-01-01T00:00:00Z", until: "2026-05-01T00:00:00Z", interval: ONE_MINUTE`, "interval"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := e.query(t, e.me(e.a), `query($id: ID!) { device(id: $id) { series(type: TEMPERATURE, `+tc.args+`) { start } } }`,
					map[string]any{"id": e.a.device.ID}).fails(t, "BAD_USER_INPUT")
				if err.Extensions["field"] != tc.field {
					t.Fatalf("error %+v, want field %s", err, tc.field)
				}
			})
		}
		t.Run("ErrUnknownInterval", func(t *testing.T) {
			e.query(t, e.me(e.a), `query($id: ID!) { device(id: $id) { series(type: TEMPERATURE, interval: TWO_HOURS) { start } } }`,
				map[string]any{"id": e.a.device.ID}).fails(t, "GRAPHQL_VALIDATION_FAILED")
		})
	})
}
