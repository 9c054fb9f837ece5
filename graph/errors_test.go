package graph_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
)

// TestBearer checks the transport's authentication: without a valid token
// an HTTP request is 401 with the RFC 6750 challenge and UNAUTHENTICATED.
func TestBearer(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{})
	post := func(t *testing.T, authorization ...string) gqlResponse {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(`{"query":"{ me { id } }"}`))
		req.Header.Set("Content-Type", "application/json")
		for _, a := range authorization {
			req.Header.Add("Authorization", a)
		}
		return send(t, req)
	}
	for _, c := range []struct {
		name      string
		auth      []string
		status    int
		challenge string
	}{
		{"Missing", nil, 401, `Bearer realm="assetgate"`},
		{"OtherScheme", []string{"Basic dXNlcjpwYXNz"}, 401, `Bearer realm="assetgate"`},
		{"Invalid", []string{"Bearer nope"}, 401, `Bearer realm="assetgate", error="invalid_token"`},
		{"Twice", []string{"Bearer a", "Bearer b"}, 400, `Bearer realm="assetgate", error="invalid_request"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := post(t, c.auth...)
			if r.status != c.status || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), c.challenge) || r.Data != nil {
				t.Fatalf("status %d, challenge %q, data %v", r.status, r.header.Get("WWW-Authenticate"), r.Data)
			}
			r.fails(t, "UNAUTHENTICATED")
		})
	}
	t.Run("OK", func(t *testing.T) {
		post(t, "Bearer "+e.me(e.a)).ok(t)
	})
}

// TestInternalErrors checks that what is not a resource error reaches the
// client as INTERNAL with a generic message, and the log with its cause:
// a failing store, a panicking resolver, a failing token resolver.
func TestInternalErrors(t *testing.T) {
	t.Run("Store", func(t *testing.T) {
		e := newEnv(t, storage.SQLite, options{})
		if _, err := e.db.Exec(`ALTER TABLE configurations RENAME TO configurations_gone`); err != nil {
			t.Fatal(err)
		}
		r := e.query(t, e.me(e.a), `query($id: ID!) { me { id } configuration(id: $id) { id } }`, map[string]any{"id": e.a.config.ID})
		err := r.fails(t, "INTERNAL")
		if err.Message != "Internal error." || strings.Contains(err.Message, "configurations") || get(r.Data, "me.id") != e.a.user.ID {
			t.Fatalf("error %+v, data %v", err, r.Data)
		}
		if logs := e.logs.String(); !strings.Contains(logs, "graphql: internal error") || !strings.Contains(logs, "configurations") {
			t.Fatalf("the cause is not logged: %s", logs)
		}
	})
	t.Run("Panic", func(t *testing.T) {
		e := newEnv(t, storage.SQLite, options{deps: func(d *graph.Deps) { d.Configurations = nil }})
		r := e.query(t, e.me(e.a), `query($id: ID!) { me { id } configuration(id: $id) { id } }`, map[string]any{"id": e.a.config.ID})
		err := r.fails(t, "INTERNAL")
		if err.Message != "Internal error." || get(r.Data, "me.id") != e.a.user.ID {
			t.Fatalf("error %+v, data %v", err, r.Data)
		}
		if logs := e.logs.String(); !strings.Contains(logs, "graphql: panic") || !strings.Contains(logs, "nil pointer") ||
			!strings.Contains(logs, "goroutine") {
			t.Fatalf("the panic is not logged with its stack: %s", logs)
		}
	})
	t.Run("TokenResolver", func(t *testing.T) {
		e := newEnv(t, storage.SQLite, options{deps: func(d *graph.Deps) {
			d.Principal = func(context.Context, string) (*scopes.Principal, error) {
				return nil, errors.New("redis: connection refused")
			}
		}})
		r := e.query(t, "some-token", `{ me { id } }`, nil)
		err := r.fails(t, "INTERNAL")
		if r.status != http.StatusInternalServerError || strings.Contains(err.Message, "redis") {
			t.Fatalf("status %d, error %+v", r.status, err)
		}
		if !strings.Contains(e.logs.String(), "connection refused") {
			t.Fatalf("the cause is not logged: %s", e.logs.String())
		}
	})
}
