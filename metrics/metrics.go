// Package metrics holds assetgate's Prometheus metrics: one registry per
// service graph (never the process-wide default, so that two graphs in one
// process, as tests build them, count apart), the HTTP metrics named after
// the OpenTelemetry HTTP semantic conventions, the domain counters and
// gauges, and collectors over the database and Redis pools and the Go
// runtime. Every label value is drawn from a bounded set: route patterns,
// methods, status codes, grant types, error codes, and operation names
// capped at a fixed number (see NameSet); never ids or tokens.
//
// Every method is safe on a nil *Metrics and then does nothing, so that a
// part built without metrics (a unit test's) needs no special case.
//
// It imports no package of assetgate: every layer may record into it.
package metrics

import (
	"database/sql"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

// Namespace starts the name of every domain metric.
const Namespace = "assetgate"

// Metrics is the registry of one service graph and its metric families.
// Build it with New.
type Metrics struct {
	reg  *prometheus.Registry
	http *httpMetrics

	tokensIssued      *prometheus.CounterVec
	refreshReuse      prometheus.Counter
	introspections    *prometheus.CounterVec
	revocations       *prometheus.CounterVec
	loginFailures     *prometheus.CounterVec
	loginThrottled    *prometheus.CounterVec
	rateLimited       *prometheus.CounterVec
	devicePolls       *prometheus.CounterVec
	graphqlOperations *prometheus.CounterVec
	graphqlRejected   *prometheus.CounterVec
	websocketRefused  *prometheus.CounterVec
	websockets        prometheus.Gauge
	jsonapiErrors     *prometheus.CounterVec
	eventsIngested    *prometheus.CounterVec
	commitRequests    prometheus.Histogram
	commitEvents      prometheus.Histogram
	liveStreams       *prometheus.GaugeVec
	streamsDrained    *prometheus.CounterVec
	mqttConnections   prometheus.Gauge
	mqttRefused       *prometheus.CounterVec
	mqttMessages      *prometheus.CounterVec
	operationNames    *NameSet
}

// DefaultMaxOperationNames is how many GraphQL operation names get a label
// value of their own when no trusted documents name them (see NameSet).
const DefaultMaxOperationNames = 100

// New returns the metrics of one service graph with the Go runtime and
// process collectors registered. operationNames bounds the GraphQL
// operation label; nil is a NameSet of DefaultMaxOperationNames.
func New(operationNames *NameSet) *Metrics {
	if operationNames == nil {
		operationNames = NewNameSet(DefaultMaxOperationNames)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: reg, http: newHTTPMetrics(reg), operationNames: operationNames}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	m.tokensIssued = counter("oauth_tokens_issued_total",
		"Token responses issued, by grant type and client kind (confidential, public).", "grant_type", "client_kind")
	m.refreshReuse = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "oauth_refresh_reuse_detected_total",
		Help: "Refresh tokens presented after they were rotated out past the grace period (their family was revoked)."})
	reg.MustRegister(m.refreshReuse)
	m.introspections = counter("oauth_introspections_total",
		"Token introspections answered, by result (active, inactive).", "result")
	m.revocations = counter("oauth_revocations_total",
		"Revocation requests answered 200, by the token_type_hint given (access_token, refresh_token, none).", "hint")
	m.loginFailures = counter("login_failures_total",
		"Failed logins, by reason (credentials: a wrong e-mail or password; throttled: refused before the password was checked).", "reason")
	m.loginThrottled = counter("login_throttled_total",
		"Logins delayed or refused by the login throttle, by the counter that refused them (account, address, lockout).", "scope")
	m.rateLimited = counter("rate_limited_total",
		"Requests refused by a rate limit, by protocol (oauth, jsonapi, graphql) and limit.", "protocol", "limit")
	m.devicePolls = counter("oauth_device_polls_total",
		"Device code grant polls, by outcome (issued, authorization_pending, slow_down, access_denied, expired_token, invalid_grant).", "outcome")
	m.graphqlOperations = counter("graphql_operations_total",
		"GraphQL operations answered, by operation name (bounded; other beyond it) and outcome (ok, or the first error's code).", "operation", "outcome")
	m.graphqlRejected = counter("graphql_rejected_total",
		"GraphQL requests refused by a limit (depth, fields, aliases, complexity, parser_tokens, sockets, streams).", "limit")
	m.websocketRefused = counter("graphql_websocket_refused_total",
		"GraphQL WebSocket connections refused at connection_init, by reason (no_token, invalid_token, too_many, error).", "reason")
	m.websockets = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "graphql_websocket_connections",
		Help: "GraphQL WebSocket connections open (initialised) on this replica."})
	reg.MustRegister(m.websockets)
	m.jsonapiErrors = counter("jsonapi_errors_total",
		"JSON:API error responses, by the code of their first error object.", "code")
	m.eventsIngested = counter("events_ingested_total",
		"Device events by transport (jsonapi, graphql) and outcome: accepted and replayed count events, rejected counts refused requests.",
		"transport", "outcome")
	// Group commit sizes: 1 up to the group bound (1000 events), in powers of 2.
	sizes := prometheus.ExponentialBuckets(1, 2, 11)
	m.commitRequests = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "event_group_commit_requests",
		Help: "Ingest requests (event batches) written together per group-commit transaction.", Buckets: sizes})
	m.commitEvents = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "event_group_commit_events",
		Help: "Events written per group-commit transaction.", Buckets: sizes})
	reg.MustRegister(m.commitRequests, m.commitEvents)
	m.liveStreams = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "live_stream_subscribers",
		Help: "Live event streams open on this replica, of one device or of a whole customer, by transport (sse, websocket: deviceEvents subscriptions)."}, []string{"transport"})
	reg.MustRegister(m.liveStreams)
	m.streamsDrained = counter("live_streams_drained_total",
		"Live streams ended by a graceful shutdown with a reconnect notice, by transport (sse, websocket).", "transport")
	m.mqttConnections = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "mqtt_connections",
		Help: "MQTT client connections open on this replica."})
	reg.MustRegister(m.mqttConnections)
	m.mqttRefused = counter("mqtt_refused_total",
		"MQTT refusals, by what was refused (connect, publish, subscribe, payload).", "reason")
	m.mqttMessages = counter("mqtt_messages_received_total",
		"MQTT messages devices published, by outcome (accepted: events stored; delivered: another message taken; rejected: an invalid payload; refused: a topic the device may not publish to; failed: not stored through no fault of the message).", "outcome")
	for _, r := range []string{"connect", "publish", "subscribe", "payload"} {
		m.mqttRefused.WithLabelValues(r)
	}
	for _, o := range []string{"accepted", "delivered", "rejected", "refused", "failed"} {
		m.mqttMessages.WithLabelValues(o)
	}
	for _, t := range []string{TransportSSE, TransportWebSocket} {
		m.liveStreams.WithLabelValues(t)
	}
	return m
}

