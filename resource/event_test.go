package resource_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestValidatePayload(t *testing.T) {
	tests := []struct {
		name    string
		typ     resource.EventType
		payload map[string]any
		field   string // "" when valid
	}{
		{"Location", resource.EventLocation, map[string]any{"latitude": -90.0, "longitude": 180}, ""},
		{"LocationJSONNumber", resource.EventLocation, map[string]any{"latitude": json.Number("45.5"), "longitude": json.Number("-73")}, ""},
		{"LatitudeRange", resource.EventLocation, map[string]any{"latitude": 90.0001, "longitude": 0.0}, "payload.latitude"},
		{"LongitudeRange", resource.EventLocation, map[string]any{"latitude": 0.0, "longitude": -180.5}, "payload.longitude"},
		{"LongitudeMissing", resource.EventLocation, map[string]any{"latitude": 0.0}, "payload.longitude"},
		{"LatitudeString", resource.EventLocation, map[string]any{"latitude": "1", "longitude": 0.0}, "payload.latitude"},
		{"Temperature", resource.EventTemperature, map[string]any{"celsius": -50}, ""},
		{"TemperatureRange", resource.EventTemperature, map[string]any{"celsius": 150.1}, "payload.celsius"},
		{"Shock", resource.EventShock, map[string]any{"g": 200}, ""},
		{"ShockNegative", resource.EventShock, map[string]any{"g": -0.1}, "payload.g"},
		{"Battery", resource.EventBattery, map[string]any{"percent": 0}, ""},
		{"BatteryRange", resource.EventBattery, map[string]any{"percent": 100.5}, "payload.percent"},
		{"BatteryNotNumber", resource.EventBattery, map[string]any{"percent": json.Number("1e999")}, "payload.percent"},
		{"Status", resource.EventStatus, map[string]any{"fault": false}, ""},
		{"StatusNotBool", resource.EventStatus, map[string]any{"fault": "true"}, "payload.fault"},
		{"StatusMissing", resource.EventStatus, map[string]any{}, "payload.fault"},
		{"UnknownKey", resource.EventTemperature, map[string]any{"celsius": 20, "humidity": 40}, "payload.humidity"},
		{"NoPayload", resource.EventShock, nil, "payload"},
		{"UnknownType", "pressure", map[string]any{"hpa": 1013}, "type"},
		// Only assetgate produces geofence events, even well-formed ones.
		{"Geofence", resource.EventGeofence, map[string]any{"transition": "entered", "geogroup_id": resource.NewID()}, "type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resource.ValidatePayload(tc.typ, tc.payload)
			if tc.field != "" {
				requireInvalid(t, err, tc.field)
				return
			}
			must(t, err)
			for k, v := range got {
				switch v.(type) {
				case float64, bool:
				default:
					t.Fatalf("payload.%s = %T, want float64 or bool", k, v)
				}
			}
		})
	}
}

