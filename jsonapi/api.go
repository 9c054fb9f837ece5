// Package jsonapi serves assetgate's resources as JSON:API 1.1 at /api/v1:
// it negotiates media types, parses query parameters and request documents
// into resource calls, and presents the results (presenter structs with the
// jsonapi: tags of github.com/google/jsonapi, whose known defects this
// package closes). Every rule (scopes, tenants, validation) lives in
// package resource; a handler decodes, calls and presents.
package jsonapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/assetgate/assetgate/metrics"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// BasePath is the path every JSON:API route starts with.
const BasePath = "/api/v1"

// maxBodyBytes bounds request documents.
const maxBodyBytes = 1 << 20

// Deps are the dependencies of the API.
type Deps struct {
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
	Grants       *resource.GrantService
	// DeviceResources calls the resources of connected devices.
	DeviceResources *resource.DeviceResourceService
	// Resolver resolves the bearer token of every authenticated route; the
	// event stream re-checks its token with it on every heartbeat. Nil
	// refuses every token.
	Resolver scopes.Resolver
	// StreamHeartbeat is how often the event stream sends a heartbeat and
	// re-checks its token; 0 means DefaultStreamHeartbeat.
	StreamHeartbeat time.Duration
	// Logger receives the causes of internal errors; nil discards them.
	Logger *slog.Logger
	// Admit, when set, decides whether the request of each authenticated
	// principal goes on (the per-token rate limit); see scopes.Admit.
	Admit scopes.Admitter
	// BaseURL is the scheme and authority links start with, such as
	// "https://api.example.com" (no trailing slash needed); empty for
	// links relative to the host.
	BaseURL string
	// Metrics counts error responses by code, events ingested and open
	// event streams; nil counts nothing.
	Metrics *metrics.Metrics
}

// API is the JSON:API transport: an http.Handler of every route under
// BasePath. Build it with New.
type API struct {
	deps    Deps
	log     *slog.Logger
	base    string // BaseURL + BasePath
	members map[string][]string
	routes  []*route
	mux     *http.ServeMux
}

// handlerFunc is a handler that returns its error instead of writing it;
// the adapter writes every error through the one mapper in errors.go.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one route of the API.
type route struct {
	method, path string
	// ops are the operations of the scopes table the route performs, the
	// main one first; a principal needs all of them.
	ops []scopes.Operation
	// body says the route reads a request document.
	body bool
	// pointer maps a resource.Error field to a JSON pointer into the
	// request document (nil for routes without a body).
	pointer func(field string) (string, bool)
	h       handlerFunc
}

// Route describes one authenticated route, for the tests that are
// generated from the scopes table.
type Route struct {
	// Pattern is a net/http pattern such as "GET /api/v1/devices/{id}".
	Pattern string
	// Operations are the rows of the scopes table the route needs, the
	// main one first; a principal must be allowed every one.
	Operations []scopes.Operation
}

// New returns the API on deps: one handler for everything under BasePath.
// It authenticates what needs a token, with Deps.Resolver, and answers the
// rest (the OpenAPI document, and JSON:API 404 and 405 errors) without one;
// mount it at BasePath + "/".
func New(deps Deps) *API {
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &API{deps: deps, log: log, base: strings.TrimRight(deps.BaseURL, "/") + BasePath}
	a.members = map[string][]string{
		typeUsers:           membersOf(userPresenter{}),
		typeCustomers:       membersOf(customerPresenter{}),
		typeApplications:    membersOf(applicationPresenter{}),
		typeDevices:         membersOf(devicePresenter{}),
		typeDeviceGroups:    membersOf(groupPresenter{}),
		typeGeogroups:       membersOf(geogroupPresenter{}),
		typeConfigurations:  membersOf(configurationPresenter{}),
		typeEvents:          membersOf(eventPresenter{}),
		typeDeviceStats:     membersOf(deviceStatsPresenter{}),
		typeDeviceTokens:    membersOf(deviceTokenPresenter{}),
		typeGrants:          membersOf(grantPresenter{}),
		typeDeviceResources: membersOf(deviceResourcesPresenter{}),
		typeResourceCalls:   membersOf(resourceCallPresenter{}),
		typeSeriesPoints:    membersOf(seriesPointPresenter{}),
	}
	a.routes = append(a.routes, a.userRoutes()...)
	a.routes = append(a.routes, a.applicationRoutes()...)
	a.routes = append(a.routes, a.deviceRoutes()...)
	a.routes = append(a.routes, a.groupRoutes()...)
	a.routes = append(a.routes, a.geogroupRoutes()...)
	a.routes = append(a.routes, a.configurationRoutes()...)
	a.routes = append(a.routes, a.eventRoutes()...)
	a.routes = append(a.routes, a.seriesRoutes()...)
	a.routes = append(a.routes, a.deviceTokenRoutes()...)
	a.routes = append(a.routes, a.grantRoutes()...)
	a.routes = append(a.routes, a.deviceResourceRoutes()...)
	a.mux = a.newMux()
	return a
}

