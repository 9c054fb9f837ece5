// Package oauth is assetgate's OAuth 2.0 authorization server: the token
// endpoint (authorization code with PKCE, client credentials, password,
// refresh token with rotation), the authorization endpoint with its login and
// consent pages, and the look-up of access tokens for the bearer middleware.
//
// It is built on github.com/go-oauth2/oauth2/v4, wrapped rather than used as
// is: assetgate's own handlers do what must happen before the library sees a
// request (transport checks, client authentication), the library dispatches
// the grants through its extension points, and an oauth2.Manager of this
// package keeps every token in a resource.TokenStore and every code and
// session in a resource.EphemeralStore. The library's defects that this
// wrapping closes are listed, with their regression tests, in
// defects_test.go.
package oauth

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	oauth2 "github.com/go-oauth2/oauth2/v4"
	libserver "github.com/go-oauth2/oauth2/v4/server"

	"github.com/assetgate/assetgate/clientaddr"
	"github.com/assetgate/assetgate/metrics"
	"github.com/assetgate/assetgate/resource"
)

// Defaults of Config.
const (
	DefaultCodeTTL    = 60 * time.Second
	DefaultIDTokenTTL = time.Hour
	DefaultSessionTTL = 8 * time.Hour
	// A device authorization is asked for once per device sign-in; a
	// household or an office behind one address signs in a few devices,
	// not dozens, in ten minutes.
	DefaultMaxDeviceAuthorizationsPerAddr = 20
	DefaultDeviceAuthorizationWindow      = 10 * time.Minute
	defaultAuthorizeRequestTTL            = 10 * time.Minute
)

// Config is the authorization server's configuration. Zero durations take
// the defaults above. The limits of failed logins are those of
// Deps.Users.Throttle.
type Config struct {
	// Issuer is the server's base URL, e.g. https://auth.example.com. An
	// https issuer makes the session cookie Secure.
	Issuer string
	// Key is the server secret key: tokens, codes and sessions are stored
	// under HMAC-SHA256 hashes made with it. At least 32 bytes.
	Key []byte
	// RefreshGrace is how long after its rotation a refresh token may be
	// presented again without revoking its family (the response is still
	// invalid_grant). Default 0: any reuse revokes the family.
	RefreshGrace time.Duration
	// CodeTTL is the lifetime of an authorization code.
	CodeTTL time.Duration
	// SessionTTL is the lifetime of a login session.
	SessionTTL time.Duration
	// MaxDeviceAuthorizationsPerAddr is how many device authorizations
	// (RFC 8628 §3.1) one client address may ask for in
	// DeviceAuthorizationWindow; past it the endpoint answers 429.
	MaxDeviceAuthorizationsPerAddr int
	DeviceAuthorizationWindow      time.Duration

	// OpenID Connect (oidc.go, keys.go).
	// IDTokenTTL is the lifetime of ID tokens.
	IDTokenTTL time.Duration
	// SigningAlg is the algorithm of new signing keys: RS256 (default) or
	// ES256.
	SigningAlg string
	// RotationDelay is how long after `keys rotate` the new key starts
	// signing; KeyRefresh how often a replica re-reads the keys; JWKSMaxAge
	// the max-age of the JWKS. RotationDelay must exceed the other two
	// together so that relying parties know a key before it signs.
	RotationDelay time.Duration
	KeyRefresh    time.Duration
	JWKSMaxAge    time.Duration
}

// Deps are the services and stores the authorization server works with.
type Deps struct {
	Apps *resource.ApplicationService
	// Users logs users in. Its Throttle limits failed logins (and wrong
	// device user codes, on a counter of their own), so that guesses
	// through the token endpoint, the login pages and the resource API's
	// password change count together.
	Users     *resource.UserService
	Tokens    resource.TokenStore
	Ephemeral resource.EphemeralStore
	// Keys, FamilySessions and Consents are the OpenID Connect stores: the
	// signing keys, the login session of each token family, the users'
	// remembered consents.
	Keys           resource.SigningKeyStore
	FamilySessions resource.FamilySessionStore
	Consents       resource.ConsentStore
	Logger         *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// RateLimits counts the requests of the token, introspection,
	// revocation and device authorization endpoints per client address and
	// per client; nil limits nothing.
	RateLimits *resource.RateLimits
	// ClientAddr returns the client's IP address for login throttling and
	// rate limits; nil means the host of r.RemoteAddr. Behind a reverse
	// proxy, give a clientaddr.Resolver's Addr that trusts the proxy.
	ClientAddr func(r *http.Request) string
	// Metrics counts tokens issued, introspections, revocations, refresh
	// reuse and device code polls; nil counts nothing.
	Metrics *metrics.Metrics
}