func TestIngest(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		app := as(t, e.a.app(scopes.App))
		t.Run("OK", func(t *testing.T) {
			d := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
			sub, err := e.bus.Subscribe(t.Context(), d.CustomerID, d.ID)
			must(t, err)
			defer sub.Close()
			at := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
			ev, replayed, err := e.events.Ingest(app, d.ID, location(52.5, 13.4, at), "")
			must(t, err)
			if replayed || ev.Type != resource.EventLocation || !ev.OccurredAt.Equal(at) || ev.ReceivedAt.Before(at) ||
				ev.Payload["latitude"] != 52.5 || ev.CustomerID != d.CustomerID {
				t.Fatalf("ingested %+v (replayed %v)", ev, replayed)
			}
			if got := <-sub.Events(); got.ID != ev.ID {
				t.Fatalf("published %s, want %s", got.ID, ev.ID)
			}
			got, err := e.stores.devices.FindDevice(t.Context(), d.CustomerID, d.ID)
			must(t, err)
			if *got.Latitude != 52.5 || *got.Longitude != 13.4 || !got.LastEventAt.Equal(at) {
				t.Fatalf("device after ingest: %+v", got)
			}
		})
		t.Run("OccurredAtDefaultsToNow", func(t *testing.T) {
			before := time.Now().UTC().Add(-time.Millisecond)
			ev, _, err := e.events.Ingest(app, e.a.device.ID, temperature(20), "")
			must(t, err)
			if ev.OccurredAt.Before(before) || !ev.OccurredAt.Equal(ev.ReceivedAt) {
				t.Fatalf("occurred_at %s, received_at %s", ev.OccurredAt, ev.ReceivedAt)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			for field, in := range map[string]resource.EventInput{
				"type":             {Type: "pressure", Payload: map[string]any{}},
				"payload.celsius":  {Type: resource.EventTemperature, Payload: map[string]any{"celsius": 151}},
				"payload.humidity": {Type: resource.EventTemperature, Payload: map[string]any{"celsius": 1, "humidity": 2}},
				"occurred_at":      {Type: resource.EventShock, OccurredAt: time.Now().Add(time.Hour), Payload: map[string]any{"g": 1}},
			} {
				_, _, err := e.events.Ingest(app, e.a.device.ID, in, "")
				requireInvalid(t, err, field)
			}
			_, _, err := e.events.Ingest(app, e.a.device.ID, temperature(1), "has space")
			requireInvalid(t, err, "idempotency_key")
		})
		t.Run("DeviceTokenOwnDeviceOnly", func(t *testing.T) {
			writer := as(t, e.a.deviceToken(scopes.EventsWrite))
			_, _, err := e.events.Ingest(writer, e.a.device.ID, temperature(20), "")
			must(t, err)
			other := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
			_, _, err = e.events.Ingest(writer, other.ID, temperature(20), "")
			requireCode(t, err, resource.ENotFound)
			requireEqual(t, len(storedEvents(t, e, other)), 0)
			theirs, _, err := e.events.Ingest(app, other.ID, temperature(20), "")
			must(t, err)
			_, err = e.events.Find(as(t, e.a.deviceToken(scopes.EventsRead)), theirs.ID)
			requireCode(t, err, resource.ENotFound)
			_, err = e.events.Find(as(t, e.b.app(scopes.Basic)), theirs.ID)
			requireCode(t, err, resource.ENotFound)
			_, err = e.events.Find(as(t, e.a.app(scopes.Basic)), theirs.ID)
			must(t, err)
		})
		t.Run("TenantIsolation", func(t *testing.T) {
			b := as(t, e.b.app(scopes.App, scopes.Basic))
			_, _, err := e.events.Ingest(b, e.a.device.ID, temperature(20), "")
			requireCode(t, err, resource.ENotFound)
			_, err = e.events.ListForDevice(b, e.a.device.ID, eventQuery{})
			requireCode(t, err, resource.ENotFound)
			_, err = e.events.Stats(b, e.a.device.ID)
			requireCode(t, err, resource.ENotFound)
			_, err = e.events.Follow(b, e.a.device.ID, "")
			requireCode(t, err, resource.ENotFound)
			list, err := e.events.List(b, eventQuery{Filter: resource.EventListFilter{Device: []string{e.a.device.ID}}})
			must(t, err)
			requireEqual(t, list.Total, 0)
		})
	})
}