// Registry returns the registry, for tests and for registering more
// collectors.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry in the Prometheus text format (or
// OpenMetrics, when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// RegisterDB adds the pool statistics of a database (go_sql_* metrics,
// labelled db_name).
func (m *Metrics) RegisterDB(name string, db *sql.DB) {
	if m == nil || db == nil {
		return
	}
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// RegisterRedis adds the pool statistics of a Redis client
// (assetgate_redis_pool_*).
func (m *Metrics) RegisterRedis(rc interface{ PoolStats() *redis.PoolStats }) {
	if m == nil || rc == nil {
		return
	}
	m.reg.MustRegister(&redisPoolCollector{rc: rc})
}

// Transports of the live streams and of event ingestion.
const (
	TransportSSE       = "sse"
	TransportWebSocket = "websocket"
	TransportJSONAPI   = "jsonapi"
	TransportGraphQL   = "graphql"
)

// Client kinds of TokenIssued.
const (
	ClientConfidential = "confidential"
	ClientPublic       = "public"
)

// TokenIssued counts a token response of the grant (authorization_code,
// client_credentials, password, refresh_token, implicit, the device code
// grant's URN) to a client of the kind.
func (m *Metrics) TokenIssued(grant string, public bool) {
	if m == nil {
		return
	}
	kind := ClientConfidential
	if public {
		kind = ClientPublic
	}
	m.tokensIssued.WithLabelValues(boundedGrant(grant), kind).Inc()
}

// boundedGrant keeps the grant label to the grants the server knows.
func boundedGrant(g string) string {
	switch g {
	case "authorization_code", "client_credentials", "password", "refresh_token", "implicit",
		"urn:ietf:params:oauth:grant-type:device_code":
		return g
	}
	return "other"
}

// RefreshReuseDetected counts a refresh token replayed after its rotation.
func (m *Metrics) RefreshReuseDetected() {
	if m != nil {
		m.refreshReuse.Inc()
	}
}

// Introspected counts an introspection answer.
func (m *Metrics) Introspected(active bool) {
	if m == nil {
		return
	}
	if active {
		m.introspections.WithLabelValues("active").Inc()
	} else {
		m.introspections.WithLabelValues("inactive").Inc()
	}
}

// Revoked counts a revocation request answered 200; hint is its
// token_type_hint ("" is none).
func (m *Metrics) Revoked(hint string) {
	if m == nil {
		return
	}
	switch hint {
	case "access_token", "refresh_token":
	default:
		hint = "none"
	}
	m.revocations.WithLabelValues(hint).Inc()
}

// Reasons of LoginFailed.
const (
	LoginBadCredentials = "credentials"
	LoginThrottledOut   = "throttled"
)

// LoginFailed counts a failed login (a password check of the token
// endpoint, the login page or a password change).
func (m *Metrics) LoginFailed(reason string) {
	if m == nil {
		return
	}
	if reason != LoginThrottledOut {
		reason = LoginBadCredentials
	}
	m.loginFailures.WithLabelValues(reason).Inc()
}

// LoginThrottled counts a step of the login throttle: scope names the
// counter that delayed or refused the login (account, address, lockout,
// or another bounded name the throttle defines).
func (m *Metrics) LoginThrottled(scope string) {
	if m != nil {
		m.loginThrottled.WithLabelValues(scope).Inc()
	}
}

// RateLimited counts a request refused by a rate limit; protocol is oauth,
// jsonapi or graphql, limit a bounded name of the limit (such as
// "client", "address", "token").
func (m *Metrics) RateLimited(protocol, limit string) {
	if m != nil {
		m.rateLimited.WithLabelValues(protocol, limit).Inc()
	}
}

// DevicePolled counts a poll of the device code grant with its outcome:
// "issued" or the RFC 8628 error code answered.
func (m *Metrics) DevicePolled(outcome string) {
	if m == nil {
		return
	}
	switch outcome {
	case "issued", "authorization_pending", "slow_down", "access_denied", "expired_token", "invalid_grant":
	default:
		outcome = "other"
	}
	m.devicePolls.WithLabelValues(outcome).Inc()
}

// GraphQLOperation counts a GraphQL operation answered: name is the
// operation's name ("" for an anonymous one), code the extensions.code of
// its first error, "" when it had none.
func (m *Metrics) GraphQLOperation(name, code string) {
	if m == nil {
		return
	}
	name = m.operationNames.Label(name)
	if code == "" {
		code = "ok"
	} else {
		code = boundedCode(code)
	}
	m.graphqlOperations.WithLabelValues(name, code).Inc()
}

// boundedCode keeps error codes to the shape of the ones GraphQL and
// JSON:API use: upper-case letters, digits and '_' (or CamelCase for
// JSON:API), at most 40 characters; anything else is "other".
func boundedCode(code string) string {
	if len(code) == 0 || len(code) > 40 {
		return "other"
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return "other"
		}
	}
	return code
}

