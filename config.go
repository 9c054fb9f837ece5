package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assetgate/assetgate/clientaddr"
	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/mqtt"
	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/tracing"
)

// config is everything the program is configured with. It is filled from the
// environment, then from flags, and validated once at start.
type config struct {
	Addr string
	// AddrGiven is whether ASSETGATE_ADDR set Addr (serve --demo listens
	// on loopback only when no address was given).
	AddrGiven     bool
	DatabaseURL   string
	RedisURL      string
	Issuer        string
	SecretKey     string
	SecretKeyFile string
	RefreshGrace  time.Duration
	// OpenID Connect: the lifetime of ID tokens, the algorithm of new
	// signing keys (RS256 or ES256) and how long after `keys rotate` a new
	// key starts signing.
	IDTokenTTL       time.Duration
	SigningAlg       string
	KeyRotationDelay time.Duration
	// DatabaseTimeout bounds each call to the database (a statement, a
	// transaction) and RedisTimeout each Redis command: a store that does
	// not answer in time fails the request with 503 instead of holding it.
	DatabaseTimeout time.Duration
	// RetentionInterval is how often expired events are swept
	// (ASSETGATE_RETENTION_INTERVAL).
	RetentionInterval time.Duration
	RedisTimeout      time.Duration
	LogLevel          string
	JSON              bool
	// DebugAddr, when set, serves net/http/pprof there; off by default.
	DebugAddr string
	// MetricsAddr is where /metrics (Prometheus) is served, apart from
	// the service's listener; metricsOff ("off", or the variable set empty)
	// turns it off. MetricsAddrGiven is whether the operator chose it:
	// an address they chose that cannot be bound fails serve, the default
	// one only logs a warning (another process, or another assetgate on the
	// same host, may hold it).
	MetricsAddr      string
	MetricsAddrGiven bool
	// Tracing is the OpenTelemetry configuration of the OTEL_* variables
	// and ASSETGATE_TRUST_TRACE_HEADERS (see package tracing); tracingErr
	// the first unusable value among them, reported by validate.
	Tracing    tracing.Config
	tracingErr error
	// tracing is the tracer provider serve made of Tracing (nil: off).
	tracing *tracing.Tracing
	// GraphQLIntrospection lets GraphQL clients read the schema (and serves
	// GraphiQL): "true" (the default) or "false".
	GraphQLIntrospection string
	// TrustedDocumentsDir, when set, turns on GraphQL's trusted documents
	// mode: only the *.graphql files in this folder may run.
	TrustedDocumentsDir string
	trustedDocuments    []string
	// PasswordHashConcurrency is how many argon2id password hashes (19 MiB
	// each) are computed at once; 0 derives it from a 64 MiB budget and
	// GOMAXPROCS (resource.DefaultPasswordHashConcurrency).
	PasswordHashConcurrency int
	// PasswordHashWait is how long a login or password change waits for a
	// hashing slot before it is answered 503 with Retry-After.
	PasswordHashWait time.Duration
	// MaxStreamsPerPrincipal bounds the live event streams (SSE streams
	// and GraphQL subscriptions) one user, application or device holds open
	// on one replica; MaxSocketsPerPrincipal its GraphQL WebSocket
	// connections.
	MaxStreamsPerPrincipal int
	MaxSocketsPerPrincipal int
	// The login throttle and lockout (resource.LoginThrottle), from the
	// ASSETGATE_LOGIN_* variables; their defaults are the package's.
	LoginWindow        time.Duration
	LoginMaxPerAddr    int
	LoginMaxPerAccount int
	LoginAccountWindow time.Duration
	LoginFreePerPair   int
	LoginMaxDelay      time.Duration
	LoginPairMemory    time.Duration
	LoginKnownFor      time.Duration
	// TrustedProxies lists the CIDR prefixes of the reverse proxies whose
	// X-Forwarded-For / Forwarded headers name the client's address.
	TrustedProxies string
	trustedProxies []netip.Prefix
	// RateLimits sets quotas by name ("token.client=6000/1m,..."), and
	// RateLimitClients per application ("CLIENT_ID name=quota,...; ...").
	RateLimits       string
	RateLimitClients string
	rateLimits       map[string]resource.Quota
	clientRateLimits map[string]map[string]resource.Quota
	// MQTTAddr and MQTTWSAddr, when set, open the MQTT listener for
	// devices (TCP, and MQTT over WebSocket); TLS with MQTTTLSCert and
	// MQTTTLSKey (PEM files).
	MQTTAddr    string
	MQTTWSAddr  string
	MQTTTLSCert string
	MQTTTLSKey  string
	// MQTTLease is how long the replica's lease of its MQTT sessions runs:
	// after a crash, its devices read disconnected at most this long
	// after its last renewal.
	MQTTLease time.Duration
	mqttTLS   *tls.Config
}

