package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/assetgate/assetgate/console"
	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/wire"
)

// newHandler returns the service's root handler on the service graph a:
// every route of assetgate is registered here. demo mounts the demo
// callback page (serve --demo).
func newHandler(a *wire.App, demo bool) http.Handler {
	cfg := a.Config()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", handleHealthz)
	mux.Handle("GET /readyz", handleReadyz(a))

	if demo {
		mux.HandleFunc("GET /demo/callback", handleDemoCallback(cfg.Issuer))
	}

	// OAuth 2.0: the authorization server of package oauth.
	mux.Handle("POST /oauth/token", a.OAuth.Token())
	mux.Handle("GET /oauth/authorize", a.OAuth.Authorize())
	mux.Handle("POST /oauth/authorize", a.OAuth.Authorize())
	mux.Handle("DELETE /oauth/authorize", a.OAuth.Authorize())
	mux.Handle("POST /oauth/revoke", a.OAuth.Revoke())
	mux.Handle("POST /oauth/introspect", a.OAuth.Introspect())
	mux.Handle("GET /oauth/token/info", a.OAuth.TokenInfo())
	mux.Handle("POST /oauth/device_authorization", a.OAuth.DeviceAuthorization())
	mux.Handle("GET /device", a.OAuth.Device())
	mux.Handle("POST /device", a.OAuth.Device())
	mux.Handle("GET /.well-known/oauth-authorization-server", a.OAuth.Metadata())
	// OpenID Connect: discovery, keys, userinfo, logout.
	mux.Handle("GET /.well-known/openid-configuration", a.OAuth.Discovery())
	mux.Handle("GET /oauth/jwks", a.OAuth.JWKS())
	userinfo := a.OAuth.UserInfo()
	mux.Handle("GET /oauth/userinfo", userinfo)
	mux.Handle("POST /oauth/userinfo", userinfo)
	mux.Handle("GET /oauth/logout", a.OAuth.Logout())
	mux.Handle("POST /oauth/logout", a.OAuth.Logout())

	// JSON:API: one handler for everything under /api/v1; it
	// authenticates the routes that need a bearer token itself. Its route
	// table is jsonapi.API.RouteTable, which the OpenAPI document and the
	// scope-matrix tests are generated from.
	mux.Handle(jsonapi.BasePath+"/", a.JSONAPI())
	// --- GraphQL ---
	// POST and GET (persisted queries) with a bearer token; WebSocket
	// (graphql-transport-ws) with the token in connection_init; GraphiQL for
	// browsers (GET, Accept: text/html) while introspection is on. The
	// deviceEvents subscription uses the events' bus (Redis across replicas).
	gql := a.GraphQL()
	mux.Handle("GET /graphql", gql)
	mux.Handle("POST /graphql", gql)
	mux.Handle("OPTIONS /graphql", gql)
	mux.Handle("GET /graphql/assets/", gql) // GraphiQL's files
	// --- end GraphQL ---
	// The customer console: a single-page app on the routes above.
	con := console.New(cfg.Issuer, consoleClientID(a, demo), cfg.Logger)
	mux.Handle("GET /console", con)
	mux.Handle("GET /console/", con)
	mux.Handle("/", noRoute(mux, a.OAuth)) // any other path: 404, or 405 with Allow
	return strictTransport(cfg.Issuer, logRequests(cfg.Logger, a.ClientAddr, a.Metrics, cfg.Tracing, mux))
}

// handleHealthz answers 200 while the process is alive.
func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when the database and (if configured) Redis answer
// within two seconds (or their shorter timeouts), and 503 with Retry-After
// naming what is down otherwise. Causes go to the log, not to the client.
func handleReadyz(a *wire.App) http.Handler {
	log := a.Config().Logger
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		checks := map[string]string{"database": "ok"}
		status := http.StatusOK
		if err := a.DB.PingContext(ctx); err != nil {
			log.Error("readyz: database down", "err", err)
			checks["database"], status = "down", http.StatusServiceUnavailable
		}
		if a.Redis != nil {
			checks["redis"] = "ok"
			if err := a.Redis.Ping(ctx).Err(); err != nil {
				log.Error("readyz: redis down", "err", err)
				checks["redis"], status = "down", http.StatusServiceUnavailable
			}
		}
		body := map[string]any{"status": "ok", "checks": checks}
		if status != http.StatusOK {
			body["status"] = "unavailable"
			w.Header().Set("Retry-After", strconv.Itoa(int(resource.UnavailableRetryAfter/time.Second)))
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

// consoleClientID is how the console's config.json learns its client id:
// with serve --demo, the demo customer's console application; otherwise
// none (the console then takes it from its address, which
// `assetgate app create-console` prints).
func consoleClientID(a *wire.App, demo bool) func(context.Context) (string, error) {
	if !demo {
		return nil
	}
	issuer := a.Config().Issuer
	return func(ctx context.Context) (string, error) {
		cu, err := a.Customers.Store.FindCustomerByName(ctx, demoCustomer)
		if resource.ErrorCode(err) == resource.ENotFound {
			return "", nil
		} else if err != nil {
			return "", err
		}
		ap, err := findConsoleApplication(ctx, a, cu.ID, issuer)
		if ap == nil || err != nil {
			return "", err
		}
		return ap.ID, nil
	}
}