// Patterns of the routes that authenticate otherwise or not at all.
const (
	// openAPIPattern is the OpenAPI document; it needs no token.
	openAPIPattern = "GET " + BasePath + "/openapi.json"
	// streamPattern and customerStreamPattern are the live event streams,
	// whose token may also come in the query (see streamHandler).
	streamPattern         = "GET " + BasePath + streamPath
	customerStreamPattern = "GET " + BasePath + customerStreamPath
)

// newMux mounts every route: the authenticated ones behind the bearer
// middleware, the event streams behind it with query tokens allowed, the
// OpenAPI document without it, and the fallback under everything else.
func (a *API) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range a.routes {
		mux.Handle(rt.pattern(), a.authenticate(a.serve(rt)))
	}
	mux.Handle(streamPattern, a.streamHandler(streamRoute, a.deviceStream))
	mux.Handle(customerStreamPattern, a.streamHandler(customerStreamRoute, a.customerStream))
	mux.Handle(openAPIPattern, a.openAPI())
	mux.Handle(BasePath+"/", a.fallback())
	return mux
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// resolver returns Deps.Resolver, or one that refuses every token.
func (a *API) resolver() scopes.Resolver {
	if a.deps.Resolver != nil {
		return a.deps.Resolver
	}
	return func(context.Context, string) (*scopes.Principal, error) { return nil, scopes.ErrInvalidToken }
}

// authenticate is the bearer middleware of the API, the one place it is
// built: next runs with the principal of the request's token in its
// context; a request without a usable token gets the JSON:API error of
// unauthorized.
func (a *API) authenticate(next http.Handler, opts ...scopes.Option) http.Handler {
	if a.deps.Admit != nil {
		opts = append(opts, scopes.Admit(a.deps.Admit))
	}
	return scopes.Bearer(a.resolver(), a.unauthorized, opts...)(next)
}

// RouteTable returns every authenticated route with its operations.
func (a *API) RouteTable() []Route {
	out := make([]Route, len(a.routes))
	for i, rt := range a.routes {
		out[i] = Route{Pattern: rt.pattern(), Operations: append([]scopes.Operation(nil), rt.ops...)}
	}
	return out
}

func (rt *route) pattern() string { return rt.method + " " + BasePath + rt.path }

// serve adapts a route to http.Handler: negotiation first, then the
// handler, and any error through writeError.
func (a *API) serve(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := checkAccept(r)
		if err == nil && rt.body {
			err = checkContentType(r)
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		if err == nil {
			err = rt.h(w, r)
		}
		if err != nil {
			a.writeError(w, r, rt, err)
		}
	})
}

// attributePointers returns the pointer mapping of a resource document
// whose relationships are rels: a relationship name points at
// /data/relationships/NAME, any other field at /data/attributes/FIELD (a
// dotted field at a nested member).
func attributePointers(rels ...string) func(string) (string, bool) {
	return func(field string) (string, bool) {
		for _, rel := range rels {
			if field == rel {
				return "/data/relationships/" + escapePointer(rel), true
			}
		}
		parts := strings.Split(field, ".")
		for i, p := range parts {
			parts[i] = escapePointer(p)
		}
		return "/data/attributes/" + strings.Join(parts, "/"), true
	}
}

// linkagePointer is the pointer mapping of a relationship document: every
// field is its primary data.
func linkagePointer(string) (string, bool) { return "/data", true }

// escapePointer escapes one JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
