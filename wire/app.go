package wire

import (
	"context"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/assetgate/assetgate/clientaddr"
	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/metrics"
	"github.com/assetgate/assetgate/mqtt"
	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/tracing"
)

// App is the service graph New builds. Its fields are complete when New
// returns and are never changed afterwards.
type App struct {
	// DB is the database; Redis the Redis client, nil without one.
	DB    *storage.DB
	Redis redis.UniversalClient
	// Migrated names the migrations New applied to the database it opened
	// (none when a test gave it one).
	Migrated []string
	// Stores are the stores the services run on.
	Stores Stores

	Customers      *resource.CustomerService
	Users          *resource.UserService
	Applications   *resource.ApplicationService
	Devices        *resource.DeviceService
	Groups         *resource.DeviceGroupService
	Geogroups      *resource.GeogroupService
	Configurations *resource.ConfigurationService
	Events         *resource.EventService
	// Series computes the telemetry series of devices and groups.
	Series       *resource.SeriesService
	DeviceTokens *resource.DeviceTokenService
	// Grants are the consents users gave applications (GET/DELETE
	// /users/me/grants, me.grants).
	Grants *resource.GrantService
	// DeviceResources calls the resources of connected devices (through
	// MQTT, when there is a listener).
	DeviceResources *resource.DeviceResourceService
	// Bus fans recorded events out to live streams: Redis pub/sub with
	// Redis (every replica's subscribers get every replica's events), in
	// process otherwise.
	Bus EventBus
	// OAuth is the authorization server.
	OAuth *oauth.Server
	// Resolver resolves the bearer tokens of both APIs: the OAuth server's
	// Principal, unless WithResolver replaced it.
	Resolver scopes.Resolver
	// ClientAddr returns the address of the client of a request (the
	// connection's peer, or what Config.TrustedProxies forwarded): the one
	// function the access log, the login throttle and the rate limits use.
	ClientAddr func(r *http.Request) string
	// RateLimits are the quotas of the OAuth endpoints and the APIs,
	// counted in Redis when there is one (shared by every replica), in
	// this process's memory otherwise.
	RateLimits *resource.RateLimits
	// Metrics is the graph's Prometheus registry and metric families: every
	// part of the graph records into it, the pools of DB and Redis are read
	// from it at each scrape. Serve it with Metrics.Handler.
	Metrics *metrics.Metrics
	// MQTT is the MQTT listener for devices, nil unless Config.MQTT names
	// an address. It listens once ListenMQTT is called; Close ends it.
	MQTT *mqtt.Broker

	// sockets are the GraphQL WebSockets of every endpoint of the graph,
	// closed by EndStreams.
	sockets   *graph.Sockets
	cfg       Config
	ownsDB    bool
	ownsRedis bool
}

// Stores are the stores of the graph, for the parts that use one directly
// and for tests that set up state below the services' rules.
type Stores struct {
	Customers *storage.CustomerStore
	Users     *storage.UserStore
	// Applications is the replica's cache in front of the application
	// table (its writes evict the record on every replica).
	Applications   *storage.CachedApplicationStore
	Devices        *storage.DeviceStore
	Groups         *storage.DeviceGroupStore
	Geogroups      *storage.GeogroupStore
	Configurations *storage.ConfigurationStore
	Events         *storage.EventStore
	DeviceTokens   *storage.DeviceTokenStore
	ResourceCalls  *storage.ResourceCallStore
	// Connections keeps devices' MQTT connection states: in Redis when
	// there is one, in process otherwise.
	Connections resource.ConnectionStore
	// ConnectionMirror mirrors whether devices are connected into the
	// database, under each MQTT replica's lease (filter[connected]).
	ConnectionMirror *storage.ConnectionMirror
	// Tokens keeps issued tokens. With Redis it is TieredTokens: refresh
	// and device tokens in the database with copies in Redis, access
	// tokens in Redis only, so a Redis that loses its data costs access
	// tokens (which clients refresh) and nothing else. Without Redis it is
	// SQLTokens.
	Tokens       resource.TokenStore
	TieredTokens *storage.TieredTokenStore // nil without Redis
	// SQLTokens is the token table, whose sweeper also removes the other
	// expired rows of the database.
	SQLTokens *storage.SQLTokenStore
	// Ephemeral keeps codes, sessions and counters: in Redis when there is
	// one, in the database otherwise.
	Ephemeral resource.EphemeralStore
	// OIDC keeps the OpenID Connect signing keys, the login session of each
	// token family and the users' consents, in the database.
	OIDC *storage.OIDCStore
}