// Settings of the metrics listener.
const (
	metricsAddrEnv     = "ASSETGATE_METRICS_ADDR"
	defaultMetricsAddr = "127.0.0.1:9464"
	// metricsOff turns the metrics listener off.
	metricsOff = "off"
)

// configError is a configuration mistake: the program prints its one line
// and exits with status 2.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// defaultConfig returns the embedded defaults overridden by the environment.
func defaultConfig(getenv func(string) string) config {
	c := config{
		Addr:          ":8080",
		DatabaseURL:   "sqlite:./data/assetgate.db",
		Issuer:        "http://localhost:8080",
		SecretKeyFile: "./data/secret.key",
		LogLevel:      "info",
		MetricsAddr:   defaultMetricsAddr,

		DatabaseTimeout:      storage.DefaultTimeout,
		RetentionInterval:    storage.DefaultRetentionInterval,
		RedisTimeout:         storage.DefaultRedisTimeout,
		GraphQLIntrospection: "true",
		PasswordHashWait:     resource.DefaultPasswordHashWait,
		MQTTLease:            mqtt.DefaultLease,
		IDTokenTTL:           oauth.DefaultIDTokenTTL,
		SigningAlg:           oauth.AlgRS256,
		KeyRotationDelay:     oauth.DefaultRotationDelay,

		MaxStreamsPerPrincipal: resource.DefaultMaxStreamsPerPrincipal,
		MaxSocketsPerPrincipal: graph.DefaultConfig().MaxSocketsPerPrincipal,

		LoginWindow:        resource.DefaultLoginWindow,
		LoginMaxPerAddr:    resource.DefaultMaxFailuresPerAddr,
		LoginMaxPerAccount: resource.DefaultMaxFailuresPerAccount,
		LoginAccountWindow: resource.DefaultAccountWindow,
		LoginFreePerPair:   resource.DefaultFreeFailuresPerPair,
		LoginMaxDelay:      resource.DefaultMaxLoginDelay,
		LoginPairMemory:    resource.DefaultPairMemory,
		LoginKnownFor:      resource.DefaultKnownFor,
	}
	for _, v := range []struct {
		name string
		dst  *string
	}{
		{"ASSETGATE_ADDR", &c.Addr},
		{"ASSETGATE_DATABASE_URL", &c.DatabaseURL},
		{"ASSETGATE_REDIS_URL", &c.RedisURL},
		{"ASSETGATE_ISSUER", &c.Issuer},
		{"ASSETGATE_SECRET_KEY", &c.SecretKey},
		{"ASSETGATE_SECRET_KEY_FILE", &c.SecretKeyFile},
		{"ASSETGATE_LOG_LEVEL", &c.LogLevel},
		{"ASSETGATE_DEBUG_ADDR", &c.DebugAddr},
		{metricsAddrEnv, &c.MetricsAddr},
		{"ASSETGATE_GRAPHQL_TRUSTED_DOCUMENTS", &c.TrustedDocumentsDir},
		{"ASSETGATE_GRAPHQL_INTROSPECTION", &c.GraphQLIntrospection},
		{"ASSETGATE_SIGNING_ALG", &c.SigningAlg},
		{"ASSETGATE_TRUSTED_PROXIES", &c.TrustedProxies},
		{"ASSETGATE_RATE_LIMITS", &c.RateLimits},
		{"ASSETGATE_RATE_LIMIT_CLIENTS", &c.RateLimitClients},
		{"ASSETGATE_MQTT_ADDR", &c.MQTTAddr},
		{"ASSETGATE_MQTT_WS_ADDR", &c.MQTTWSAddr},
		{"ASSETGATE_MQTT_TLS_CERT", &c.MQTTTLSCert},
		{"ASSETGATE_MQTT_TLS_KEY", &c.MQTTTLSKey},
	} {
		if s, ok := lookup(getenv, v.name); ok {
			*v.dst = s
		}
	}
	_, c.AddrGiven = lookup(getenv, "ASSETGATE_ADDR")
	_, c.MetricsAddrGiven = lookup(getenv, metricsAddrEnv)
	c.Tracing, c.tracingErr = tracing.FromEnv(getenv)
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{
		{"ASSETGATE_REFRESH_GRACE", &c.RefreshGrace},
		{"ASSETGATE_ID_TOKEN_TTL", &c.IDTokenTTL},
		{"ASSETGATE_KEY_ROTATION_DELAY", &c.KeyRotationDelay},
		{"ASSETGATE_PASSWORD_HASH_WAIT", &c.PasswordHashWait},
		{"ASSETGATE_DATABASE_TIMEOUT", &c.DatabaseTimeout},
		{"ASSETGATE_REDIS_TIMEOUT", &c.RedisTimeout},
		{"ASSETGATE_LOGIN_WINDOW", &c.LoginWindow},
		{"ASSETGATE_LOGIN_ACCOUNT_WINDOW", &c.LoginAccountWindow},
		{"ASSETGATE_LOGIN_MAX_DELAY", &c.LoginMaxDelay},
		{"ASSETGATE_LOGIN_PAIR_MEMORY", &c.LoginPairMemory},
		{"ASSETGATE_LOGIN_KNOWN_FOR", &c.LoginKnownFor},
		{"ASSETGATE_RETENTION_INTERVAL", &c.RetentionInterval},
		{"ASSETGATE_MQTT_LEASE", &c.MQTTLease},
	} {
		if s, ok := lookup(getenv, v.name); ok {
			d, err := time.ParseDuration(s)
			if err != nil {
				d = -1 // reported by validate
			}
			*v.dst = d
		}
	}
	for _, v := range []struct {
		name string
		dst  *int
	}{
		{"ASSETGATE_PASSWORD_HASH_CONCURRENCY", &c.PasswordHashConcurrency},
		{"ASSETGATE_MAX_STREAMS_PER_PRINCIPAL", &c.MaxStreamsPerPrincipal},
		{"ASSETGATE_MAX_SOCKETS_PER_PRINCIPAL", &c.MaxSocketsPerPrincipal},
		{"ASSETGATE_LOGIN_MAX_FAILURES_PER_ADDR", &c.LoginMaxPerAddr},
		{"ASSETGATE_LOGIN_MAX_FAILURES_PER_ACCOUNT", &c.LoginMaxPerAccount},
		{"ASSETGATE_LOGIN_FREE_FAILURES_PER_PAIR", &c.LoginFreePerPair},
	} {
		if s, ok := lookup(getenv, v.name); ok {
			n, err := strconv.Atoi(s)
			if err != nil {
				n = -1 // reported by validate
			}
			*v.dst = n
		}
	}
	return c
}