func TestIngestIdempotency(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		writer := as(t, e.a.deviceToken(scopes.EventsWrite))
		t.Run("ConcurrentRetries", func(t *testing.T) {
			d := e.a.device
			before := len(storedEvents(t, e, d))
			const n = 10
			var wg sync.WaitGroup
			ids, replays := make([]string, n), make([]bool, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					ev, replayed, err := e.events.Ingest(writer, d.ID, temperature(22.5), "retry-1")
					errs[i], replays[i] = err, replayed
					if err == nil {
						ids[i] = ev.ID
					}
				})
			}
			wg.Wait()
			fresh := 0
			for i := range n {
				must(t, errs[i])
				requireEqual(t, ids[i], ids[0])
				if !replays[i] {
					fresh++
				}
			}
			requireEqual(t, fresh, 1)
			requireEqual(t, len(storedEvents(t, e, d)), before+1)
		})
		t.Run("ErrConflict", func(t *testing.T) {
			_, _, err := e.events.Ingest(writer, e.a.device.ID, temperature(10), "retry-2")
			must(t, err)
			_, _, err = e.events.Ingest(writer, e.a.device.ID, temperature(11), "retry-2")
			requireCode(t, err, resource.EConflict)
			requireEqual(t, resource.ErrorField(err), "idempotency_key")
			// A batch is another request, even of the same event.
			_, _, err = e.events.IngestBatch(writer, e.a.device.ID, []resource.EventInput{temperature(10)}, "retry-2")
			requireCode(t, err, resource.EConflict)
		})
		t.Run("BatchReplay", func(t *testing.T) {
			in := []resource.EventInput{temperature(1), temperature(2), temperature(3)}
			first, replayed, err := e.events.IngestBatch(writer, e.a.device.ID, in, "batch-1")
			must(t, err)
			requireEqual(t, replayed, false)
			again, replayed, err := e.events.IngestBatch(writer, e.a.device.ID, in, "batch-1")
			must(t, err)
			requireEqual(t, replayed, true)
			for i := range first {
				requireEqual(t, again[i].ID, first[i].ID)
				requireEqual(t, again[i].OccurredAt, first[i].OccurredAt)
			}
		})
	})
}

func TestIngestBatch(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		app := as(t, e.a.app(scopes.App))
		t.Run("AllOrNothing", func(t *testing.T) {
			d := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
			now := time.Now()
			in := []resource.EventInput{temperature(1), location(1, 2, now), temperature(3), location(91, 2, now), temperature(5)}
			_, _, err := e.events.IngestBatch(app, d.ID, in, "")
			requireInvalid(t, err, "[3].payload.latitude")
			i, field, ok := resource.SplitBatchField(resource.ErrorField(err))
			if !ok || i != 3 || field != "payload.latitude" {
				t.Fatalf("SplitBatchField = %d, %q, %v", i, field, ok)
			}
			requireEqual(t, len(storedEvents(t, e, d)), 0)
			got, err := e.stores.devices.FindDevice(t.Context(), d.CustomerID, d.ID)
			must(t, err)
			requireEqual(t, got.LastEventAt, (*time.Time)(nil))
			in[3] = location(89, 2, now)
			events, _, err := e.events.IngestBatch(app, d.ID, in, "")
			must(t, err)
			requireEqual(t, len(events), 5)
			requireEqual(t, len(storedEvents(t, e, d)), 5)
		})
		t.Run("ErrInvalidSize", func(t *testing.T) {
			_, _, err := e.events.IngestBatch(app, e.a.device.ID, nil, "")
			requireInvalid(t, err, "data")
			_, _, err = e.events.IngestBatch(app, e.a.device.ID, make([]resource.EventInput, resource.MaxBatchEvents+1), "")
			requireInvalid(t, err, "data")
		})
	})
}