// Server is the authorization server. Its methods return the http.Handler of
// each route; routes.go mounts them.
type Server struct {
	cfg       Config
	apps      *resource.ApplicationService
	users     *resource.UserService
	tokens    resource.TokenStore
	ephemeral resource.EphemeralStore
	throttle  *resource.LoginThrottle // Users.Throttle
	limits    *resource.RateLimits
	log       *slog.Logger
	now       func() time.Time
	metrics   *metrics.Metrics

	keys           *keyring
	familySessions resource.FamilySessionStore
	consents       resource.ConsentStore

	lib        *libserver.Server
	pages      *template.Template
	css        template.CSS
	secure     bool // the issuer is https: cookies are Secure
	csp        string
	clientAddr func(r *http.Request) string
	// grants holds the grants that the token endpoint dispatches itself
	// because go-oauth2 cannot (it only knows its four grant types); the
	// device code grant of the next issue is added here.
	grants map[resource.GrantType]grantFunc
	// deviceAuthRefused counts device authorizations refused by the
	// per-address limit.
	deviceAuthRefused atomic.Int64
}

// New returns an authorization server. It panics when cfg is unusable (see
// Config.Validate) or a dependency is missing: that is a wiring mistake, to
// be found at start-up.
func New(cfg Config, deps Deps) *Server {
	if err := cfg.Validate(); err != nil {
		panic("oauth.New: " + err.Error())
	}
	if deps.Apps == nil || deps.Users == nil || deps.Tokens == nil || deps.Ephemeral == nil ||
		deps.Keys == nil || deps.FamilySessions == nil || deps.Consents == nil {
		panic("oauth.New: Apps, Users, Tokens, Ephemeral, Keys, FamilySessions and Consents are required")
	}
	if deps.Users.Throttle == nil || deps.Users.Hasher == nil {
		panic("oauth.New: Users.Throttle and Users.Hasher are required")
	}
	cfg.defaults()
	s := &Server{
		cfg: cfg, apps: deps.Apps, users: deps.Users, tokens: deps.Tokens, ephemeral: deps.Ephemeral, throttle: deps.Users.Throttle,
		log: deps.Logger, now: deps.Now, clientAddr: deps.ClientAddr, metrics: deps.Metrics,
		secure:         strings.HasPrefix(cfg.Issuer, "https://"),
		familySessions: deps.FamilySessions, consents: deps.Consents,
		limits: deps.RateLimits,
	}
	s.keys = &keyring{s: s, store: deps.Keys}
	if s.clientAddr == nil {
		s.clientAddr = (*clientaddr.Resolver)(nil).Addr // the connection's peer
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.pages, s.css = parsePages(), template.CSS(pageCSS())
	s.csp = pageCSP()
	s.lib = s.newLibraryServer()
	s.grants = map[resource.GrantType]grantFunc{resource.GrantDeviceCode: s.deviceCodeGrant}
	return s
}

// Validate reports whether the configuration is usable: an absolute http(s)
// issuer, a key of at least 32 bytes, no negative durations.
func (c *Config) Validate() error {
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("issuer must be an absolute http(s) URL")
	}
	if len(c.Key) < 32 {
		return errors.New("key must be at least 32 bytes")
	}
	if c.RefreshGrace < 0 || c.CodeTTL < 0 || c.SessionTTL < 0 ||
		c.MaxDeviceAuthorizationsPerAddr < 0 || c.DeviceAuthorizationWindow < 0 ||
		c.IDTokenTTL < 0 || c.RotationDelay < 0 || c.KeyRefresh < 0 || c.JWKSMaxAge < 0 {
		return errors.New("durations and limits must not be negative")
	}
	if c.SigningAlg != "" && !slices.Contains(SigningAlgs(), c.SigningAlg) {
		return errors.New("signing algorithm must be RS256 or ES256")
	}
	return nil
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.CodeTTL, DefaultCodeTTL)
	def(&c.SessionTTL, DefaultSessionTTL)
	def(&c.DeviceAuthorizationWindow, DefaultDeviceAuthorizationWindow)
	def(&c.IDTokenTTL, DefaultIDTokenTTL)
	def(&c.KeyRefresh, DefaultKeyRefresh)
	def(&c.JWKSMaxAge, DefaultJWKSMaxAge)
	if c.RotationDelay == 0 {
		c.RotationDelay = DefaultRotationDelay
	}
	if c.SigningAlg == "" {
		c.SigningAlg = AlgRS256
	}
	if c.MaxDeviceAuthorizationsPerAddr <= 0 {
		c.MaxDeviceAuthorizationsPerAddr = DefaultMaxDeviceAuthorizationsPerAddr
	}
}