// lookup returns the value of an environment variable and whether it is set
// to something other than the empty string.
func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// register adds the flags shared by every command to fs.
func (c *config) register(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "database `URL`: sqlite:PATH or postgres://... (ASSETGATE_DATABASE_URL)")
	fs.StringVar(&c.SecretKeyFile, "secret-key-file", c.SecretKeyFile, "`file` holding the server key, created when missing (ASSETGATE_SECRET_KEY_FILE)")
	fs.BoolVar(&c.JSON, "json", false, "print machine-readable JSON")
}

// registerServe adds the flags only serve has.
func (c *config) registerServe(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen `address` (ASSETGATE_ADDR)")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "Redis `URL`; empty keeps tokens in the database (ASSETGATE_REDIS_URL)")
	fs.StringVar(&c.Issuer, "issuer", c.Issuer, "issuer `URL` (ASSETGATE_ISSUER)")
	fs.DurationVar(&c.RefreshGrace, "refresh-grace", c.RefreshGrace, "how long a rotated refresh token may be replayed without revoking its family (ASSETGATE_REFRESH_GRACE)")
	fs.DurationVar(&c.DatabaseTimeout, "database-timeout", c.DatabaseTimeout, "how long one database call may take before the request is answered 503 (ASSETGATE_DATABASE_TIMEOUT)")
	fs.DurationVar(&c.RedisTimeout, "redis-timeout", c.RedisTimeout, "how long one Redis command may take before the request is answered 503 (ASSETGATE_REDIS_TIMEOUT)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (ASSETGATE_LOG_LEVEL)")
	fs.StringVar(&c.GraphQLIntrospection, "graphql-introspection", c.GraphQLIntrospection, "true or false: GraphQL schema introspection and GraphiQL (ASSETGATE_GRAPHQL_INTROSPECTION)")
	fs.StringVar(&c.TrustedDocumentsDir, "graphql-trusted-documents", c.TrustedDocumentsDir, "`folder` of *.graphql files: only these GraphQL documents may run (ASSETGATE_GRAPHQL_TRUSTED_DOCUMENTS)")
	fs.Func("metrics-addr", "serve Prometheus /metrics on this `address`; off turns it off (ASSETGATE_METRICS_ADDR, default "+defaultMetricsAddr+")",
		func(s string) error {
			c.MetricsAddr, c.MetricsAddrGiven = s, true
			if s == "" {
				c.MetricsAddr = metricsOff
			}
			return nil
		})
	fs.StringVar(&c.DebugAddr, "debug-addr", c.DebugAddr, "serve net/http/pprof on this `address` (keep it on loopback); off when empty (ASSETGATE_DEBUG_ADDR)")
	fs.IntVar(&c.PasswordHashConcurrency, "password-hash-concurrency", c.PasswordHashConcurrency, "password hashes (19 MiB each) computed at once; 0 derives it from memory and GOMAXPROCS (ASSETGATE_PASSWORD_HASH_CONCURRENCY)")
	fs.DurationVar(&c.PasswordHashWait, "password-hash-wait", c.PasswordHashWait, "how long a login waits for a password hashing slot before it is answered 503 (ASSETGATE_PASSWORD_HASH_WAIT)")
	fs.StringVar(&c.MQTTAddr, "mqtt-addr", c.MQTTAddr, "MQTT listener `address` for devices, e.g. :1883; off when empty (ASSETGATE_MQTT_ADDR)")
	fs.StringVar(&c.MQTTWSAddr, "mqtt-ws-addr", c.MQTTWSAddr, "MQTT over WebSocket listener `address`; off when empty (ASSETGATE_MQTT_WS_ADDR)")
	fs.StringVar(&c.MQTTTLSCert, "mqtt-tls-cert", c.MQTTTLSCert, "PEM certificate `file`: the MQTT listeners speak TLS (ASSETGATE_MQTT_TLS_CERT)")
	fs.DurationVar(&c.MQTTLease, "mqtt-lease", c.MQTTLease, "how long after a crashed replica's last lease renewal its MQTT devices read disconnected (ASSETGATE_MQTT_LEASE)")
	fs.StringVar(&c.MQTTTLSKey, "mqtt-tls-key", c.MQTTTLSKey, "PEM private key `file` of ASSETGATE_MQTT_TLS_CERT (ASSETGATE_MQTT_TLS_KEY)")
}

