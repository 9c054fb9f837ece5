package jsonapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
	"github.com/assetgate/assetgate/wire/wiretest"
)

// testPassword is the password of every user the tests make.
const testPassword = "correct horse battery"

// fixture is an API on a real database with two tenants.
type fixture struct {
	db      *storage.DB
	api     *jsonapi.API
	srv     *httptest.Server
	devices *storage.DeviceStore
	groups  *storage.DeviceGroupStore
	configs *storage.ConfigurationStore
	users   *resource.UserService
	a, b    tenant
	// tokens maps a bearer token of the test resolver to its principal.
	tokens map[string]*scopes.Principal
}

// tenant is one customer with a user, a published configuration, a group
// using it, and a device in the group.
type tenant struct {
	customer *resource.Customer
	user     *resource.User
	config   *resource.Configuration
	group    *resource.DeviceGroup
	device   *resource.Device
	geogroup *resource.Geogroup
	// me, app, basic and dev are bearer tokens of the test resolver.
	me, app, basic, dev string
}

// newFixture serves the API over HTTP on a fresh database of the dialect,
// on the service graph the server runs on, with a map resolver.
func newFixture(t *testing.T, dialect string) *fixture {
	t.Helper()
	db := storagetest.MustOpenDB(t, dialect)
	f := &fixture{db: db, tokens: map[string]*scopes.Principal{}}
	resolve := func(_ context.Context, token string) (*scopes.Principal, error) {
		if p, ok := f.tokens[token]; ok {
			return p, nil
		}
		if token == "store-down" {
			return nil, errors.New("token store: connection refused to 10.0.0.7")
		}
		return nil, scopes.ErrInvalidToken
	}
	a := mustApp(t, db, 0, func(scopes.Resolver) scopes.Resolver { return resolve })
	f.devices, f.groups, f.configs, f.users = a.Stores.Devices, a.Stores.Groups, a.Stores.Configurations, a.Users
	f.api = a.JSONAPI()
	f.a, f.b = f.newTenant(t, a, "a"), f.newTenant(t, a, "b")
	f.srv = httptest.NewServer(f.api)
	t.Cleanup(f.srv.Close)
	return f
}

// mustApp builds the service graph of a fixture on db, as the server
// builds its own, with links under https://api.example.com, the given
// stream heartbeat (0 for the default) and the bearer resolver resolve
// makes of the OAuth server's.
func mustApp(t *testing.T, db *storage.DB, heartbeat time.Duration, resolve func(scopes.Resolver) scopes.Resolver) *wire.App {
	t.Helper()
	cfg := wiretest.Config()
	cfg.StreamHeartbeat = heartbeat
	return wiretest.MustNew(t, cfg, wire.WithDB(db), wire.WithResolver(resolve))
}

func (f *fixture) newTenant(t *testing.T, a *wire.App, name string) tenant {
	t.Helper()
	w := wiretest.MustTenant(t, a, "Tenant "+name, name, testPassword)
	c, u, d := w.Customer, w.User, w.Device
	tn := tenant{customer: c, user: u, config: w.Config, group: w.Group, device: d, geogroup: w.Geogroup,
		me: name + "-me", app: name + "-app", basic: name + "-basic", dev: name + "-device"}
	f.tokens[tn.me] = &scopes.Principal{Kind: scopes.KindUser, CustomerID: c.ID, UserID: u.ID, FamilyID: resource.NewFamilyID(), Scopes: []string{scopes.Me}}
	f.tokens[tn.app] = &scopes.Principal{Kind: scopes.KindApplication, CustomerID: c.ID, Scopes: []string{scopes.App}}
	f.tokens[tn.basic] = &scopes.Principal{Kind: scopes.KindApplication, CustomerID: c.ID, Scopes: []string{scopes.Basic}}
	f.tokens[tn.dev] = &scopes.Principal{Kind: scopes.KindDevice, CustomerID: c.ID, DeviceID: d.ID,
		Permissions: []string{scopes.DeviceRead, scopes.EventsRead}}
	return tn
}

// response is what one request returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with a bearer token ("" for none) and a JSON:API body
// (nil for none) and returns the response.
func (f *fixture) do(t *testing.T, method, path, token string, body any, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			must(t, err)
			rd = bytes.NewReader(raw)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.srv.URL+path, rd)
	must(t, err)
	if body != nil {
		req.Header.Set("Content-Type", jsonapi.MediaType)
	}
	req.Header.Set("Accept", jsonapi.MediaType)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
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

// doc checks the status and media type of a response with a body,
// validates the document and returns it.
func (r response) doc(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d\n%s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != jsonapi.MediaType {
		t.Fatalf("Content-Type %q, want %q", ct, jsonapi.MediaType)
	}
	return validateDocument(t, r.body)
}

// errorOf checks that a response is a JSON:API error document with the
// status and returns its one error object.
func (r response) errorOf(t *testing.T, status int) map[string]any {
	t.Helper()
	doc := r.doc(t, status)
	errs, _ := doc["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("want one error object, got %s", r.body)
	}
	e := errs[0].(map[string]any)
	if e["status"] != strconv.Itoa(status) {
		t.Fatalf("error status %v, want %d", e["status"], status)
	}
	return e
}

// source returns the pointer or parameter of an error object.
func source(e map[string]any, key string) any {
	s, _ := e["source"].(map[string]any)
	if s == nil {
		return nil
	}
	return s[key]
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// resourceDoc builds a request document.
func resourceDoc(typ, id string, attrs map[string]any, rels map[string]any) map[string]any {
	data := map[string]any{"type": typ}
	if id != "" {
		data["id"] = id
	}
	if attrs != nil {
		data["attributes"] = attrs
	}
	if rels != nil {
		data["relationships"] = rels
	}
	return map[string]any{"data": data}
}

// linkage is a to-one relationship member.
func linkage(typ, id string) map[string]any {
	if id == "" {
		return map[string]any{"data": nil}
	}
	return map[string]any{"data": map[string]any{"type": typ, "id": id}}
}

// data returns the primary data of a document as one object.
func data(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	d, ok := doc["data"].(map[string]any)
	if !ok {
		t.Fatalf("primary data is not one resource: %v", doc["data"])
	}
	return d
}

// attrs returns the attributes of a resource object.
func attrs(o map[string]any) map[string]any {
	a, _ := o["attributes"].(map[string]any)
	return a
}