// newLibraryServer configures go-oauth2's server with this package's
// manager and hooks. The library's defaults that are defects are replaced
// here: see the hook functions in hooks.go.
func (s *Server) newLibraryServer() *libserver.Server {
	lib := libserver.NewServer(&libserver.Config{
		TokenType:            "Bearer",
		AllowedResponseTypes: []oauth2.ResponseType{oauth2.Code, oauth2.Token},
		AllowedGrantTypes: []oauth2.GrantType{
			oauth2.AuthorizationCode, oauth2.PasswordCredentials, oauth2.ClientCredentials, oauth2.Refreshing,
		},
		AllowedCodeChallengeMethods: []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256, oauth2.CodeChallengePlain},
	}, &manager{s: s})
	lib.SetClientInfoHandler(s.clientInfo)
	lib.SetClientScopeHandler(s.clientScope)
	lib.SetPasswordAuthorizationHandler(s.passwordAuthorization)
	lib.SetRefreshingScopeHandler(s.refreshingScope)
	lib.SetRefreshTokenResolveHandler(refreshTokenFromBody)
	lib.SetExtensionFieldsHandler(extensionFields)
	lib.SetInternalErrorHandler(s.internalError)
	lib.SetResponseErrorHandler(s.responseError)
	lib.SetResponseTokenHandler(s.responseToken)
	lib.SetUserAuthorizationHandler(func(http.ResponseWriter, *http.Request) (string, error) {
		// HandleAuthorizeRequest is never called: the authorization
		// endpoint is this package's own (authorize.go).
		return "", errAccessDenied("the user did not authorize the request")
	})
	return lib
}

// Token returns the handler of "POST /oauth/token".
func (s *Server) Token() http.Handler { return http.HandlerFunc(s.handleToken) }

// Authorize returns the handler of "GET /oauth/authorize" (the authorization
// request: login, then consent), "POST /oauth/authorize" (login, approve or
// deny from the pages' forms) and "DELETE /oauth/authorize" (deny).
func (s *Server) Authorize() http.Handler { return http.HandlerFunc(s.handleAuthorize) }

// Patterns lists the Go 1.22 ServeMux patterns of the routes this package
// serves, each with its handler, for routes.go to mount.
func (s *Server) Patterns() map[string]http.Handler {
	device := s.Device()
	return map[string]http.Handler{
		"POST /oauth/token":       s.Token(),
		"GET /oauth/authorize":    s.Authorize(),
		"POST /oauth/authorize":   s.Authorize(),
		"DELETE /oauth/authorize": s.Authorize(),
		// Token lifecycle and device authorization (revoke.go,
		// introspect.go, tokeninfo.go, metadata.go, device*.go).
		routeRevoke:              s.Revoke(),
		routeIntrospect:          s.Introspect(),
		routeTokenInfo:           s.TokenInfo(),
		routeMetadata:            s.Metadata(),
		routeDeviceAuthorization: s.DeviceAuthorization(),
		routeDevicePage:          device,
		routeDevicePagePost:      device,
		// OpenID Connect (keys.go, oidc.go, logout.go).
		routeJWKS:         s.JWKS(),
		routeUserInfo:     s.UserInfo(),
		routeUserInfoPost: s.UserInfo(),
		routeDiscovery:    s.Discovery(),
		routeLogout:       s.Logout(),
		routeLogoutPost:   s.Logout(),
	}
}

// clock returns the current time in UTC at microsecond precision, the
// precision both databases keep.
func (s *Server) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }
