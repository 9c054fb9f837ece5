package graph

import (
	"log/slog"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/assetgate/assetgate/metrics"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// Deps are what the GraphQL API runs on: the same resource services as the
// JSON:API, the bearer token resolver, a logger and, optionally, Redis.
type Deps struct {
	Users          *resource.UserService
	Applications   *resource.ApplicationService
	Devices        *resource.DeviceService
	Groups         *resource.DeviceGroupService
	Geogroups      *resource.GeogroupService
	Configurations *resource.ConfigurationService
	// Events serve events, device stats and the deviceEvents subscription
	// (through their bus, so it works across replicas).
	Events *resource.EventService
	// Series computes the telemetry series of devices and groups.
	Series       *resource.SeriesService
	DeviceTokens *resource.DeviceTokenService
	// Grants are the consents users gave applications.
	Grants *resource.GrantService
	// DeviceResources calls the resources of connected devices.
	DeviceResources *resource.DeviceResourceService
	// Principal resolves bearer tokens (oauth.Server.Principal); the
	// WebSocket transport uses it for the token of connection_init.
	Principal scopes.Resolver
	// Logger receives the causes of internal errors and recovered panics.
	Logger *slog.Logger
	// Redis, when set, keeps the automatic persisted queries, so that every
	// replica knows a query any replica has seen. Nil keeps them in memory.
	Redis redis.UniversalClient
	// Admit, when set, decides whether the HTTP request of each
	// authenticated principal goes on (the per-token rate limit); see
	// scopes.Admit.
	Admit scopes.Admitter
	// Metrics counts operations, refusals by limit, WebSocket connections
	// and subscriptions, and events recorded; nil counts nothing.
	Metrics *metrics.Metrics
	// Tracer, when set, makes a span of each operation and of each root
	// field (the resolver of a service call); nil makes none.
	Tracer trace.Tracer
	// Sockets, when set, keeps the WebSocket connections so that a
	// graceful shutdown closes them with CloseServiceRestart.
	Sockets *Sockets
}