func TestEventList(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		app := as(t, e.a.app(scopes.App))
		other := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		for i, d := range []*resource.Device{e.a.device, other, e.a.device} {
			_, _, err := e.events.Ingest(app, d.ID, location(float64(i), 0, base.Add(time.Duration(i)*time.Minute)), "")
			must(t, err)
		}
		_, _, err := e.events.Ingest(app, other.ID, temperature(30), "")
		must(t, err)
		t.Run("DefaultNewestFirst", func(t *testing.T) {
			list, err := e.events.List(app, eventQuery{})
			must(t, err)
			requireEqual(t, list.Total, 4)
			requireEqual(t, list.Events[0].Type, resource.EventTemperature)
			requireEqual(t, list.Page, resource.Page{Number: 1, Size: resource.DefaultPageSize})
		})
		t.Run("Filters", func(t *testing.T) {
			list, err := e.events.List(app, eventQuery{
				Filter: resource.EventListFilter{Device: []string{other.ID, e.a.device.ID}, Type: []string{"location"},
					Since: ref(base.Add(time.Minute)), Until: ref(base.Add(time.Hour))},
				Sort: []resource.SortField{{Field: "occurred_at"}}})
			must(t, err)
			requireEqual(t, list.Total, 2)
			requireEqual(t, []string{list.Events[0].DeviceID, list.Events[1].DeviceID}, []string{other.ID, e.a.device.ID})
		})
		t.Run("ForDevice", func(t *testing.T) {
			list, err := e.events.ListForDevice(app, other.ID, eventQuery{Page: resource.Page{Size: 1}})
			must(t, err)
			requireEqual(t, list.Total, 2)
			requireEqual(t, len(list.Events), 1)
			_, err = e.events.ListForDevice(app, other.ID, eventQuery{Filter: resource.EventListFilter{Device: []string{other.ID}}})
			requireInvalid(t, err, "filter.device")
		})
		t.Run("DeviceTokenSeesOwnDevice", func(t *testing.T) {
			reader := as(t, e.a.deviceToken(scopes.EventsRead))
			list, err := e.events.List(reader, eventQuery{})
			must(t, err)
			requireEqual(t, list.Total, 2)
			list, err = e.events.List(reader, eventQuery{Filter: resource.EventListFilter{Device: []string{other.ID}}})
			must(t, err)
			requireEqual(t, list.Total, 0)
			_, err = e.events.ListForDevice(reader, other.ID, eventQuery{})
			requireCode(t, err, resource.ENotFound)
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			for param, q := range map[string]eventQuery{
				"filter.device": {Filter: resource.EventListFilter{Device: []string{"not-an-id"}}},
				"filter.type":   {Filter: resource.EventListFilter{Type: []string{"location", "pressure"}}},
				"filter.until":  {Filter: resource.EventListFilter{Since: ref(base), Until: ref(base)}},
				"sort":          {Sort: []resource.SortField{{Field: "type"}}},
				"page.size":     {Page: resource.Page{Size: resource.MaxPageSize + 1}},
			} {
				_, err := e.events.List(app, q)
				requireInvalid(t, err, param)
			}
		})
		t.Run("Stats", func(t *testing.T) {
			_, _, err := e.events.Ingest(app, other.ID, location(1, 1, base.Add(-48*time.Hour)), "")
			must(t, err)
			_, _, err = e.events.Ingest(app, other.ID, resource.EventInput{Type: resource.EventStatus, OccurredAt: base.Add(2 * time.Minute),
				Payload: map[string]any{"fault": true}}, "")
			must(t, err)
			st, err := e.events.Stats(as(t, e.a.me()), other.ID)
			must(t, err)
			last := time.Now().UTC()
			if st.LastEventAt == nil || st.LastEventAt.After(last) || st.LastEventAt.Before(base) {
				t.Fatalf("last event at %v", st.LastEventAt)
			}
			// Never connected over MQTT: last seen is the last event.
			if st.LastSeenAt == nil || !st.LastSeenAt.Equal(*st.LastEventAt) {
				t.Fatalf("last seen at %v, want the last event %v", st.LastSeenAt, st.LastEventAt)
			}
			st.LastEventAt, st.LastSeenAt = nil, nil
			requireEqual(t, st, &resource.DeviceStats{DeviceID: other.ID, EventsLast24h: 3, TotalEvents: 4,
				Latitude: float(1), Longitude: float(0), Fault: true})
		})
	})
}

// requireEqual fails unless got deeply equals want.
func requireEqual[T any](tb testing.TB, got, want T) {
	tb.Helper()
	if g, w := jsonOf(got), jsonOf(want); g != w {
		tb.Fatalf("got  %s\nwant %s", g, w)
	}
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
