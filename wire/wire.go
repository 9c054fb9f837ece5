// Package wire builds assetgate's whole service graph from a Config: the
// stores on one database (and on Redis, when there is one), the resource
// services, the event bus, the OAuth 2.0 server and the per-principal
// caps. The server, the CLI and every test environment build through New,
// so that all of them run the same graph: no service is completed after it
// is made, and none is left without a dependency the server gives it.
//
// Imports point one way: the packages of the layers below ← wire ← main.
package wire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/metrics"
	"github.com/assetgate/assetgate/mqtt"
	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/tracing"
)

// Config is what the service graph is built from. Start from
// DefaultConfig.
type Config struct {
	// DatabaseURL names the database New opens (and migrates), unless a
	// test gives it one with WithDB: sqlite:PATH or postgres://...
	DatabaseURL string
	// RedisURL names the Redis New connects to, unless WithRedis gives a
	// client; "" is none: tokens, ephemeral values and the event fan-out
	// then stay in the database and the process.
	RedisURL string
	// RedisPrefix starts every key and channel the stores and the bus use
	// in Redis.
	RedisPrefix string
	// Issuer is the service's base URL: the OAuth issuer, and the scheme
	// and authority of JSON:API links.
	Issuer string
	// Key is the server key (at least 32 bytes): tokens, codes, sessions
	// and throttle counters are stored under HMACs made with it.
	Key []byte
	// OAuth tunes the authorization server. Its Issuer and Key are ignored:
	// New gives it the ones above.
	OAuth oauth.Config
	// GraphQL configures the GraphQL endpoints of App.GraphQL.
	GraphQL graph.Config
	// StreamHeartbeat is how often a JSON:API event stream sends a
	// heartbeat and re-checks its token; 0 is the package's default.
	StreamHeartbeat time.Duration
	// PasswordHashConcurrency and PasswordHashWait bound the argon2id work
	// (see resource.NewPasswordHasher).
	PasswordHashConcurrency int
	PasswordHashWait        time.Duration
	// MaxStreamsPerPrincipal bounds the live event streams (SSE streams and
	// GraphQL subscriptions) one principal holds open on this replica.
	MaxStreamsPerPrincipal int
	// DatabaseTimeout bounds every database call (a client-side deadline,
	// so a stalled server cannot hold a request); RedisTimeout every Redis
	// command. Zero keeps the storage package's defaults.
	DatabaseTimeout time.Duration
	RedisTimeout    time.Duration
	// RetentionInterval is how often the events past their customers'
	// retention are swept (storage.DefaultRetentionInterval when zero);
	// partitions are kept at least hourly.
	RetentionInterval time.Duration
	// AppCacheTTL bounds how long a replica uses an application record it
	// read; writes invalidate it on every replica at once through Redis.
	AppCacheTTL time.Duration
	// RateLimits sets quotas by name (resource.DefaultQuotas' names);
	// the others keep their defaults. ClientRateLimits overrides them for
	// one application, by client id.
	RateLimits       map[string]resource.Quota
	ClientRateLimits map[string]map[string]resource.Quota
	// Login tunes the login throttle and lockout (resource.LoginThrottle);
	// zero fields keep its defaults.
	Login resource.LoginLimits
	// TrustedProxies are the reverse proxies whose forwarding headers
	// name the client's address (see package clientaddr); none by default.
	TrustedProxies []netip.Prefix
	// MQTT configures the MQTT listener for devices (App.MQTT); without an
	// address there is none.
	MQTT mqtt.Config
	// Logger receives every part's logs; nil discards them.
	Logger *slog.Logger
	// Tracing, when set, makes spans of SQL statements, Redis commands,
	// GraphQL operations and root fields, and (in the root handler) HTTP
	// requests; nil makes none and costs nothing.
	Tracing *tracing.Tracing
}

// DefaultRedisPrefix starts every key assetgate writes to Redis.
const DefaultRedisPrefix = "ag:"

// DefaultAppCacheTTL is the default of Config.AppCacheTTL.
const DefaultAppCacheTTL = 10 * time.Second

// DefaultConfig returns the production defaults, without a database URL,
// an issuer or a key.
func DefaultConfig() Config {
	return Config{
		RedisPrefix:            DefaultRedisPrefix,
		GraphQL:                graph.DefaultConfig(),
		PasswordHashWait:       resource.DefaultPasswordHashWait,
		MaxStreamsPerPrincipal: resource.DefaultMaxStreamsPerPrincipal,
		AppCacheTTL:            DefaultAppCacheTTL,
		DatabaseTimeout:        storage.DefaultTimeout,
		RedisTimeout:           storage.DefaultRedisTimeout,
	}
}

// Validate reports what makes the configuration unusable.
func (c *Config) Validate() error {
	oc := c.oauthConfig()
	if err := oc.Validate(); err != nil {
		return fmt.Errorf("wire: %w", err)
	}
	if err := c.GraphQL.Validate(); err != nil {
		return err
	}
	switch {
	case c.PasswordHashConcurrency < 0:
		return errors.New("wire: PasswordHashConcurrency must not be negative")
	case c.PasswordHashWait <= 0:
		return errors.New("wire: PasswordHashWait must be positive")
	case c.MaxStreamsPerPrincipal < 1:
		return errors.New("wire: MaxStreamsPerPrincipal must be at least 1")
	case c.AppCacheTTL <= 0:
		return errors.New("wire: AppCacheTTL must be positive")
	case c.StreamHeartbeat < 0:
		return errors.New("wire: StreamHeartbeat must not be negative")
	case c.DatabaseTimeout < 0 || c.RedisTimeout < 0:
		return errors.New("wire: DatabaseTimeout and RedisTimeout must not be negative")
	}
	return nil
}

