package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/jsonapi"
)

// newHandler returns the service's root handler: every route of assetgate is
// registered here.
func newHandler(a *app) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", handleHealthz)
	mux.Handle("GET /readyz", handleReadyz(a))

	if a.demo {
		mux.HandleFunc("GET /demo/callback", handleDemoCallback(a.cfg.Issuer))
	}

	// OAuth 2.0 (DESIGN §4).
	mux.Handle("POST /oauth/token", a.oauth.Token())
	mux.Handle("GET /oauth/authorize", a.oauth.Authorize())
	mux.Handle("POST /oauth/authorize", a.oauth.Authorize())
	mux.Handle("DELETE /oauth/authorize", a.oauth.Authorize())
	mux.Handle("POST /oauth/revoke", a.oauth.Revoke())
	mux.Handle("POST /oauth/introspect", a.oauth.Introspect())
	mux.Handle("GET /oauth/token/info", a.oauth.TokenInfo())
	mux.Handle("POST /oauth/device_authorization", a.oauth.DeviceAuthorization())
	mux.Handle("GET /device", a.oauth.Device())
	mux.Handle("POST /device", a.oauth.Device())
	mux.Handle("GET /.well-known/oauth-authorization-server", a.oauth.Metadata())

	// JSON:API (DESIGN §5): one handler for everything under /api/v1; it
	// authenticates the routes that need a bearer token itself. Its route
	// table is jsonapi.API.RouteTable, which the OpenAPI document and the
	// scope-matrix tests are generated from.
	api := jsonapi.New(jsonapi.Deps{
		Users: a.users, Applications: a.applications, Devices: a.devices, Groups: a.groups,
		Configurations: a.configurations, Logger: a.log, BaseURL: a.cfg.Issuer,
		// Events, device tokens and the live event stream (issue 6).
		Events: a.events.events, DeviceTokens: a.events.deviceTokens, Resolver: a.oauth.Principal,
	})
	mux.Handle(jsonapi.BasePath+"/", api)
	// --- GraphQL (DESIGN §6, issue 7) ---
	// POST and GET (persisted queries) with a bearer token; WebSocket
	// (graphql-transport-ws) with the token in connection_init; GraphiQL for
	// browsers (GET, Accept: text/html) while introspection is on. The
	// deviceEvents subscription uses the events' bus (Redis across replicas).
	gql := graph.New(graph.Deps{
		Users: a.users, Applications: a.applications, Devices: a.devices, Groups: a.groups,
		Configurations: a.configurations, Events: a.events.events, DeviceTokens: a.events.deviceTokens,
		Principal: a.oauth.Principal, Logger: a.log, Redis: a.redis,
	}, graphConfig(a.cfg))
	mux.Handle("GET /graphql", gql)
	mux.Handle("POST /graphql", gql)
	mux.Handle("OPTIONS /graphql", gql)
	// --- end GraphQL ---
	return strictTransport(a.cfg.Issuer, logRequests(a.log, mux))
}

// handleHealthz answers 200 while the process is alive.
func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when the database and (if configured) Redis answer
// within two seconds, and 503 naming what is down otherwise. Causes go to the
// log, not to the client.
func handleReadyz(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		checks := map[string]string{"database": "ok"}
		status := http.StatusOK
		if err := a.db.PingContext(ctx); err != nil {
			a.log.Error("readyz: database down", "err", err)
			checks["database"], status = "down", http.StatusServiceUnavailable
		}
		if a.redis != nil {
			checks["redis"] = "ok"
			if err := a.redis.Ping(ctx).Err(); err != nil {
				a.log.Error("readyz: redis down", "err", err)
				checks["redis"], status = "down", http.StatusServiceUnavailable
			}
		}
		body := map[string]any{"status": "ok", "checks": checks}
		if status != http.StatusOK {
			body["status"] = "unavailable"
		}
		writeJSON(w, status, body)
	})
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// graphConfig is GraphQL's configuration: the package's limits, with
// introspection and the trusted documents mode from assetgate's settings.
func graphConfig(c config) graph.Config {
	g := graph.DefaultConfig()
	g.IntrospectionEnabled = c.GraphQLIntrospection == "true"
	g.MaxSocketsPerPrincipal = c.MaxSocketsPerPrincipal
	if len(c.trustedDocuments) > 0 {
		g.TrustedDocuments = graph.TrustedDocumentsOf(c.trustedDocuments...)
	}
	return g
}
