package graph

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/assetgate/assetgate/graph/exec"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// Config holds the limits and switches of the GraphQL endpoint. Start from
// DefaultConfig: zero limits are refused by Validate.
type Config struct {
	// Path is where the endpoint is mounted (for GraphiQL's fetcher).
	Path string
	// IntrospectionEnabled lets clients query the schema (__schema,
	// __type) and serves GraphiQL to browsers. Off, field suggestions in
	// error messages are off too.
	IntrospectionEnabled bool
	// ComplexityLimit is the most an operation may cost: a field costs 1
	// plus its selection, a connection its selection once per item its
	// first (or last) asks for.
	ComplexityLimit int
	// DepthLimit is how deep selections may nest.
	DepthLimit int
	// FieldLimit and AliasLimit bound how many fields, and how many of
	// them aliased, an operation selects in all.
	FieldLimit int
	AliasLimit int
	// ParserTokenLimit bounds the tokens of a document while it is
	// parsed: a refused document costs at most the lexing of this many
	// tokens. An operation of FieldLimit fields with arguments fits.
	ParserTokenLimit int
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64
	// QueryCacheSize is how many parsed and validated documents the LRU
	// query cache keeps.
	QueryCacheSize int
	// APQCacheSize is how many persisted queries the in-memory APQ cache
	// keeps (without Redis).
	APQCacheSize int
	// APQTTL is how long Redis keeps a persisted query after its last use.
	APQTTL time.Duration
	// RedisPrefix starts the Redis keys of persisted queries.
	RedisPrefix string
	// SubscriptionRecheck is how often a subscription resolves its
	// connection's token again: a revoked token's subscriptions end within
	// it.
	SubscriptionRecheck time.Duration
	// MaxSocketsPerPrincipal bounds the WebSocket connections one
	// principal (a user, an application, a device) holds open on this
	// replica; its subscriptions count among its live streams
	// (resource.EventService.Streams).
	MaxSocketsPerPrincipal int
	// TrustedDocuments, when not nil, is the trusted documents mode: only
	// these documents (keyed by the hex SHA-256 of their text, see
	// TrustedDocumentsOf) may run, and APQ is off.
	TrustedDocuments map[string]string
}

// DefaultConfig returns the production defaults: introspection on.
func DefaultConfig() Config {
	return Config{
		Path:                   "/graphql",
		IntrospectionEnabled:   true,
		ComplexityLimit:        5000,
		DepthLimit:             12,
		FieldLimit:             500,
		AliasLimit:             30,
		ParserTokenLimit:       6000,
		MaxBodyBytes:           1 << 20,
		QueryCacheSize:         1000,
		APQCacheSize:           1000,
		APQTTL:                 24 * time.Hour,
		RedisPrefix:            "ag:apq:",
		SubscriptionRecheck:    15 * time.Second,
		MaxSocketsPerPrincipal: 20,
	}
}

// Validate checks that every limit is set.
func (c Config) Validate() error {
	for _, v := range []struct {
		name string
		n    int64
	}{
		{"ComplexityLimit", int64(c.ComplexityLimit)}, {"DepthLimit", int64(c.DepthLimit)},
		{"FieldLimit", int64(c.FieldLimit)}, {"AliasLimit", int64(c.AliasLimit)},
		{"ParserTokenLimit", int64(c.ParserTokenLimit)}, {"MaxBodyBytes", c.MaxBodyBytes},
		{"QueryCacheSize", int64(c.QueryCacheSize)}, {"APQCacheSize", int64(c.APQCacheSize)},
		{"APQTTL", int64(c.APQTTL)}, {"SubscriptionRecheck", int64(c.SubscriptionRecheck)},
		{"MaxSocketsPerPrincipal", int64(c.MaxSocketsPerPrincipal)},
	} {
		if v.n <= 0 {
			return errors.New("graph: Config." + v.name + " must be positive")
		}
	}
	if !strings.HasPrefix(c.Path, "/") {
		return errors.New("graph: Config.Path must start with /")
	}
	return nil
}

