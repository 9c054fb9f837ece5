package jsonapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
)

// eventFixture serves the whole API, events, device tokens and the event
// stream included, over real HTTP on a real database. Device tokens are
// real (issued by the service, resolved by the OAuth server's resolver);
// the user and application tokens of the tenants are a static map.
type eventFixture struct {
	db      *storage.DB
	srv     *httptest.Server
	devices *storage.DeviceStore
	events  *storage.EventStore
	bus     wire.EventBus
	a, b    eventTenant
	static  map[string]*scopes.Principal
}

// eventTenant is a customer with a user and a device, and its tokens.
type eventTenant struct {
	customer *resource.Customer
	device   *resource.Device
	// me, app and basic are static tokens; writer and reader are device
	// tokens of the device (events:write + device:read, events:read).
	me, app, basic, writer, reader string
}

// newEventFixture serves the API on a fresh database of the dialect with
// the given stream heartbeat; timeouts, when non-zero, are the server's
// read and write timeouts (a stream must outlive them).
func newEventFixture(t *testing.T, dialect string, heartbeat, timeouts time.Duration) *eventFixture {
	t.Helper()
	db := storagetest.MustOpenDB(t, dialect)
	f := &eventFixture{db: db, static: map[string]*scopes.Principal{}}
	a := mustApp(t, db, heartbeat, func(next scopes.Resolver) scopes.Resolver {
		return func(ctx context.Context, token string) (*scopes.Principal, error) {
			if p, ok := f.static[token]; ok {
				return p, nil
			}
			return next(ctx, token)
		}
	})
	f.devices, f.events, f.bus = a.Stores.Devices, a.Stores.Events, a.Bus
	f.srv = httptest.NewUnstartedServer(a.JSONAPI())
	f.srv.Config.ReadTimeout, f.srv.Config.WriteTimeout = timeouts, timeouts
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	f.a = f.newTenant(t, a.Customers, a.Users, a.DeviceTokens, "a")
	f.b = f.newTenant(t, a.Customers, a.Users, a.DeviceTokens, "b")
	return f
}

func (f *eventFixture) newTenant(t *testing.T, customers *resource.CustomerService, users *resource.UserService,
	deviceTokens *resource.DeviceTokenService, name string) eventTenant {
	t.Helper()
	c, err := customers.Create(t.Context(), "Tenant "+name)
	must(t, err)
	u, err := users.Create(t.Context(), c.ID, name+"-"+resource.NewID()+"@example.com", testPassword)
	must(t, err)
	tn := eventTenant{customer: c, device: storagetest.MustCreateDevice(t, f.devices, storagetest.NewDevice(c.ID, time.Now())),
		me: name + "-me", app: name + "-app", basic: name + "-basic"}
	f.static[tn.me] = &scopes.Principal{Kind: scopes.KindUser, CustomerID: c.ID, UserID: u.ID, ClientID: "mobile",
		FamilyID: resource.NewFamilyID(), Scopes: []string{scopes.Me}}
	f.static[tn.app] = &scopes.Principal{Kind: scopes.KindApplication, CustomerID: c.ID, ClientID: "backend", Scopes: []string{scopes.App}}
	f.static[tn.basic] = &scopes.Principal{Kind: scopes.KindApplication, CustomerID: c.ID, ClientID: "partner", Scopes: []string{scopes.Basic}}
	ctx := scopes.NewContext(t.Context(), f.static[tn.me])
	_, tn.writer, err = deviceTokens.Create(ctx, tn.device.ID, resource.DeviceTokenInput{Name: "writer",
		Permissions: []string{scopes.DeviceRead, scopes.EventsWrite}})
	must(t, err)
	_, tn.reader, err = deviceTokens.Create(ctx, tn.device.ID, resource.DeviceTokenInput{Name: "reader",
		Permissions: []string{scopes.EventsRead}})
	must(t, err)
	return tn
}

// do sends a request with a bearer token ("" for none), a JSON:API body
// (nil for none) and extra header pairs.
func (f *eventFixture) do(t *testing.T, method, path, token string, body any, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		must(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.srv.URL+path, rd)
	must(t, err)
	if body != nil {
		req.Header.Set("Content-Type", jsonapi.MediaType)
	}
	req.Header.Set("Accept", jsonapi.MediaType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := f.srv.Client().Do(req)
	must(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	must(t, err)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// eventDoc is the request document of one event (occurred is "" for none).
func eventDoc(typ, occurred string, payload map[string]any) map[string]any {
	attrs := map[string]any{"event_type": typ, "payload": payload}
	if occurred != "" {
		attrs["occurred_at"] = occurred
	}
	return resourceDoc("events", "", attrs, nil)
}

// batchDoc is the request document of a batch.
func batchDoc(items ...map[string]any) map[string]any {
	data := make([]any, len(items))
	for i, it := range items {
		data[i] = it["data"]
	}
	return map[string]any{"data": data}
}

// sseMessage is one block of an event stream: an event (with its id,
// name and data) or a comment.
type sseMessage struct {
	id, event, data, comment, retry string
	hasID                           bool
}

// sseStream is an open event stream read by a goroutine.
type sseStream struct {
	res  *http.Response
	msgs chan sseMessage
	// done is closed when the server ends the stream.
	done chan struct{}
}

// openStream opens GET path with the given headers (pairs); it returns the
// response for a status other than 200 (body read), or the open stream.
func (f *eventFixture) openStream(t *testing.T, path string, header ...string) (*sseStream, response) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+path, nil)
	must(t, err)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := f.srv.Client().Do(req)
	must(t, err)
	if res.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return nil, response{status: res.StatusCode, header: res.Header, body: raw}
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	s := &sseStream{res: res, msgs: make(chan sseMessage, 1024), done: make(chan struct{})}
	t.Cleanup(func() { res.Body.Close() })
	go s.read()
	return s, response{status: res.StatusCode, header: res.Header}
}

// read parses the stream into messages (text/event-stream, WHATWG HTML
// §9.2.6), until it ends.
func (s *sseStream) read() {
	defer close(s.done)
	sc := bufio.NewScanner(s.res.Body)
	var m sseMessage
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(data) > 0 || m.hasID || m.event != "" || m.retry != "" {
				m.data = strings.Join(data, "\n")
				s.msgs <- m
			}
			m, data = sseMessage{}, nil
		case strings.HasPrefix(line, ":"):
			s.msgs <- sseMessage{comment: strings.TrimSpace(line[1:])}
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				m.id, m.hasID = value, true
			case "event":
				m.event = value
			case "data":
				data = append(data, value)
			case "retry":
				m.retry = value
			}
		}
	}
}

// next returns the next message that is not a comment (unless comments is
// true), failing the test when none comes within d.
func (s *sseStream) next(t *testing.T, d time.Duration, comments bool) sseMessage {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-s.msgs:
			if m.comment != "" && !comments {
				continue
			}
			return m
		case <-deadline:
			t.Fatalf("no message within %s", d)
		}
	}
}

// event returns the next event's id and event resource object.
func (s *sseStream) event(t *testing.T) (string, map[string]any) {
	t.Helper()
	m := s.next(t, 5*time.Second, false)
	var obj map[string]any
	if err := json.Unmarshal([]byte(m.data), &obj); err != nil || m.event != "" {
		t.Fatalf("not an event: %+v", m)
	}
	return m.id, obj
}

// ended waits until the server closes the stream.
func (s *sseStream) ended(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(d):
		t.Fatalf("the stream is still open after %s", d)
	}
}