// EventBus is a bus that can be closed: closing ends every live stream
// with a final "shutdown" event.
type EventBus interface {
	resource.EventBus
	Close()
}

// build makes the stores and services on a.DB and a.Redis.
func (a *App) build(o options) error {
	cfg, db, rc, now := a.cfg, a.DB, a.Redis, o.now
	s := &a.Stores
	s.Customers, s.Users = storage.NewCustomerStore(db), storage.NewUserStore(db)
	s.Devices, s.Groups = storage.NewDeviceStore(db), storage.NewDeviceGroupStore(db)
	s.Geogroups = storage.NewGeogroupStore(db)
	s.Configurations, s.Events = storage.NewConfigurationStore(db), storage.NewEventStore(db)
	s.DeviceTokens, s.SQLTokens = storage.NewDeviceTokenStore(db), storage.NewSQLTokenStore(db)
	s.Events.ObserveCommits(a.Metrics.GroupCommitted)
	s.OIDC = storage.NewOIDCStore(db)
	s.ResourceCalls = storage.NewResourceCallStore(db)
	s.ConnectionMirror = storage.NewConnectionMirror(db)
	var relay mqtt.Relay
	s.Applications = storage.NewCachedApplicationStore(storage.NewApplicationStore(db), cfg.AppCacheTTL, rc, cfg.RedisPrefix)
	if rc != nil {
		s.TieredTokens = storage.NewTieredTokenStore(s.SQLTokens, storage.NewRedisTokenStore(rc, cfg.RedisPrefix),
			storage.DefaultTokenCacheTTL)
		s.Tokens, s.Ephemeral = s.TieredTokens, storage.NewRedisEphemeralStore(rc, cfg.RedisPrefix)
		a.Bus = storage.NewRedisEventBus(rc, cfg.RedisPrefix, resource.DefaultSubscriberBuffer, cfg.Logger)
		s.Connections, relay = storage.NewRedisConnectionStore(rc, cfg.RedisPrefix), storage.NewRedisRelay(rc, cfg.RedisPrefix)
	} else {
		s.Connections = resource.NewMemoryConnections()
		s.Tokens, s.Ephemeral = s.SQLTokens, storage.NewSQLEphemeralStore(db)
		a.Bus = resource.NewLocalBus(resource.DefaultSubscriberBuffer)
	}

	a.Customers = &resource.CustomerService{Store: s.Customers, Now: now}
	a.Users = &resource.UserService{Store: s.Users, Customers: s.Customers, Key: cfg.Key, Tokens: s.Tokens,
		Hasher:   resource.NewPasswordHasher(cfg.PasswordHashConcurrency, cfg.PasswordHashWait),
		Throttle: loginThrottle(cfg, s.Ephemeral, now, o.observe),
		Metrics:  a.Metrics, Now: now}
	a.Applications = &resource.ApplicationService{Store: s.Applications, Users: s.Users, Tokens: s.Tokens, Now: now}
	// A deleted device's tokens are revoked with it.
	a.DeviceTokens = &resource.DeviceTokenService{Store: s.DeviceTokens, Devices: s.Devices, Tokens: s.Tokens,
		Key: cfg.Key, Now: now}
	// One reader of connection states for the device attributes and the
	// device stats.
	conns := &resource.ConnectionReader{Store: s.Connections, Mirror: s.ConnectionMirror, Now: now}
	a.Devices = &resource.DeviceService{Store: s.Devices, Groups: s.Groups, Configurations: s.Configurations,
		Geogroups: s.Geogroups, DeviceTokens: a.DeviceTokens, Connections: conns, Now: now}
	a.Geogroups = &resource.GeogroupService{Store: s.Geogroups, Now: now}
	a.Groups = &resource.DeviceGroupService{Store: s.Groups, Configurations: s.Configurations, Devices: a.Devices, Now: now}
	a.Configurations = &resource.ConfigurationService{Store: s.Configurations, Now: now}
	a.Events = &resource.EventService{Store: s.Events, Devices: s.Devices, Bus: a.Bus,
		Streams: resource.NewCaps(cfg.MaxStreamsPerPrincipal), Connections: conns, Now: now}
	a.Series = &resource.SeriesService{Store: s.Events, Devices: s.Devices, Groups: s.Groups, Now: now}

	a.ClientAddr = clientaddr.New(cfg.TrustedProxies).Addr
	var limiter resource.RateLimiter = resource.NewMemoryRateLimiter(now)
	if rc != nil {
		limiter = storage.NewRedisRateLimiter(rc, cfg.RedisPrefix, cfg.Logger)
	}
	a.RateLimits = &resource.RateLimits{Limiter: limiter, Quotas: cfg.RateLimits, Clients: cfg.ClientRateLimits,
		Log: cfg.Logger, Observe: o.observe}
	a.OAuth = oauth.New(cfg.oauthConfig(), oauth.Deps{
		Apps: a.Applications, Users: a.Users, Tokens: s.Tokens, Ephemeral: s.Ephemeral, Logger: cfg.Logger, Now: now,
		Keys: s.OIDC, FamilySessions: s.OIDC, Consents: s.OIDC,
		ClientAddr: a.ClientAddr, RateLimits: a.RateLimits,
		Metrics: a.Metrics,
	})
	a.Grants = &resource.GrantService{Consents: s.OIDC, Families: s.OIDC, Tokens: s.Tokens, Apps: s.Applications}
	a.Resolver = a.OAuth.Principal
	if o.resolve != nil {
		a.Resolver = o.resolve(a.OAuth.Principal)
	}
	a.DeviceResources = &resource.DeviceResourceService{Devices: s.Devices, Calls: s.ResourceCalls, Now: now}
	if cfg.MQTT.Enabled() {
		b, err := mqtt.New(cfg.MQTT, mqtt.Deps{Resolver: a.Resolver, Tokens: s.Tokens, Key: cfg.Key, Events: a.Events,
			Connections: s.Connections, Relay: relay, Mirror: s.ConnectionMirror, Logger: cfg.Logger, Now: now,
			OnConnection: a.Metrics.MQTTConnected,
			OnRefused:    func(r mqtt.Refusal) { a.Metrics.MQTTRefused(string(r)) },
			OnMessage:    func(o mqtt.MessageOutcome) { a.Metrics.MQTTMessage(string(o)) }})
		if err != nil {
			return err
		}
		a.MQTT, a.DeviceResources.Caller = b, b
	}
	return nil
}