// New returns the GraphQL endpoint: POST and GET (persisted queries) with
// a bearer token, WebSocket (graphql-transport-ws, the token in
// connection_init), OPTIONS, and GraphiQL for browsers. It panics on an
// invalid configuration (call cfg.Validate first to get an error).
func New(deps Deps, cfg Config) http.Handler {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	deps.Logger = log
	r := &Resolver{deps: deps, cfg: cfg}
	srv := handler.New(exec.NewExecutableSchema(exec.Config{
		Resolvers:  r,
		Directives: exec.DirectiveRoot{Auth: authDirective()},
		Complexity: complexity(),
	}))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	sockets := resource.NewCaps(cfg.MaxSocketsPerPrincipal)
	srv.AddTransport(transport.Websocket{
		Implementation:        firstMessageGuard{inner: transport.CoderWebsocketImplementation{}, log: log, metrics: deps.Metrics},
		InitFunc:              websocketInit(deps.Principal, sockets, log, deps.Metrics),
		CloseFunc:             releaseSocket,
		InitTimeout:           10 * time.Second,
		KeepAlivePingInterval: 10 * time.Second,
		PingPongInterval:      30 * time.Second,
	})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](cfg.QueryCacheSize))
	srv.SetParserTokenLimit(cfg.ParserTokenLimit)
	srv.SetErrorPresenter(presentError(log))
	if deps.Metrics != nil {
		srv.Use(operationMetrics{m: deps.Metrics})
	}
	srv.SetRecoverFunc(recoverPanic(log))
	if cfg.IntrospectionEnabled {
		srv.Use(extension.Introspection{})
	} else {
		srv.Use(noIntrospection{})
		srv.SetDisableSuggestion(true)
		srv.SetValidationRulesFn(rulesWithoutSuggestions)
	}
	switch {
	case cfg.TrustedDocuments != nil:
		srv.Use(trustedDocuments{docs: cfg.TrustedDocuments})
	case deps.Redis != nil:
		srv.Use(extension.AutomaticPersistedQuery{Cache: NewRedisCache(deps.Redis, cfg.RedisPrefix, cfg.APQTTL, log)})
	default:
		srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](cfg.APQCacheSize)})
	}
	// After the persisted query extensions (which give the query text) and
	// before anything that walks the expanded document.
	srv.Use(newShapeLimits(cfg))
	srv.Use(extension.FixedComplexityLimit(cfg.ComplexityLimit))
	if deps.Tracer != nil {
		srv.AroundOperations(traceOperation(deps.Tracer))
		srv.AroundRootFields(traceRootField(deps.Tracer))
	}
	srv.AroundOperations(reauthenticate(deps.Principal, log))
	srv.AroundOperations(r.withLoaders)
	srv.AroundRootFields(freshPerMutation)
	srv.AroundFields(splitInvalid)

	h := &endpoint{
		graphql: srv,
		bearer:  scopes.Bearer(deps.Principal, unauthorized(log), scopes.Admit(deps.Admit))(srv),
		log:     log,
		maxBody: cfg.MaxBodyBytes,
		path:    cfg.Path,
		sockets: deps.Sockets,
	}
	if cfg.IntrospectionEnabled {
		h.graphiql = newGraphiQL(cfg.Path)
	}
	return h
}

// endpoint routes a request to GraphiQL, the WebSocket transport (which
// authenticates in connection_init) or, through the bearer middleware, the
// HTTP transports.
type endpoint struct {
	graphql  http.Handler
	bearer   http.Handler
	graphiql *graphiql // nil when introspection is off
	path     string    // where the endpoint is mounted
	log      *slog.Logger
	maxBody  int64
	sockets  *Sockets // nil: not tracked
}