// validate checks every setting and returns a *configError naming the
// variable and what is wrong with it.
func (c *config) validate() error {
	bad := func(name, format string, args ...any) error {
		return &configError{msg: fmt.Sprintf("%s: %s", name, fmt.Sprintf(format, args...))}
	}
	if _, _, err := storage.ParseURL(c.DatabaseURL); err != nil {
		return bad("ASSETGATE_DATABASE_URL", "%v", err)
	}
	if c.tracingErr != nil {
		return &configError{msg: c.tracingErr.Error()}
	}
	if c.RedisURL != "" {
		if _, err := storage.ParseRedisURL(c.RedisURL); err != nil {
			return bad("ASSETGATE_REDIS_URL", "%v", err)
		}
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return bad("ASSETGATE_ADDR", "must be HOST:PORT or :PORT, got %q", c.Addr)
	}
	if c.DebugAddr != "" {
		if _, port, err := net.SplitHostPort(c.DebugAddr); err != nil || port == "" {
			return bad("ASSETGATE_DEBUG_ADDR", "must be HOST:PORT, got %q", c.DebugAddr)
		}
	}
	if c.MetricsAddr != metricsOff {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			return bad(metricsAddrEnv, "must be HOST:PORT, or off (or empty) to turn /metrics off, got %q", c.MetricsAddr)
		}
	}
	if err := c.validateMQTT(); err != nil {
		return err
	}
	if c.GraphQLIntrospection != "true" && c.GraphQLIntrospection != "false" {
		return bad("ASSETGATE_GRAPHQL_INTROSPECTION", "must be true or false, got %q", c.GraphQLIntrospection)
	}
	if c.TrustedDocumentsDir != "" {
		docs, err := readTrustedDocuments(c.TrustedDocumentsDir)
		if err != nil {
			return bad("ASSETGATE_GRAPHQL_TRUSTED_DOCUMENTS", "%v", err)
		}
		c.trustedDocuments = docs
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return bad("ASSETGATE_ISSUER", "must be an http(s) URL without query or fragment, got %q", c.Issuer)
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		return bad("ASSETGATE_SECRET_KEY", "must be at least 32 characters (e.g. `openssl rand -hex 32`)")
	}
	if c.RefreshGrace < 0 || c.RefreshGrace > time.Hour {
		return bad("ASSETGATE_REFRESH_GRACE", "must be a duration between 0s and 1h")
	}
	if c.IDTokenTTL < time.Minute || c.IDTokenTTL > 24*time.Hour {
		return bad("ASSETGATE_ID_TOKEN_TTL", "must be a duration between 1m and 24h")
	}
	if !slices.Contains(oauth.SigningAlgs(), c.SigningAlg) {
		return bad("ASSETGATE_SIGNING_ALG", "must be RS256 or ES256, got %q", c.SigningAlg)
	}
	if c.KeyRotationDelay < 0 || c.KeyRotationDelay > 7*24*time.Hour {
		return bad("ASSETGATE_KEY_ROTATION_DELAY", "must be a duration between 0s and 168h")
	}
	if c.RetentionInterval < time.Second || c.RetentionInterval > 7*24*time.Hour {
		return bad("ASSETGATE_RETENTION_INTERVAL", "must be a duration between 1s and 168h")
	}
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"ASSETGATE_DATABASE_TIMEOUT", c.DatabaseTimeout}, {"ASSETGATE_REDIS_TIMEOUT", c.RedisTimeout}} {
		if v.d < 10*time.Millisecond || v.d > 5*time.Minute {
			return bad(v.name, "must be a duration between 10ms and 5m")
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("ASSETGATE_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.PasswordHashConcurrency < 0 || c.PasswordHashConcurrency > maxPasswordHashConcurrency {
		return bad("ASSETGATE_PASSWORD_HASH_CONCURRENCY", "must be 0 (derived from memory and CPUs) to %d", maxPasswordHashConcurrency)
	}
	if c.PasswordHashWait < time.Millisecond || c.PasswordHashWait > time.Minute {
		return bad("ASSETGATE_PASSWORD_HASH_WAIT", "must be a duration between 1ms and 1m")
	}
	if c.MaxStreamsPerPrincipal < 1 || c.MaxStreamsPerPrincipal > 100000 {
		return bad("ASSETGATE_MAX_STREAMS_PER_PRINCIPAL", "must be 1 to 100000")
	}
	if c.MaxSocketsPerPrincipal < 1 || c.MaxSocketsPerPrincipal > 100000 {
		return bad("ASSETGATE_MAX_SOCKETS_PER_PRINCIPAL", "must be 1 to 100000")
	}
	if err := c.validateLogin(); err != nil {
		return err
	}
	proxies, err := clientaddr.ParsePrefixes(c.TrustedProxies)
	if err != nil {
		return bad("ASSETGATE_TRUSTED_PROXIES", "%v", err)
	}
	c.trustedProxies = proxies
	if c.rateLimits, err = resource.ParseQuotas(c.RateLimits); err != nil {
		return bad("ASSETGATE_RATE_LIMITS", "%v", err)
	}
	if c.clientRateLimits, err = resource.ParseClientQuotas(c.RateLimitClients); err != nil {
		return bad("ASSETGATE_RATE_LIMIT_CLIENTS", "%v", err)
	}
	return nil
}

// validateLogin checks the thresholds of the login throttle and lockout.
// The account lock must come after the per-pair delays start (it is meant
// to come far past them), and a pair must be remembered at least as long
// as its longest delay.
func (c *config) validateLogin() error {
	bad := func(name, format string, args ...any) error {
		return &configError{msg: fmt.Sprintf("%s: %s", name, fmt.Sprintf(format, args...))}
	}
	for _, v := range []struct {
		name     string
		d        time.Duration
		min, max time.Duration
	}{
		{"ASSETGATE_LOGIN_WINDOW", c.LoginWindow, time.Minute, 24 * time.Hour},
		{"ASSETGATE_LOGIN_ACCOUNT_WINDOW", c.LoginAccountWindow, time.Minute, 7 * 24 * time.Hour},
		{"ASSETGATE_LOGIN_MAX_DELAY", c.LoginMaxDelay, time.Second, 24 * time.Hour},
		{"ASSETGATE_LOGIN_PAIR_MEMORY", c.LoginPairMemory, time.Minute, 30 * 24 * time.Hour},
		{"ASSETGATE_LOGIN_KNOWN_FOR", c.LoginKnownFor, time.Hour, 365 * 24 * time.Hour},
	} {
		if v.d < v.min || v.d > v.max {
			return bad(v.name, "must be a duration between %s and %s", shortDuration(v.min), shortDuration(v.max))
		}
	}
	if c.LoginPairMemory < c.LoginMaxDelay {
		return bad("ASSETGATE_LOGIN_PAIR_MEMORY", "must be at least ASSETGATE_LOGIN_MAX_DELAY (%s)", shortDuration(c.LoginMaxDelay))
	}
	if c.LoginMaxPerAddr < 1 || c.LoginMaxPerAddr > 1_000_000 {
		return bad("ASSETGATE_LOGIN_MAX_FAILURES_PER_ADDR", "must be a number from 1 to 1000000")
	}
	if c.LoginFreePerPair < 1 || c.LoginFreePerPair > 1000 {
		return bad("ASSETGATE_LOGIN_FREE_FAILURES_PER_PAIR", "must be a number from 1 to 1000")
	}
	if c.LoginMaxPerAccount <= c.LoginFreePerPair || c.LoginMaxPerAccount > 1_000_000 {
		return bad("ASSETGATE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "must be a number above ASSETGATE_LOGIN_FREE_FAILURES_PER_PAIR (%d: the account lock comes only past the per-address delays) and at most 1000000",
			c.LoginFreePerPair)
	}
	return nil
}

// shortDuration writes d without trailing zero units ("24h", not "24h0m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// validateMQTT checks the MQTT listener's settings and loads its TLS
// certificate.
func (c *config) validateMQTT() error {
	bad := func(name, format string, args ...any) error {
		return &configError{msg: fmt.Sprintf("%s: %s", name, fmt.Sprintf(format, args...))}
	}
	for _, v := range []struct{ name, addr string }{{"ASSETGATE_MQTT_ADDR", c.MQTTAddr}, {"ASSETGATE_MQTT_WS_ADDR", c.MQTTWSAddr}} {
		if v.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(v.addr); err != nil || port == "" {
			return bad(v.name, "must be HOST:PORT or :PORT, got %q", v.addr)
		}
	}
	if c.MQTTLease < time.Second || c.MQTTLease > 10*time.Minute {
		return bad("ASSETGATE_MQTT_LEASE", "must be a duration between 1s and 10m")
	}
	if (c.MQTTTLSCert == "") != (c.MQTTTLSKey == "") {
		return bad("ASSETGATE_MQTT_TLS_CERT", "ASSETGATE_MQTT_TLS_CERT and ASSETGATE_MQTT_TLS_KEY go together")
	}
	if c.MQTTTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.MQTTTLSCert, c.MQTTTLSKey)
		if err != nil {
			return bad("ASSETGATE_MQTT_TLS_CERT", "%v", err)
		}
		c.mqttTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return nil
}