// Config returns the configuration the graph was built from.
func (a *App) Config() Config { return a.cfg }

// JSONAPI returns the JSON:API handler on the graph's services (see
// jsonapi.New); mount it at jsonapi.BasePath + "/".
func (a *App) JSONAPI() *jsonapi.API {
	return jsonapi.New(jsonapi.Deps{
		Users: a.Users, Applications: a.Applications, Devices: a.Devices, Groups: a.Groups, Geogroups: a.Geogroups,
		Configurations: a.Configurations, Events: a.Events, DeviceTokens: a.DeviceTokens, Grants: a.Grants,
		DeviceResources: a.DeviceResources, Series: a.Series,
		Resolver: a.Resolver, StreamHeartbeat: a.cfg.StreamHeartbeat, Logger: a.cfg.Logger, BaseURL: a.cfg.Issuer,
		Admit:   a.admitToken(resource.LimitJSONAPIToken),
		Metrics: a.Metrics,
	})
}

// GraphQLDeps returns what a GraphQL endpoint runs on: the graph's
// services, its resolver, its logger and its Redis (which keeps the
// persisted queries).
func (a *App) GraphQLDeps() graph.Deps {
	return graph.Deps{
		Users: a.Users, Applications: a.Applications, Devices: a.Devices, Groups: a.Groups, Geogroups: a.Geogroups,
		Configurations: a.Configurations, Events: a.Events, DeviceTokens: a.DeviceTokens, Grants: a.Grants,
		DeviceResources: a.DeviceResources, Series: a.Series,
		Principal: a.Resolver, Logger: a.cfg.Logger, Redis: a.Redis, Metrics: a.Metrics,
		Tracer: tracerOf(a.cfg.Tracing, "github.com/assetgate/assetgate/graph"), Sockets: a.sockets,
		Admit: a.admitToken(resource.LimitGraphQLToken),
	}
}

