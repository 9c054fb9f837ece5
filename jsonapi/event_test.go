package jsonapi_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestEventIngest(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newEventFixture(t, dialect, 0, 0)
			path := "/api/v1/devices/" + f.a.device.ID + "/events"
			// An hour ago: within the retention.
			at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339)
			t.Run("OK", func(t *testing.T) {
				res := f.do(t, "POST", path, f.a.writer, eventDoc("location", at,
					map[string]any{"latitude": 52.52, "longitude": 13.405}))
				o := data(t, res.doc(t, http.StatusCreated))
				a := attrs(o)
				if a["event_type"] != "location" || a["occurred_at"] != at ||
					a["payload"].(map[string]any)["latitude"] != 52.52 || res.header.Get("Location") != "https://api.example.com/api/v1/events/"+o["id"].(string) {
					t.Fatalf("created %s (Location %s)", res.body, res.header.Get("Location"))
				}
				got := attrs(data(t, f.do(t, "GET", "/api/v1/events/"+o["id"].(string), f.a.me, nil).doc(t, http.StatusOK)))
				if got["received_at"] != a["received_at"] {
					t.Fatalf("read back %v, created %v", got, a)
				}
				dev := attrs(data(t, f.do(t, "GET", "/api/v1/devices/"+f.a.device.ID, f.a.writer, nil).doc(t, http.StatusOK)))
				if dev["latitude"] != 52.52 || dev["last_event_at"] != at {
					t.Fatalf("device after ingest: %v", dev)
				}
			})
			t.Run("ErrInvalid", func(t *testing.T) {
				tests := []struct {
					name    string
					body    any
					status  int
					pointer string
				}{
					{"Latitude", eventDoc("location", "", map[string]any{"latitude": 91, "longitude": 0}), 422, "/data/attributes/payload/latitude"},
					{"UnknownKey", eventDoc("battery", "", map[string]any{"percent": 5, "volts": 3.7}), 422, "/data/attributes/payload/volts"},
					{"UnknownType", eventDoc("pressure", "", map[string]any{}), 422, "/data/attributes/event_type"},
					{"Future", eventDoc("shock", time.Now().Add(time.Hour).Format(time.RFC3339), map[string]any{"g": 1}), 422, "/data/attributes/occurred_at"},
					{"PayloadNotObject", eventDoc("shock", "", nil), 400, "/data/attributes/payload"},
					{"BadTime", eventDoc("shock", "yesterday", map[string]any{"g": 1}), 400, "/data/attributes/occurred_at"},
					{"UnknownAttribute", resourceDoc("events", "", map[string]any{"event_type": "shock", "payload": map[string]any{"g": 1}, "x": 1}, nil), 400, "/data/attributes/x"},
					{"ClientID", resourceDoc("events", "x", map[string]any{"event_type": "shock", "payload": map[string]any{"g": 1}}, nil), 403, "/data/id"},
					{"WrongType", resourceDoc("devices", "", map[string]any{"event_type": "shock", "payload": map[string]any{"g": 1}}, nil), 409, "/data/type"},
					{"EmptyBatch", map[string]any{"data": []any{}}, 422, "/data"},
					// Older than the customer's retention (90 days).
					{"PastRetention", eventDoc("shock", time.Now().Add(-91*24*time.Hour).Format(time.RFC3339), map[string]any{"g": 1}), 422, "/data/attributes/occurred_at"},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						e := f.do(t, "POST", path, f.a.app, tc.body).errorOf(t, tc.status)
						if source(e, "pointer") != tc.pointer {
							t.Fatalf("pointer %v, want %s", source(e, "pointer"), tc.pointer)
						}
					})
				}
			})
			t.Run("Batch", func(t *testing.T) {
				d := storagetest.MustCreateDevice(t, f.devices, storagetest.NewDevice(f.a.customer.ID, time.Now()))
				p := "/api/v1/devices/" + d.ID + "/events"
				ok := eventDoc("temperature", "", map[string]any{"celsius": 20})
				bad := eventDoc("location", "", map[string]any{"latitude": 45, "longitude": 181})
				e := f.do(t, "POST", p, f.a.app, batchDoc(ok, ok, ok, bad, ok)).errorOf(t, 422)
				if source(e, "pointer") != "/data/3/attributes/payload/longitude" {
					t.Fatalf("pointer %v", source(e, "pointer"))
				}
				old := eventDoc("temperature", time.Now().Add(-100*24*time.Hour).Format(time.RFC3339), map[string]any{"celsius": 20})
				e = f.do(t, "POST", p, f.a.app, batchDoc(ok, old)).errorOf(t, 422)
				if source(e, "pointer") != "/data/1/attributes/occurred_at" || !strings.Contains(e["detail"].(string), "retention of 90 days") {
					t.Fatalf("an event past retention: %v", e)
				}
				e = f.do(t, "POST", p, f.a.app, batchDoc(ok, map[string]any{"data": map[string]any{"type": "events"}})).errorOf(t, 400)
				if source(e, "pointer") != "/data/1/attributes" {
					t.Fatalf("pointer %v", source(e, "pointer"))
				}
				list := f.do(t, "GET", p, f.a.app, nil).doc(t, http.StatusOK)
				if list["meta"].(map[string]any)["total"] != 0.0 {
					t.Fatalf("a refused batch stored events: %s", list)
				}
				doc := f.do(t, "POST", p, f.a.app, batchDoc(ok, ok, ok)).doc(t, http.StatusCreated)
				if n := len(doc["data"].([]any)); n != 3 {
					t.Fatalf("%d events created", n)
				}
			})
			t.Run("Idempotency", func(t *testing.T) {
				body := eventDoc("temperature", "", map[string]any{"celsius": 21.5})
				const n = 10
				res := make([]response, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() { res[i] = f.do(t, "POST", path, f.a.writer, body, "Idempotency-Key", "boot-42") })
				}
				wg.Wait()
				replays, id := 0, ""
				for _, r := range res {
					o := data(t, r.doc(t, http.StatusCreated))
					if id == "" {
						id = o["id"].(string)
					}
					if o["id"] != id {
						t.Fatalf("ids %s and %s for one request", id, o["id"])
					}
					if r.header.Get("Idempotent-Replayed") == "true" {
						replays++
					}
				}
				if replays != n-1 {
					t.Fatalf("%d replays, want %d", replays, n-1)
				}
				list := f.do(t, "GET", path+"?filter[type]=temperature&filter[since]=2000-01-01T00:00:00Z", f.a.app, nil).doc(t, http.StatusOK)
				matches := 0
				for _, o := range list["data"].([]any) {
					if o.(map[string]any)["id"] == id {
						matches++
					}
				}
				if matches != 1 {
					t.Fatalf("event %s listed %d times", id, matches)
				}
				e := f.do(t, "POST", path, f.a.writer, eventDoc("temperature", "", map[string]any{"celsius": 22}),
					"Idempotency-Key", "boot-42").errorOf(t, http.StatusConflict)
				if source(e, "header") != "Idempotency-Key" {
					t.Fatalf("409 source %v", e["source"])
				}
				e = f.do(t, "POST", path, f.a.writer, body, "Idempotency-Key", "two words").errorOf(t, http.StatusBadRequest)
				if source(e, "header") != "Idempotency-Key" {
					t.Fatalf("400 source %v", e["source"])
				}
			})
			t.Run("Scopes", func(t *testing.T) {
				body := eventDoc("shock", "", map[string]any{"g": 2})
				for token, status := range map[string]int{f.a.me: 403, f.a.basic: 403, f.a.reader: 403, f.a.app: 201, f.a.writer: 201, "": 401} {
					if got := f.do(t, "POST", path, token, body).status; got != status {
						t.Errorf("POST as %q = %d, want %d", token, got, status)
					}
				}
				other := storagetest.MustCreateDevice(t, f.devices, storagetest.NewDevice(f.a.customer.ID, time.Now()))
				f.do(t, "POST", "/api/v1/devices/"+other.ID+"/events", f.a.writer, body).errorOf(t, http.StatusNotFound)
				f.do(t, "POST", "/api/v1/devices/"+f.b.device.ID+"/events", f.a.app, body).errorOf(t, http.StatusNotFound)
				f.do(t, "GET", "/api/v1/devices/"+f.b.device.ID+"/stats", f.a.app, nil).errorOf(t, http.StatusNotFound)
			})
		})
	}
}