// ServeHTTP implements http.Handler.
func (h *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Header.Get("Upgrade") != "", r.Method == http.MethodOptions:
		// net/http clears the server's timeouts from a connection it hands
		// over to a WebSocket; the transport's pings find dead peers.
		h.graphql.ServeHTTP(h.sockets.wrap(w), r)
	case strings.HasPrefix(r.URL.Path, h.path+"/assets/"):
		// GraphiQL's files.
		if h.graphiql == nil {
			http.NotFound(w, r)
			return
		}
		h.graphiql.serveAsset(w, r)
	case r.Method == http.MethodGet && h.graphiql != nil && wantsHTML(r):
		h.graphiql.servePage(w, r)
	case r.ContentLength > h.maxBody:
		writeError(w, http.StatusRequestEntityTooLarge, "the request body is too large", CodeBadUserInput)
	default:
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
		}
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodGet {
			gw := &getWriter{ResponseWriter: w}
			defer gw.finish()
			w = gw
		}
		flag := new(atomic.Bool)
		h.bearer.ServeHTTP(&unavailableWriter{ResponseWriter: w, unavailable: flag}, r.WithContext(withUnavailable(r.Context(), flag)))
	}
}

// wantsHTML reports whether a GET comes from a browser navigating to the
// endpoint: it accepts text/html and carries no GraphQL request.
func wantsHTML(r *http.Request) bool {
	if r.URL.Query().Has("query") || r.URL.Query().Has("extensions") {
		return false
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/html" {
			return true
		}
	}
	return false
}

// unauthorized writes the response of a request the bearer middleware
// refuses: the RFC 6750 challenge with its status, and a GraphQL error
// body with the UNAUTHENTICATED code (UNAVAILABLE with 503 and Retry-After
// when the token store did not answer in time; INTERNAL, logged, when the
// token could not be resolved otherwise).
func unauthorized(log *slog.Logger) scopes.ErrorHandler {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		status, ok := scopes.Challenge(w, err)
		msg, code := "", CodeUnauthenticated
		var ae *scopes.AuthError
		switch {
		case ok && errors.As(err, &ae):
			msg = ae.Description
		case resource.ErrorCode(err) == resource.ERateLimited:
			w.Header().Set("Retry-After", strconv.Itoa(resource.RetryAfterSeconds(resource.ErrorRetryAfter(err))))
			writeErrorExt(w, http.StatusTooManyRequests, resource.ErrorMessage(err), CodeRateLimited,
				map[string]any{"retryAfter": resource.RetryAfterSeconds(resource.ErrorRetryAfter(err))})
			return
		case resource.ErrorCode(err) == resource.EUnavailable:
			log.WarnContext(r.Context(), "graphql: token store unavailable", "err", err)
			setRetryAfter(w.Header())
			status, msg, code = http.StatusServiceUnavailable, resource.ErrorMessage(err), CodeUnavailable
		default:
			log.ErrorContext(r.Context(), "graphql: resolving a bearer token", "err", err)
			status, msg, code = http.StatusInternalServerError, internalMessage, CodeInternal
		}
		writeError(w, status, msg, code)
	}
}

// writeError writes a GraphQL response of one error, for requests refused
// before GraphQL sees them.
func writeError(w http.ResponseWriter, status int, msg, code string) {
	writeErrorExt(w, status, msg, code, nil)
}

// writeErrorExt is writeError with more extensions besides the code.
func writeErrorExt(w http.ResponseWriter, status int, msg, code string, ext map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if ext == nil {
		ext = map[string]any{}
	}
	ext["code"] = code
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []any{map[string]any{"message": msg, "extensions": ext}},
	})
}

// getWriter replaces gqlgen's answer to a mutation or subscription sent
// with GET — a 406 whose error has no code — with a 405 that says to use
// POST, with Allow and METHOD_NOT_ALLOWED. gqlgen refuses such an operation
// before it runs (its GET transport runs queries only) and answers 406 for
// nothing else.
type getWriter struct {
	http.ResponseWriter
	refused bool
}

// WriteHeader implements http.ResponseWriter.
func (w *getWriter) WriteHeader(code int) {
	if code == http.StatusNotAcceptable {
		w.refused = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter; gqlgen's body of a refusal is
// dropped.
func (w *getWriter) Write(b []byte) (int, error) {
	if w.refused {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *getWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish writes the 405 of a refused GET.
func (w *getWriter) finish() {
	if w.refused {
		w.ResponseWriter.Header().Set("Allow", http.MethodPost)
		writeError(w.ResponseWriter, http.StatusMethodNotAllowed,
			"GET runs queries only; send mutations and subscriptions with POST", CodeMethodNotAllowed)
	}
}
