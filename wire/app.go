package wire

import (
	"context"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/mqtt"
	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
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
	Configurations *resource.ConfigurationService
	Events         *resource.EventService
	DeviceTokens   *resource.DeviceTokenService
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
	// MQTT is the MQTT listener for devices, nil unless Config.MQTT names
	// an address. It listens once ListenMQTT is called; Close ends it.
	MQTT *mqtt.Broker

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
	Configurations *storage.ConfigurationStore
	Events         *storage.EventStore
	DeviceTokens   *storage.DeviceTokenStore
	ResourceCalls  *storage.ResourceCallStore
	// Connections keeps devices' MQTT connection states: in Redis when
	// there is one, in process otherwise.
	Connections resource.ConnectionStore
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
	s.Configurations, s.Events = storage.NewConfigurationStore(db), storage.NewEventStore(db)
	s.DeviceTokens, s.SQLTokens = storage.NewDeviceTokenStore(db), storage.NewSQLTokenStore(db)
	s.ResourceCalls = storage.NewResourceCallStore(db)
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
		Throttle: &resource.LoginThrottle{Store: s.Ephemeral, Key: cfg.Key, Now: now}, Now: now}
	a.Applications = &resource.ApplicationService{Store: s.Applications, Users: s.Users, Tokens: s.Tokens, Now: now}
	// A deleted device's tokens are revoked with it.
	a.DeviceTokens = &resource.DeviceTokenService{Store: s.DeviceTokens, Devices: s.Devices, Tokens: s.Tokens,
		Key: cfg.Key, Now: now}
	a.Devices = &resource.DeviceService{Store: s.Devices, Groups: s.Groups, Configurations: s.Configurations,
		DeviceTokens: a.DeviceTokens, Now: now}
	a.Groups = &resource.DeviceGroupService{Store: s.Groups, Configurations: s.Configurations, Devices: a.Devices, Now: now}
	a.Configurations = &resource.ConfigurationService{Store: s.Configurations, Now: now}
	a.Events = &resource.EventService{Store: s.Events, Devices: s.Devices, Bus: a.Bus,
		Streams: resource.NewCaps(cfg.MaxStreamsPerPrincipal), Connections: s.Connections, Now: now}

	a.OAuth = oauth.New(cfg.oauthConfig(), oauth.Deps{
		Apps: a.Applications, Users: a.Users, Tokens: s.Tokens, Ephemeral: s.Ephemeral, Logger: cfg.Logger, Now: now,
	})
	a.Resolver = a.OAuth.Principal
	if o.resolve != nil {
		a.Resolver = o.resolve(a.OAuth.Principal)
	}
	a.DeviceResources = &resource.DeviceResourceService{Devices: s.Devices, Calls: s.ResourceCalls, Now: now}
	if cfg.MQTT.Enabled() {
		b, err := mqtt.New(cfg.MQTT, mqtt.Deps{Resolver: a.Resolver, Tokens: s.Tokens, Key: cfg.Key, Events: a.Events,
			Connections: s.Connections, Relay: relay, Logger: cfg.Logger, Now: now})
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
		Users: a.Users, Applications: a.Applications, Devices: a.Devices, Groups: a.Groups,
		Configurations: a.Configurations, Events: a.Events, DeviceTokens: a.DeviceTokens, DeviceResources: a.DeviceResources,
		Resolver: a.Resolver, StreamHeartbeat: a.cfg.StreamHeartbeat, Logger: a.cfg.Logger, BaseURL: a.cfg.Issuer,
	})
}

// GraphQLDeps returns what a GraphQL endpoint runs on: the graph's
// services, its resolver, its logger and its Redis (which keeps the
// persisted queries).
func (a *App) GraphQLDeps() graph.Deps {
	return graph.Deps{
		Users: a.Users, Applications: a.Applications, Devices: a.Devices, Groups: a.Groups,
		Configurations: a.Configurations, Events: a.Events, DeviceTokens: a.DeviceTokens, DeviceResources: a.DeviceResources,
		Principal: a.Resolver, Logger: a.cfg.Logger, Redis: a.Redis,
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
// cache's invalidation listener (with Redis), and the sweeper of expired
// rows (even with Redis: other tables hold expiring rows too).
func (a *App) Start(ctx context.Context) {
	go a.Stores.Applications.Listen(ctx)
	sweeper := storage.NewSQLTokenStore(a.DB.WithTimeout(sweepTimeout))
	go sweeper.RunSweeper(ctx, sweepEvery, func(err error) {
		a.cfg.Logger.Warn("sweeping expired rows", "err", err)
	})
}

// EndStreams ends every live event stream (with a final "shutdown"
// event), so that a graceful shutdown does not wait for them. Later streams
// are refused or end at once.
func (a *App) EndStreams() {
	if a.Bus != nil {
		a.Bus.Close()
	}
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
