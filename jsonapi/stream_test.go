package jsonapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// post ingests a temperature event as the tenant's writer token and
// returns its id.
func (f *eventFixture) post(t *testing.T, tn eventTenant, celsius float64) string {
	t.Helper()
	o := data(t, f.do(t, "POST", "/api/v1/devices/"+tn.device.ID+"/events", tn.writer,
		eventDoc("temperature", "", map[string]any{"celsius": celsius})).doc(t, http.StatusCreated))
	return o["id"].(string)
}

func streamPath(tn eventTenant) string { return "/api/v1/devices/" + tn.device.ID + "/events/stream" }

// tenantStreamPath is the stream of every event of the token's customer.
const tenantStreamPath = "/api/v1/events/stream"

func TestEventStream(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			const heartbeat = 150 * time.Millisecond
			f := newEventFixture(t, dialect, heartbeat, 0)
			t.Run("Receive", func(t *testing.T) {
				before := f.post(t, f.a, 1)
				s, _ := f.openStream(t, streamPath(f.a)+"?authorization="+url.QueryEscape(f.a.reader))
				start := s.next(t, time.Second, false)
				if !start.hasID || start.id != before || start.data != "" {
					t.Fatalf("opening block %+v, want the resume point %s", start, before)
				}
				want := f.post(t, f.a, 2)
				id, obj := s.event(t)
				if id != want || obj["id"] != want || obj["type"] != "events" ||
					attrs(obj)["payload"].(map[string]any)["celsius"] != 2.0 {
					t.Fatalf("event %s: %v, want %s", id, obj, want)
				}
			})
			t.Run("Resume", func(t *testing.T) {
				s, _ := f.openStream(t, streamPath(f.a), "Authorization", "Bearer "+f.a.me)
				s.next(t, time.Second, false)
				first := f.post(t, f.a, 1)
				got, _ := s.event(t)
				if got != first {
					t.Fatalf("live %s, want %s", got, first)
				}
				s.res.Body.Close() // the client goes away
				var missed []string
				for i := range 3 {
					missed = append(missed, f.post(t, f.a, float64(10+i)))
				}
				s, _ = f.openStream(t, streamPath(f.a), "Authorization", "Bearer "+f.a.app, jsonapi.LastEventIDHeader, got)
				if m := s.next(t, time.Second, false); m.id != got {
					t.Fatalf("opening block %+v, want the resume point %s", m, got)
				}
				for _, want := range missed {
					if id, _ := s.event(t); id != want {
						t.Fatalf("resumed with %s, want %s", id, want)
					}
				}
				live := f.post(t, f.a, 20)
				if id, _ := s.event(t); id != live {
					t.Fatalf("live %s after the backlog, want %s", id, live)
				}
				select {
				case m := <-s.msgs:
					if m.comment == "" {
						t.Fatalf("duplicate or stray message %+v", m)
					}
				case <-time.After(2 * heartbeat):
				}
			})
			t.Run("Heartbeat", func(t *testing.T) {
				s, _ := f.openStream(t, streamPath(f.a), "Authorization", "Bearer "+f.a.basic)
				s.next(t, time.Second, false)
				start := time.Now()
				for range 2 {
					if m := s.next(t, 3*heartbeat, true); m.comment != "heartbeat" {
						t.Fatalf("got %+v, want a heartbeat", m)
					}
				}
				if d := time.Since(start); d < heartbeat {
					t.Fatalf("two heartbeats in %s", d)
				}
			})
			t.Run("ClosesAfterRevocation", func(t *testing.T) {
				created := data(t, f.do(t, "POST", "/api/v1/devices/"+f.a.device.ID+"/tokens", f.a.me,
					resourceDoc("device-tokens", "", map[string]any{"name": "viewer", "permissions": []string{"events:read"}}, nil)).
					doc(t, http.StatusCreated))
				token := attrs(created)["token"].(string)
				s, _ := f.openStream(t, streamPath(f.a)+"?authorization="+url.QueryEscape(token))
				s.next(t, time.Second, false)
				f.post(t, f.a, 5)
				s.event(t)
				f.do(t, "DELETE", "/api/v1/devices/"+f.a.device.ID+"/tokens/"+created["id"].(string), f.a.me, nil)
				revoked := time.Now()
				var end sseMessage
				for end.event == "" {
					end = s.next(t, 3*heartbeat, false)
				}
				var body map[string]string
				if err := json.Unmarshal([]byte(end.data), &body); err != nil || end.event != "end" || body["reason"] != "token_revoked" {
					t.Fatalf("final message %+v", end)
				}
				s.ended(t, time.Second)
				if d := time.Since(revoked); d > 2*heartbeat+time.Second {
					t.Fatalf("closed %s after the revocation", d)
				}
				if r, _ := f.openStream(t, streamPath(f.a)+"?authorization="+url.QueryEscape(token)); r != nil {
					t.Fatal("a revoked token opens a stream")
				}
			})
			t.Run("TenantHeartbeatAndRevocation", func(t *testing.T) {
				// The tenant-wide stream beats and re-checks its token as
				// a device's does: a device token's (its own device's
				// events) ends within a heartbeat of its revocation.
				created := data(t, f.do(t, "POST", "/api/v1/devices/"+f.a.device.ID+"/tokens", f.a.me,
					resourceDoc("device-tokens", "", map[string]any{"name": "fleet viewer", "permissions": []string{"events:read"}}, nil)).
					doc(t, http.StatusCreated))
				token := attrs(created)["token"].(string)
				s, _ := f.openStream(t, tenantStreamPath+"?authorization="+url.QueryEscape(token))
				s.next(t, time.Second, false)
				if m := s.next(t, 3*heartbeat, true); m.comment != "heartbeat" {
					t.Fatalf("got %+v, want a heartbeat", m)
				}
				want := f.post(t, f.a, 6)
				if id, _ := s.event(t); id != want {
					t.Fatalf("got %s, want %s", id, want)
				}
				f.do(t, "DELETE", "/api/v1/devices/"+f.a.device.ID+"/tokens/"+created["id"].(string), f.a.me, nil)
				var end sseMessage
				for end.event == "" {
					end = s.next(t, 3*heartbeat, false)
				}
				var body map[string]string
				if err := json.Unmarshal([]byte(end.data), &body); err != nil || end.event != "end" || body["reason"] != "token_revoked" {
					t.Fatalf("final message %+v", end)
				}
				s.ended(t, time.Second)
			})
			t.Run("Errors", func(t *testing.T) {
				other := storagetest.MustCreateDevice(t, f.devices, storagetest.NewDevice(f.a.customer.ID, time.Now()))
				tests := []struct {
					name, path string
					header     []string
					status     int
					source     [2]string
				}{
					{"NoToken", streamPath(f.a), nil, 401, [2]string{}},
					{"TwoTokens", streamPath(f.a) + "?authorization=" + f.a.me, []string{"Authorization", "Bearer " + f.a.me}, 400, [2]string{}},
					{"OtherTenant", streamPath(f.b), []string{"Authorization", "Bearer " + f.a.me}, 404, [2]string{}},
					{"OtherDevice", "/api/v1/devices/" + other.ID + "/events/stream", []string{"Authorization", "Bearer " + f.a.reader}, 404, [2]string{}},
					{"NoEventsRead", streamPath(f.a), []string{"Authorization", "Bearer " + f.a.writer}, 403, [2]string{}},
					{"Accept", streamPath(f.a), []string{"Authorization", "Bearer " + f.a.me, "Accept", "application/json"}, 406, [2]string{"header", "Accept"}},
					{"LastEventID", streamPath(f.a), []string{"Authorization", "Bearer " + f.a.me, jsonapi.LastEventIDHeader, "7"}, 400,
						[2]string{"header", jsonapi.LastEventIDHeader}},
					{"UnknownParameter", streamPath(f.a) + "?since=now", []string{"Authorization", "Bearer " + f.a.me}, 400, [2]string{"parameter", "since"}},
					// The tenant-wide stream answers the same way.
					{"TenantNoToken", tenantStreamPath, nil, 401, [2]string{}},
					{"TenantNoEventsRead", tenantStreamPath, []string{"Authorization", "Bearer " + f.a.writer}, 403, [2]string{}},
					{"TenantAccept", tenantStreamPath, []string{"Authorization", "Bearer " + f.a.me, "Accept", "application/json"}, 406, [2]string{"header", "Accept"}},
					{"TenantLastEventID", tenantStreamPath, []string{"Authorization", "Bearer " + f.a.me, jsonapi.LastEventIDHeader, "7"}, 400,
						[2]string{"header", jsonapi.LastEventIDHeader}},
					{"TenantUnknownParameter", tenantStreamPath + "?filter[device]=x", []string{"Authorization", "Bearer " + f.a.me}, 400,
						[2]string{"parameter", "filter[device]"}},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						s, res := f.openStream(t, tc.path, tc.header...)
						if s != nil {
							t.Fatal("the stream opened")
						}
						e := res.errorOf(t, tc.status)
						if tc.source[0] != "" && source(e, tc.source[0]) != tc.source[1] {
							t.Fatalf("source %v, want %s %s", e["source"], tc.source[0], tc.source[1])
						}
						if tc.status == 401 && !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer ") {
							t.Fatalf("401 without a challenge")
						}
						if tc.status == 403 && !strings.Contains(res.header.Get("WWW-Authenticate"), "insufficient_scope") {
							t.Fatalf("403 without insufficient_scope: %q", res.header.Get("WWW-Authenticate"))
						}
					})
				}
			})
		})
	}
}

// TestEventStreamOutlivesTimeouts checks that a stream lives longer than
// the server's read and write timeouts, and ends with "shutdown" when the
// bus closes.
func TestEventStreamOutlivesTimeouts(t *testing.T) {
	f := newEventFixture(t, "sqlite", 100*time.Millisecond, 300*time.Millisecond)
	s, _ := f.openStream(t, streamPath(f.a), "Authorization", "Bearer "+f.a.me)
	if m := s.next(t, time.Second, false); m.retry == "" || m.hasID {
		t.Fatalf("opening block %+v, want a retry and no id (no events yet)", m)
	}
	time.Sleep(time.Second)
	want := f.post(t, f.a, 7)
	if id, _ := s.event(t); id != want {
		t.Fatalf("got %s, want %s", id, want)
	}
	f.bus.Close()
	var end sseMessage
	for end.event == "" {
		end = s.next(t, time.Second, false)
	}
	if !strings.Contains(end.data, `"shutdown"`) {
		t.Fatalf("final message %+v", end)
	}
	s.ended(t, time.Second)
}