func TestEventLists(t *testing.T) {
	f := newEventFixture(t, "sqlite", 0, 0)
	// Two days ago: within the retention (events older than it are
	// refused), outside the stats' last 24 hours.
	base := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Minute)
	third := base.Add(2 * time.Minute).Format(time.RFC3339)
	for i, typ := range []string{"location", "temperature", "status"} {
		payload := map[string]any{"location": map[string]any{"latitude": 1, "longitude": 2},
			"temperature": map[string]any{"celsius": 3}, "status": map[string]any{"fault": true}}[typ]
		f.do(t, "POST", "/api/v1/devices/"+f.a.device.ID+"/events", f.a.app,
			eventDoc(typ, base.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), payload.(map[string]any))).doc(t, http.StatusCreated)
	}
	t.Run("Events", func(t *testing.T) {
		doc := f.do(t, "GET", "/api/v1/events?filter[type]=location,status&sort=occurred_at&page[size]=1", f.a.basic, nil).doc(t, http.StatusOK)
		if doc["meta"].(map[string]any)["total"] != 2.0 || attrs(doc["data"].([]any)[0].(map[string]any))["event_type"] != "location" {
			t.Fatalf("got %s", doc)
		}
		if doc["links"].(map[string]any)["next"] == nil {
			t.Fatalf("no next link: %s", doc)
		}
	})
	t.Run("DeviceEvents", func(t *testing.T) {
		doc := f.do(t, "GET", "/api/v1/devices/"+f.a.device.ID+"/events?filter[until]="+third, f.a.reader, nil).doc(t, http.StatusOK)
		list := doc["data"].([]any)
		if len(list) != 2 || attrs(list[0].(map[string]any))["event_type"] != "temperature" {
			t.Fatalf("got %s", doc)
		}
	})
	t.Run("Stats", func(t *testing.T) {
		o := data(t, f.do(t, "GET", "/api/v1/devices/"+f.a.device.ID+"/stats", f.a.writer, nil).doc(t, http.StatusOK))
		a := attrs(o)
		if o["type"] != "device-stats" || o["id"] != f.a.device.ID || a["total_events"] != 3.0 || a["events_last_24h"] != 0.0 ||
			a["fault"] != true || a["latitude"] != 1.0 || a["last_event_at"] != third {
			t.Fatalf("stats %v", o)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for q, param := range map[string]string{
			"filter[since]=soon":  "filter[since]",
			"filter[nope]=1":      "filter[nope]",
			"sort=received_at":    "sort",
			"filter[device]=oops": "filter[device]",
		} {
			e := f.do(t, "GET", "/api/v1/events?"+q, f.a.app, nil).errorOf(t, http.StatusBadRequest)
			if source(e, "parameter") != param {
				t.Errorf("%s: parameter %v, want %s", q, source(e, "parameter"), param)
			}
		}
	})
}