// mqttConfig is the MQTT listener's configuration.
func (c config) mqttConfig() mqtt.Config {
	return mqtt.Config{Addr: c.MQTTAddr, WSAddr: c.MQTTWSAddr, TLS: c.mqttTLS, Lease: c.MQTTLease}
}

// maxPasswordHashConcurrency bounds ASSETGATE_PASSWORD_HASH_CONCURRENCY:
// 256 hashes at once already take 4.75 GiB.
const maxPasswordHashConcurrency = 256

// secretKey returns the server key: ASSETGATE_SECRET_KEY when set, otherwise
// the contents of the key file, which is generated (32 random bytes, hex,
// mode 0600) on first start.
func (c *config) secretKey() ([]byte, error) {
	if c.SecretKey != "" {
		return []byte(c.SecretKey), nil
	}
	b, err := os.ReadFile(c.SecretKeyFile)
	if err == nil {
		key := strings.TrimSpace(string(b))
		if len(key) < 32 {
			return nil, &configError{msg: fmt.Sprintf("ASSETGATE_SECRET_KEY_FILE: %s holds fewer than 32 characters", c.SecretKeyFile)}
		}
		return []byte(key), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(c.SecretKeyFile), 0o750); err != nil {
		return nil, fmt.Errorf("create secret key folder: %w", err)
	}
	f, err := os.OpenFile(c.SecretKeyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return c.secretKey() // another process wrote it first
	} else if err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	return []byte(key), f.Close()
}

// readTrustedDocuments reads every *.graphql file of dir: the GraphQL
// documents a released app may run. An empty folder is a mistake.
func readTrustedDocuments(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.graphql"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no *.graphql files in %s", dir)
	}
	docs := make([]string, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		docs = append(docs, string(b))
	}
	return docs, nil
}