// Limits of GraphQLRejected.
const (
	LimitDepth        = "depth"
	LimitFields       = "fields"
	LimitAliases      = "aliases"
	LimitComplexity   = "complexity"
	LimitParserTokens = "parser_tokens"
	LimitSockets      = "sockets"
	LimitStreams      = "streams"
)

// GraphQLRejected counts a GraphQL request refused by a limit.
func (m *Metrics) GraphQLRejected(limit string) {
	if m != nil {
		m.graphqlRejected.WithLabelValues(limit).Inc()
	}
}

// WebSocketRefused counts a GraphQL WebSocket refused at connection_init.
func (m *Metrics) WebSocketRefused(reason string) {
	if m != nil {
		m.websocketRefused.WithLabelValues(reason).Inc()
	}
}

// WebSocketOpened counts an initialised GraphQL WebSocket connection; call
// the function it returns when it closes.
func (m *Metrics) WebSocketOpened() (closed func()) {
	if m == nil {
		return func() {}
	}
	m.websockets.Inc()
	return m.websockets.Dec
}

// JSONAPIError counts a JSON:API error response by the code of its first
// error object.
func (m *Metrics) JSONAPIError(code string) {
	if m != nil {
		m.jsonapiErrors.WithLabelValues(boundedCode(code)).Inc()
	}
}

