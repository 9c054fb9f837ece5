package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
)

// stalledConfigurations is a configuration store whose reads time out, as
// a store's do when its server does not answer within the deadline.
type stalledConfigurations struct{ resource.ConfigurationStore }

func (stalledConfigurations) FindConfiguration(context.Context, string, string) (*resource.Configuration, error) {
	return nil, fmt.Errorf("find configuration at 10.0.0.7: %w", context.DeadlineExceeded)
}

// TestUnavailable checks that a store's time-out is UNAVAILABLE, answered
// 503 with Retry-After and a message without the cause, which goes to the
// log; the fields that resolved keep their data.
func TestUnavailable(t *testing.T) {
	t.Run("Resolver", func(t *testing.T) {
		e := newEnv(t, storage.SQLite, options{deps: func(d *graph.Deps) {
			d.Configurations = &resource.ConfigurationService{Store: stalledConfigurations{d.Configurations.Store}}
		}})
		r := e.query(t, e.me(e.a), `query($id: ID!) { me { id } configuration(id: $id) { id } }`, map[string]any{"id": e.a.config.ID})
		err := r.fails(t, "UNAVAILABLE")
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
		}
		if strings.Contains(err.Message, "10.0.0.7") || get(r.Data, "me.id") != e.a.user.ID {
			t.Fatalf("error %+v, data %v", err, r.Data)
		}
		if logs := e.logs.String(); !strings.Contains(logs, "graphql: service unavailable") || !strings.Contains(logs, "10.0.0.7") {
			t.Fatalf("the cause is not logged: %s", logs)
		}
	})
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, storage.SQLite, options{})
		r := e.query(t, e.me(e.a), `{ me { id } }`, nil)
		r.ok(t)
		if r.header.Get("Retry-After") != "" {
			t.Fatalf("Retry-After on a 200: %v", r.header)
		}
	})
	t.Run("TokenResolver", func(t *testing.T) {
		e := newEnv(t, storage.SQLite, options{deps: func(d *graph.Deps) {
			d.Principal = func(context.Context, string) (*scopes.Principal, error) {
				return nil, fmt.Errorf("redis 10.0.0.7: %w", os.ErrDeadlineExceeded)
			}
		}})
		r := e.query(t, "some-token", `{ me { id } }`, nil)
		err := r.fails(t, "UNAVAILABLE")
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || strings.Contains(err.Message, "10.0.0.7") {
			t.Fatalf("status %d, Retry-After %q, error %+v", r.status, r.header.Get("Retry-After"), err)
		}
		if !strings.Contains(e.logs.String(), "10.0.0.7") {
			t.Fatalf("the cause is not logged: %s", e.logs.String())
		}
	})
}
