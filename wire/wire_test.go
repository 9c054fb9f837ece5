package wire_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
	"github.com/assetgate/assetgate/wire/wiretest"
)

// eachGraph runs fn on a graph on SQLite, on PostgreSQL, and on PostgreSQL
// with Redis.
func eachGraph(t *testing.T, fn func(t *testing.T, a *wire.App)) {
	for _, d := range storagetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			fn(t, wiretest.MustNew(t, wiretest.Config(), wire.WithDB(storagetest.MustOpenDB(t, d))))
		})
	}
	t.Run("postgres+redis", func(t *testing.T) {
		rc := storagetest.MustOpenRedis(t)
		cfg := wiretest.Config()
		cfg.RedisPrefix = storagetest.MustRedisPrefix(t, rc)
		fn(t, wiretest.MustNew(t, cfg, wire.WithDB(storagetest.MustOpenDB(t, storage.Postgres)), wire.WithRedis(rc)))
	})
}

// mustTenant makes a tenant and returns its device and a context of its
// user.
func mustTenant(t *testing.T, a *wire.App) (*resource.Device, context.Context) {
	t.Helper()
	tn := wiretest.MustTenant(t, a, "Tenant", "user", "correct horse battery")
	me := scopes.NewContext(t.Context(), &scopes.Principal{Kind: scopes.KindUser, CustomerID: tn.Customer.ID, UserID: tn.User.ID,
		ClientID: resource.NewID(), FamilyID: resource.NewFamilyID(), Scopes: []string{scopes.Me}})
	return tn.Device, me
}

// TestNewDeviceDeleteRevokesTokens deletes a device: its device tokens
// stop resolving at once, through the resolver both APIs use.
func TestNewDeviceDeleteRevokesTokens(t *testing.T) {
	eachGraph(t, func(t *testing.T, a *wire.App) {
		d, me := mustTenant(t, a)
		_, token, err := a.DeviceTokens.Create(me, d.ID, resource.DeviceTokenInput{Name: "Gateway"})
		must(t, err)
		if p, err := a.Resolver(t.Context(), token); err != nil || p.DeviceID != d.ID {
			t.Fatalf("the new token resolves to %+v, %v", p, err)
		}
		must(t, a.Devices.Delete(me, d.ID))
		if _, err := a.Resolver(t.Context(), token); !errors.Is(err, scopes.ErrInvalidToken) {
			t.Fatalf("the deleted device's token: %v, want ErrInvalidToken", err)
		}
	})
}

// TestNewStreamCap opens live streams for one principal up to
// MaxStreamsPerPrincipal: the next is refused.
func TestNewStreamCap(t *testing.T) {
	cfg := wiretest.Config()
	cfg.MaxStreamsPerPrincipal = 2
	a := wiretest.MustNew(t, cfg, wire.WithDB(storagetest.MustOpenDB(t, storage.SQLite)))
	d, me := mustTenant(t, a)
	for range 2 {
		st, err := a.Events.Follow(me, d.ID, "")
		must(t, err)
		t.Cleanup(st.Close)
	}
	if _, err := a.Events.Follow(me, d.ID, ""); resource.ErrorCode(err) != resource.ERateLimited {
		t.Fatalf("a third stream: %v, want RateLimited", err)
	}
}

// TestNewOptions checks the options tests build with: a clock, a resolver
// in front of the OAuth server's, and a database that Close leaves open.
func TestNewOptions(t *testing.T) {
	db := storagetest.MustOpenDB(t, storage.SQLite)
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	static := &scopes.Principal{Kind: scopes.KindApplication, CustomerID: resource.NewID(), Scopes: []string{scopes.App}}
	a, err := wire.New(t.Context(), wiretest.Config(), wire.WithDB(db), wire.WithClock(func() time.Time { return at }),
		wire.WithResolver(func(next scopes.Resolver) scopes.Resolver {
			return func(ctx context.Context, token string) (*scopes.Principal, error) {
				if token == "static" {
					return static, nil
				}
				return next(ctx, token)
			}
		}))
	must(t, err)
	t.Run("OKClock", func(t *testing.T) {
		c, err := a.Customers.Create(t.Context(), "Clocked")
		must(t, err)
		if !c.CreatedAt.Equal(at) {
			t.Fatalf("created at %v, want %v", c.CreatedAt, at)
		}
	})
	t.Run("OKResolver", func(t *testing.T) {
		if p, err := a.Resolver(t.Context(), "static"); err != nil || p != static {
			t.Fatalf("static token: %+v, %v", p, err)
		}
		if _, err := a.Resolver(t.Context(), "agat_nope"); !errors.Is(err, scopes.ErrInvalidToken) {
			t.Fatalf("an unknown token reaches the OAuth server's resolver: %v", err)
		}
	})
	t.Run("OKCloseLeavesTheDB", func(t *testing.T) {
		a.Close()
		must(t, db.PingContext(t.Context()))
	})
}