// Outcomes of EventsIngested.
const (
	IngestAccepted = "accepted"
	IngestReplayed = "replayed"
	IngestRejected = "rejected"
)

// EventsIngested counts n events accepted or replayed through a transport,
// or (outcome IngestRejected, n 1) a refused ingest request.
func (m *Metrics) EventsIngested(transport, outcome string, n int) {
	if m != nil && n > 0 {
		m.eventsIngested.WithLabelValues(transport, outcome).Add(float64(n))
	}
}

// GroupCommitted records one committed group-commit transaction of the
// event store: how many ingest requests and events it wrote.
func (m *Metrics) GroupCommitted(requests, events int) {
	if m != nil && requests > 0 {
		m.commitRequests.Observe(float64(requests))
		m.commitEvents.Observe(float64(events))
	}
}

// StreamOpened counts a live event stream of the transport (TransportSSE,
// TransportWebSocket); call the function it returns when it ends.
func (m *Metrics) StreamOpened(transport string) (ended func()) {
	if m == nil {
		return func() {}
	}
	g := m.liveStreams.WithLabelValues(transport)
	g.Inc()
	return g.Dec
}

// StreamDrained counts a live stream ended by a graceful shutdown with a
// reconnect notice.
func (m *Metrics) StreamDrained(transport string) {
	if m != nil {
		m.streamsDrained.WithLabelValues(transport).Inc()
	}
}

// MQTTConnected counts an MQTT client connection; call the function it
// returns when the connection ends.
func (m *Metrics) MQTTConnected() (closed func()) {
	if m == nil {
		return func() {}
	}
	m.mqttConnections.Inc()
	return m.mqttConnections.Dec
}

// MQTTRefused counts an MQTT refusal: reason is connect, publish,
// subscribe or payload.
func (m *Metrics) MQTTRefused(reason string) {
	if m != nil {
		m.mqttRefused.WithLabelValues(reason).Inc()
	}
}

// MQTTMessage counts a message a device published over MQTT, by outcome
// (accepted, delivered, rejected, refused, failed).
func (m *Metrics) MQTTMessage(outcome string) {
	if m != nil {
		m.mqttMessages.WithLabelValues(outcome).Inc()
	}
}

// redisPoolCollector reads a Redis client's pool statistics at each scrape.
type redisPoolCollector struct {
	rc interface{ PoolStats() *redis.PoolStats }
}

var (
	redisHits = prometheus.NewDesc(Namespace+"_redis_pool_hits_total",
		"Times a free connection was found in the Redis pool.", nil, nil)
	redisMisses = prometheus.NewDesc(Namespace+"_redis_pool_misses_total",
		"Times no free connection was found in the Redis pool.", nil, nil)
	redisTimeouts = prometheus.NewDesc(Namespace+"_redis_pool_timeouts_total",
		"Times a wait for a Redis pool connection timed out.", nil, nil)
	redisStale = prometheus.NewDesc(Namespace+"_redis_pool_stale_connections_total",
		"Stale connections removed from the Redis pool.", nil, nil)
	redisTotal = prometheus.NewDesc(Namespace+"_redis_pool_connections",
		"Connections in the Redis pool.", nil, nil)
	redisIdle = prometheus.NewDesc(Namespace+"_redis_pool_idle_connections",
		"Idle connections in the Redis pool.", nil, nil)
)

func (c *redisPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{redisHits, redisMisses, redisTimeouts, redisStale, redisTotal, redisIdle} {
		ch <- d
	}
}

func (c *redisPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.rc.PoolStats()
	if s == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(redisHits, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(redisMisses, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(redisTimeouts, prometheus.CounterValue, float64(s.Timeouts))
	ch <- prometheus.MustNewConstMetric(redisStale, prometheus.CounterValue, float64(s.StaleConns))
	ch <- prometheus.MustNewConstMetric(redisTotal, prometheus.GaugeValue, float64(s.TotalConns))
	ch <- prometheus.MustNewConstMetric(redisIdle, prometheus.GaugeValue, float64(s.IdleConns))
}