// oauthConfig is the authorization server's configuration.
func (c *Config) oauthConfig() oauth.Config {
	oc := c.OAuth
	oc.Issuer, oc.Key = c.Issuer, c.Key
	return oc
}

// Option changes how New builds the graph; tests use them.
type Option func(*options)

type options struct {
	db      *storage.DB
	redis   redis.UniversalClient
	resolve func(scopes.Resolver) scopes.Resolver
	now     func() time.Time
	observe func(resource.LimitEvent)
}

// WithLimitObserver makes the rate limits and the login throttle tell
// observe of every refusal and throttling step (for metrics). observe
// must be quick and safe for concurrent use.
func WithLimitObserver(observe func(resource.LimitEvent)) Option {
	return func(o *options) { o.observe = observe }
}

// WithDB builds the graph on db (migrated already) instead of opening
// Config.DatabaseURL; App.Close leaves it open.
func WithDB(db *storage.DB) Option { return func(o *options) { o.db = db } }

// WithRedis builds the graph on rc instead of connecting to
// Config.RedisURL; App.Close leaves it open.
func WithRedis(rc redis.UniversalClient) Option { return func(o *options) { o.redis = rc } }

// WithResolver replaces the bearer token resolver the transports get
// (App.Resolver): wrap receives the OAuth server's and returns the one to
// use, such as a table of test tokens in front of it.
func WithResolver(wrap func(scopes.Resolver) scopes.Resolver) Option {
	return func(o *options) { o.resolve = wrap }
}

// WithClock makes every service and the OAuth server take the time from
// now instead of time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New builds the service graph: it opens (and migrates) the database and
// connects to Redis unless options give them, then makes every store and
// service on them. Release it with App.Close.
func New(ctx context.Context, cfg Config, opts ...Option) (*App, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, DB: o.db, Redis: o.redis}
	if a.DB == nil {
		db, applied, err := openDB(ctx, cfg)
		if err != nil {
			return nil, err
		}
		a.DB, a.ownsDB, a.Migrated = db, true, applied
	}
	if a.Redis == nil && cfg.RedisURL != "" {
		timeout := cfg.RedisTimeout
		if timeout == 0 {
			timeout = storage.DefaultRedisTimeout
		}
		rc, err := storage.OpenRedisTimeout(ctx, cfg.RedisURL, timeout)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.Redis, a.ownsRedis = rc, true
	}
	if tp := cfg.Tracing.Provider(); tp != nil {
		// The graph's own copy of the DB: a DB a test gave keeps no tracer.
		traced := *a.DB
		traced.Tracer = tp.Tracer("github.com/assetgate/assetgate/storage")
		a.DB = &traced
		if a.Redis != nil {
			a.Redis.AddHook(storage.RedisTracing(tp.Tracer("github.com/assetgate/assetgate/storage/redis")))
		}
	}
	a.Metrics = newMetrics(cfg, a.DB, a.Redis)
	a.sockets = graph.NewSockets(a.Metrics)
	o.observe = countLimits(a.Metrics, o.observe)
	if err := a.build(o); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openDB opens and migrates the database of cfg; it returns the names of
// the migrations it applied.
func openDB(ctx context.Context, cfg Config) (*storage.DB, []string, error) {
	db, err := storage.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	if len(applied) > 0 {
		cfg.Logger.Info("migrations applied", "names", applied)
	}
	// Migrations may wait for another replica's; every call after them is
	// bounded.
	if cfg.DatabaseTimeout > 0 {
		db.Timeout = cfg.DatabaseTimeout
	}
	return db, applied, nil
}

// newMetrics makes the graph's metrics: GraphQL operation names bounded by
// the trusted documents when there are some, and the pools of db and rc
// (nil without Redis) read at each scrape.
func newMetrics(cfg Config, db *storage.DB, rc redis.UniversalClient) *metrics.Metrics {
	var names *metrics.NameSet
	if cfg.GraphQL.TrustedDocuments != nil {
		names = metrics.FixedNameSet(graph.OperationNames(cfg.GraphQL.TrustedDocuments)...)
	}
	m := metrics.New(names)
	m.RegisterDB(db.Dialect, db.DB.DB)
	if rc != nil {
		m.RegisterRedis(rc)
	}
	return m
}

// countLimits returns the observer of the rate limits and the login
// throttle: each refusal and throttling step is counted in m, then passed
// to next (nil: nowhere else).
func countLimits(m *metrics.Metrics, next func(resource.LimitEvent)) func(resource.LimitEvent) {
	return func(e resource.LimitEvent) {
		switch e.Kind {
		case "rate_limited":
			protocol, limit, _ := strings.Cut(e.Limit, ".")
			switch protocol {
			case "jsonapi", "graphql":
			default:
				protocol, limit = "oauth", e.Limit
			}
			m.RateLimited(protocol, limit)
		case "login_failed":
			// counted by the login itself (LoginFailed)
		default:
			m.LoginThrottled(e.Kind)
		}
		if next != nil {
			next(e)
		}
	}
}