// admitToken returns the per-token rate limit of an API: each request of
// a token counts on the quota name under the token's family (refreshing
// a token does not start its quota afresh), with the quotas of the
// token's application. The response carries RateLimit-Policy and
// RateLimit.
func (a *App) admitToken(name string) scopes.Admitter {
	return func(ctx context.Context, h http.Header, p *scopes.Principal) error {
		subject := p.FamilyID
		if subject == "" {
			subject = string(p.Kind) + ":" + p.CustomerID + ":" + p.UserID + ":" + p.ClientID + ":" + p.DeviceID
		}
		d, err := a.RateLimits.Take(ctx, name, subject, p.ClientID)
		if policy, state := resource.RateHeaders(d); policy != "" {
			h.Set("RateLimit-Policy", policy)
			h.Set("RateLimit", state)
		}
		return err
	}
}

// GraphQL returns a GraphQL endpoint on the graph with Config.GraphQL
// (see graph.New). Each call makes another endpoint, as another replica
// has, with its own WebSocket caps.
func (a *App) GraphQL() http.Handler { return graph.New(a.GraphQLDeps(), a.cfg.GraphQL) }

// sweepEvery is how often expired rows are swept from the database;
// sweepTimeout bounds each statement of a sweep, whose deletes may take
// longer than a request's call would.
const (
	sweepEvery   = 5 * time.Minute
	sweepTimeout = time.Minute
)

// Start runs the background loops until ctx is done: the application
// cache's invalidation listener (with Redis), the sweeper of expired
// rows (even with Redis: other tables hold expiring rows too), and the
// event partitions and retention (storage.EventRetention).
func (a *App) Start(ctx context.Context) {
	go a.Stores.Applications.Listen(ctx)
	sweeper := storage.NewSQLTokenStore(a.DB.WithTimeout(sweepTimeout))
	go sweeper.RunSweeper(ctx, sweepEvery, func(err error) {
		a.cfg.Logger.Warn("sweeping expired rows", "err", err)
	})
	retention := &storage.EventRetention{DB: a.DB.WithTimeout(sweepTimeout), Log: a.cfg.Logger}
	go retention.Run(ctx, a.cfg.RetentionInterval)
}

// EndStreams ends every live event stream (with a final "shutdown"
// event), so that a graceful shutdown does not wait for them. Later streams
// are refused or end at once.
//
// GraphQL WebSockets are then closed with graph.CloseServiceRestart (1012,
// "service restart"), after their subscriptions completed, waiting up to
// a second for the clients' close handshakes.
func (a *App) EndStreams() {
	if a.Bus != nil {
		a.Bus.Close()
	}
	a.sockets.Close(time.Second)
}

// ListenMQTT opens the MQTT listeners, when there are any (App.MQTT).
func (a *App) ListenMQTT() error {
	if a.MQTT == nil {
		return nil
	}
	return a.MQTT.Listen()
}

// Close ends the MQTT sessions and the live streams, then closes the Redis
// client and the database that New opened (not those options gave it).
func (a *App) Close() {
	if a.MQTT != nil {
		a.MQTT.Close() // before the stores its sessions write through
	}
	a.EndStreams() // before Redis: the Redis bus reads through it
	if a.ownsRedis && a.Redis != nil {
		a.Redis.Close()
	}
	if a.ownsDB && a.DB != nil {
		a.DB.Close()
	}
}

// tracerOf is the tracer of t's provider named name, nil without tracing.
func tracerOf(t *tracing.Tracing, name string) trace.Tracer {
	if tp := t.Provider(); tp != nil {
		return tp.Tracer(name)
	}
	return nil
}

// loginThrottle is the login throttle of cfg on store.
func loginThrottle(cfg Config, store resource.EphemeralStore, now func() time.Time, observe func(resource.LimitEvent)) *resource.LoginThrottle {
	t := &resource.LoginThrottle{Store: store, Key: cfg.Key, Now: now, Log: cfg.Logger, Observe: observe}
	cfg.Login.Apply(t)
	return t
}
