package jsonapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestDeviceTokenRoutes(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newEventFixture(t, dialect, 0, 0)
			d := storagetest.MustCreateDevice(t, f.devices, storagetest.NewDevice(f.a.customer.ID, time.Now()))
			tokens := "/api/v1/devices/" + d.ID + "/tokens"
			t.Run("Lifecycle", func(t *testing.T) {
				expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
				res := f.do(t, "POST", tokens+"?fields[device-tokens]=name", f.a.me, resourceDoc("device-tokens", "",
					map[string]any{"name": "Gateway", "permissions": []string{"events:write"}, "expires_at": expires}, nil))
				o := data(t, res.doc(t, http.StatusCreated))
				token, _ := attrs(o)["token"].(string)
				if !strings.HasPrefix(token, "agdt_") || attrs(o)["permissions"] != nil {
					t.Fatalf("created %s: the token must survive a sparse fieldset, permissions must not", res.body)
				}
				if res.header.Get("Location") != "https://api.example.com"+tokens+"/"+o["id"].(string) {
					t.Fatalf("Location %s", res.header.Get("Location"))
				}
				ingest := func() int {
					return f.do(t, "POST", "/api/v1/devices/"+d.ID+"/events", token, eventDoc("shock", "", map[string]any{"g": 1})).status
				}
				if s := ingest(); s != http.StatusCreated {
					t.Fatalf("ingest with the new token: %d", s)
				}
				if s := f.do(t, "GET", "/api/v1/devices/"+d.ID, token, nil).status; s != http.StatusForbidden {
					t.Fatalf("read the device without device:read: %d", s)
				}
				// Issue 18 item 13: one token alone, as the list shows it.
				one := f.do(t, "GET", tokens+"/"+o["id"].(string), f.a.me, nil)
				alone := data(t, one.doc(t, http.StatusOK))
				if a := attrs(alone); alone["id"] != o["id"] || a["name"] != "Gateway" || a["expires_at"] != expires ||
					!slices.Equal(toStrings(a["permissions"]), []string{"events:write"}) || strings.Contains(string(one.body), token) {
					t.Fatalf("read alone %s", one.body)
				}
				if _, shown := attrs(alone)["token"]; shown {
					t.Fatalf("read alone shows the token: %s", one.body)
				}
				if self := alone["links"].(map[string]any)["self"]; self != "https://api.example.com"+tokens+"/"+o["id"].(string) {
					t.Fatalf("self link %v", self)
				}
				if s := f.do(t, "GET", tokens+"/"+o["id"].(string), f.a.app, nil).status; s != http.StatusForbidden {
					t.Fatalf("read alone with an app token: %d", s)
				}
				f.do(t, "GET", "/api/v1/devices/"+f.a.device.ID+"/tokens/"+o["id"].(string), f.a.me, nil).errorOf(t, http.StatusNotFound)
				list := f.do(t, "GET", tokens, f.a.me, nil).doc(t, http.StatusOK)
				items := list["data"].([]any)
				if len(items) != 1 || list["meta"].(map[string]any)["total"] != 1.0 {
					t.Fatalf("list %s", list)
				}
				a := attrs(items[0].(map[string]any))
				if _, shown := a["token"]; shown || a["name"] != "Gateway" || a["expires_at"] != expires ||
					!slices.Equal(toStrings(a["permissions"]), []string{"events:write"}) {
					t.Fatalf("listed %v", a)
				}
				if s := f.do(t, "DELETE", tokens+"/"+o["id"].(string), f.a.me, nil).status; s != http.StatusNoContent {
					t.Fatalf("revoke: %d", s)
				}
				if s := ingest(); s != http.StatusUnauthorized {
					t.Fatalf("ingest with a revoked token: %d", s)
				}
				f.do(t, "DELETE", tokens+"/"+o["id"].(string), f.a.me, nil).errorOf(t, http.StatusNotFound)
				f.do(t, "GET", tokens+"/"+o["id"].(string), f.a.me, nil).errorOf(t, http.StatusNotFound)
			})
			t.Run("DefaultsToAllPermissions", func(t *testing.T) {
				o := data(t, f.do(t, "POST", tokens, f.a.me, resourceDoc("device-tokens", "", map[string]any{"name": "All"}, nil)).
					doc(t, http.StatusCreated))
				if got := toStrings(attrs(o)["permissions"]); !slices.Equal(got, []string{"device:read", "events:read", "events:write", "resources:call"}) {
					t.Fatalf("permissions %v", got)
				}
				if attrs(o)["expires_at"] != nil {
					t.Fatalf("expires_at %v, want null", attrs(o)["expires_at"])
				}
			})
			t.Run("ErrInvalid", func(t *testing.T) {
				for name, tc := range map[string]struct {
					attrs   map[string]any
					status  int
					pointer string
				}{
					"Permission": {map[string]any{"name": "x", "permissions": []string{"admin"}}, 422, "/data/attributes/permissions"},
					"Empty":      {map[string]any{"name": "x", "permissions": []string{}}, 422, "/data/attributes/permissions"},
					"Name":       {map[string]any{"name": ""}, 422, "/data/attributes/name"},
					"Past":       {map[string]any{"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, 422, "/data/attributes/expires_at"},
					"BadTime":    {map[string]any{"name": "x", "expires_at": "tomorrow"}, 400, "/data/attributes/expires_at"},
					"Token":      {map[string]any{"name": "x", "token": "agdt_mine"}, 400, "/data/attributes/token"},
				} {
					t.Run(name, func(t *testing.T) {
						e := f.do(t, "POST", tokens, f.a.me, resourceDoc("device-tokens", "", tc.attrs, nil)).errorOf(t, tc.status)
						if source(e, "pointer") != tc.pointer {
							t.Fatalf("pointer %v, want %s", source(e, "pointer"), tc.pointer)
						}
					})
				}
			})
			t.Run("MeOnly", func(t *testing.T) {
				body := resourceDoc("device-tokens", "", map[string]any{"name": "x"}, nil)
				for _, token := range []string{f.a.app, f.a.basic, f.a.writer, f.a.reader} {
					res := f.do(t, "POST", "/api/v1/devices/"+f.a.device.ID+"/tokens", token, body)
					if res.status != http.StatusForbidden || !strings.Contains(res.header.Get("WWW-Authenticate"), `scope="me"`) {
						t.Fatalf("POST as %s: %d %q", token, res.status, res.header.Get("WWW-Authenticate"))
					}
				}
				f.do(t, "GET", "/api/v1/devices/"+f.b.device.ID+"/tokens", f.a.me, nil).errorOf(t, http.StatusNotFound)
			})
			t.Run("DeviceDeleteRevokes", func(t *testing.T) {
				doomed := storagetest.MustCreateDevice(t, f.devices, storagetest.NewDevice(f.a.customer.ID, time.Now()))
				o := data(t, f.do(t, "POST", "/api/v1/devices/"+doomed.ID+"/tokens", f.a.me,
					resourceDoc("device-tokens", "", map[string]any{"name": "x"}, nil)).doc(t, http.StatusCreated))
				token := attrs(o)["token"].(string)
				f.do(t, "GET", "/api/v1/devices/"+doomed.ID, token, nil).doc(t, http.StatusOK)
				if s := f.do(t, "DELETE", "/api/v1/devices/"+doomed.ID, f.a.me, nil).status; s != http.StatusNoContent {
					t.Fatalf("delete device: %d", s)
				}
				f.do(t, "GET", "/api/v1/devices/"+doomed.ID, token, nil).errorOf(t, http.StatusUnauthorized)
			})
		})
	}
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}