// TestNewOpens builds the graph from URLs alone: the database is created
// and migrated, and closed with the graph.
func TestNewOpens(t *testing.T) {
	cfg := wiretest.Config()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "data", "assetgate.db")
	a, err := wire.New(t.Context(), cfg)
	must(t, err)
	if _, err := a.Customers.Create(t.Context(), "Migrated"); err != nil {
		t.Fatalf("the database is not migrated: %v", err)
	}
	a.Close()
	if err := a.DB.PingContext(t.Context()); err == nil {
		t.Fatal("the database New opened is still open after Close")
	}
}

// TestConfigValidate refuses configurations the graph cannot run on.
func TestConfigValidate(t *testing.T) {
	for name, change := range map[string]func(*wire.Config){
		"ErrShortKey":   func(c *wire.Config) { c.Key = []byte("short") },
		"ErrIssuer":     func(c *wire.Config) { c.Issuer = "ftp://example.com" },
		"ErrStreams":    func(c *wire.Config) { c.MaxStreamsPerPrincipal = 0 },
		"ErrHashWait":   func(c *wire.Config) { c.PasswordHashWait = 0 },
		"ErrGraphQL":    func(c *wire.Config) { c.GraphQL.DepthLimit = 0 },
		"ErrAppCache":   func(c *wire.Config) { c.AppCacheTTL = 0 },
		"ErrHeartbeat":  func(c *wire.Config) { c.StreamHeartbeat = -time.Second },
		"ErrHashConcur": func(c *wire.Config) { c.PasswordHashConcurrency = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := wiretest.Config()
			change(&cfg)
			if err := cfg.Validate(); err == nil {
				t.Fatal("accepted")
			}
			if _, err := wire.New(t.Context(), cfg, wire.WithDB(storagetest.MustOpenDB(t, storage.SQLite))); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		cfg := wiretest.Config()
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// TestGroupCommitMetrics: every committed transaction of the event store's
// group commit reaches the graph's metrics: over 24 concurrent ingests of
// 3 events each, the histograms of requests and events per commit count
// at least one commit and at most one per ingest, and sum to exactly 24
// requests and 72 events.
func TestGroupCommitMetrics(t *testing.T) {
	eachGraph(t, func(t *testing.T, a *wire.App) {
		d, _ := mustTenant(t, a)
		const ingests, per = 24, 3
		var wg sync.WaitGroup
		errs := make(chan error, ingests)
		for i := range ingests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := &resource.EventBatch{CustomerID: d.CustomerID, DeviceID: d.ID}
				for j := range per {
					b.Events = append(b.Events, &resource.Event{CustomerID: d.CustomerID, DeviceID: d.ID, Type: resource.EventType("temperature"),
						OccurredAt: time.Now().UTC().Add(time.Duration(i*per+j) * time.Millisecond), Payload: map[string]any{"celsius": 21.5}})
				}
				_, _, err := a.Stores.Events.CreateEvents(t.Context(), b)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		families, err := a.Metrics.Registry().Gather()
		must(t, err)
		got := map[string]*dto.Histogram{}
		for _, f := range families {
			if len(f.GetMetric()) == 1 && f.GetMetric()[0].GetHistogram() != nil {
				got[f.GetName()] = f.GetMetric()[0].GetHistogram()
			}
		}
		reqs, events := got["assetgate_event_group_commit_requests"], got["assetgate_event_group_commit_events"]
		if reqs == nil || events == nil {
			t.Fatalf("no group commit histograms among %d families", len(families))
		}
		if n := reqs.GetSampleCount(); n < 1 || n > ingests || events.GetSampleCount() != n {
			t.Fatalf("commits counted: %d requests samples, %d events samples (want 1..%d, equal)", n, events.GetSampleCount(), ingests)
		}
		if reqs.GetSampleSum() != ingests || events.GetSampleSum() != ingests*per {
			t.Fatalf("sums: %v requests, %v events; want %d and %d", reqs.GetSampleSum(), events.GetSampleSum(), ingests, ingests*per)
		}
		t.Logf("%d ingests in %d commits", ingests, reqs.GetSampleCount())
	})
}
