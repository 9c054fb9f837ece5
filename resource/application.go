package resource

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// GrantType is an OAuth grant type an application may be registered for;
// its value is the grant_type of the token endpoint (RFC 6749, RFC 8628),
// which the APIs and the database show.
type GrantType string

// Grant types.
const (
	GrantAuthorizationCode GrantType = "authorization_code"
	GrantClientCredentials GrantType = "client_credentials"
	GrantPassword          GrantType = "password"
	GrantRefreshToken      GrantType = "refresh_token"
	GrantImplicit          GrantType = "implicit"
	GrantDeviceCode        GrantType = "urn:ietf:params:oauth:grant-type:device_code"
)

// GrantTypes returns every grant type assetgate supports, in the order the
// metadata document shows them.
func GrantTypes() []GrantType {
	return []GrantType{GrantAuthorizationCode, GrantClientCredentials, GrantPassword, GrantRefreshToken, GrantImplicit, GrantDeviceCode}
}

// AuthMethod is a token endpoint authentication method; its value is the
// RFC 7591 name.
type AuthMethod string

// Token endpoint authentication methods.
const (
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	AuthClientSecretPost  AuthMethod = "client_secret_post"
	AuthNone              AuthMethod = "none"
)

// AuthMethods returns the supported token endpoint authentication methods.
func AuthMethods() []AuthMethod {
	return []AuthMethod{AuthClientSecretBasic, AuthClientSecretPost, AuthNone}
}

// PKCELevel is how strictly an application's authorization requests must
// use PKCE; its value is PingOne's name.
type PKCELevel string

// PKCE enforcement levels.
const (
	PKCEOptional     PKCELevel = "optional"
	PKCERequired     PKCELevel = "required"
	PKCES256Required PKCELevel = "s256_required"
)

// PKCELevels returns the PKCE enforcement levels.
func PKCELevels() []PKCELevel { return []PKCELevel{PKCEOptional, PKCERequired, PKCES256Required} }

// Scopes of tokens, as the scopes package names them. A user token has
// ScopeMe; an application token has ScopeApp and/or ScopeBasic.
const (
	ScopeMe    = scopes.Me
	ScopeApp   = scopes.App
	ScopeBasic = scopes.Basic
)

// OpenID Connect scopes (OpenID Connect Core 1.0 §3.1.2.1, §5.4): openid
// asks for an ID token; profile and email for the user's claims of that
// name. They go with the grants that act for a user, like ScopeMe.
const (
	ScopeOpenID  = "openid"
	ScopeProfile = "profile"
	ScopeEmail   = "email"
)

// Scopes returns every scope, in the order documents show them.
func Scopes() []string {
	return []string{ScopeMe, ScopeApp, ScopeBasic, ScopeOpenID, ScopeProfile, ScopeEmail}
}

// UserScope reports whether sc is a scope of the grants that act for a
// user (me and the OpenID Connect scopes) rather than of client
// credentials.
func UserScope(sc string) bool {
	switch sc {
	case ScopeMe, ScopeOpenID, ScopeProfile, ScopeEmail:
		return true
	}
	return false
}

// Default lifetimes, in seconds, of an application's tokens and device codes.
const (
	DefaultAccessTokenTTL = 2 * 60 * 60
	// MaxAccessTokenTTL is the longest access token lifetime an
	// application may have, in seconds.
	MaxAccessTokenTTL                  = 24 * 60 * 60
	DefaultRefreshTokenDuration        = 60 * 24 * 60 * 60
	DefaultRefreshTokenRollingDuration = 180 * 24 * 60 * 60
	DefaultDeviceTimeout               = 600
	DefaultDevicePollingInterval       = 5
)

// Application is an OAuth client of a customer, with PingOne's settings.
// Its ID is the OAuth client_id.
type Application struct {
	ID                      string
	CustomerID              string
	OwnerID                 string
	Name                    string
	SecretHash              string // SHA-256 of the client secret; "" for public clients
	GrantTypes              []GrantType
	RedirectURIs            []string
	PostLogoutRedirectURIs  []string
	TokenEndpointAuthMethod AuthMethod
	PKCEEnforcement         PKCELevel
	Scopes                  []string
	// AccessTokenTTL is the lifetime of access tokens, in seconds.
	AccessTokenTTL int
	// RefreshTokenDuration is the lifetime of one refresh token, in seconds:
	// each rotation restarts it (the rolling window).
	RefreshTokenDuration int
	// RefreshTokenRollingDuration is how long, in seconds, a chain of
	// rotated refresh tokens may live from the original grant before the
	// user must log in again (the family's absolute deadline).
	RefreshTokenRollingDuration int
	DeviceTimeout               int
	DevicePollingInterval       int
	Enabled                     bool
	// RedirectURIsTrusted reports that an operator vouched for the redirect
	// URIs: the application was created through the CLI (or the demo
	// seeding), not through an API, and no user has added a redirect URI
	// since. Only then does the authorization endpoint send the errors it
	// finds before the user has seen the application to the redirect URI
	// (RFC 6749 §4.1.2.1); otherwise it shows them on its own page, so that
	// a self-registered client is no open redirector (RFC 9700 §4.11.2).
	// The APIs never set it.
	RedirectURIsTrusted bool
	// LogoutRevokesTokens makes RP-initiated logout (/oauth/logout) revoke
	// the application's refresh tokens of the login session that ends.
	// JWTAccessTokens makes its access tokens signed JWTs (RFC 9068)
	// rather than opaque ones. Both are the operator's (the CLI); the APIs
	// never set them.
	LogoutRevokesTokens bool
	JWTAccessTokens     bool
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// OperatorGrants returns the grant types only an operator (the CLI) may
// enable for an application: implicit and password (RFC 9700 §2.1.2,
// §2.4). The APIs refuse to add them; an application an operator gave them
// keeps them when a user edits it.
func OperatorGrants() []GrantType { return []GrantType{GrantImplicit, GrantPassword} }

// Public reports whether the application is a public client (no secret).
func (a *Application) Public() bool { return a.TokenEndpointAuthMethod == AuthNone }

// HasGrant reports whether the application may use grant type g.
func (a *Application) HasGrant(g GrantType) bool { return slices.Contains(a.GrantTypes, g) }

// EffectivePKCE returns the PKCE enforcement that applies: public clients
// always need at least PKCERequired (RFC 9700 §2.1.1). ValidateApplication
// refuses PKCEOptional for a public client, so only an application stored
// before that rule differs from its PKCEEnforcement.
func (a *Application) EffectivePKCE() PKCELevel {
	if a.Public() && a.PKCEEnforcement == PKCEOptional {
		return PKCERequired
	}
	return a.PKCEEnforcement
}

// publicPKCERule is the message of the rule ValidateApplication enforces on
// a public client's pkce_enforcement.
const publicPKCERule = "a public client (token_endpoint_auth_method none) must use PKCE (RFC 9700 §2.1.1): pkce_enforcement must be required or s256_required, not optional"

// showEffectivePKCE sets the PKCE enforcement of an application read from
// the store to the one that applies, so that no API shows optional for a
// public client stored before the rule, and its next update stores what
// applies.
func showEffectivePKCE(a *Application) *Application {
	a.PKCEEnforcement = a.EffectivePKCE()
	return a
}

// ApplicationStore persists applications.
type ApplicationStore interface {
	// CreateApplication inserts a.
	CreateApplication(ctx context.Context, a *Application) error
	// FindApplication returns the application with the given id, or
	// ENotFound.
	FindApplication(ctx context.Context, id string) (*Application, error)
	// ListApplications returns a page of a customer's applications, oldest
	// first, and how many there are in all.
	ListApplications(ctx context.Context, customerID string, offset, limit int) ([]*Application, int, error)
	// UpdateApplication writes every mutable field of a; ENotFound.
	UpdateApplication(ctx context.Context, a *Application) error
	// DeleteApplication removes the application; ENotFound.
	DeleteApplication(ctx context.Context, id string) error
}

// ApplicationInput is what a caller gives to create an application. Zero
// values take the defaults.
type ApplicationInput struct {
	Name                        string
	GrantTypes                  []GrantType
	RedirectURIs                []string
	PostLogoutRedirectURIs      []string
	TokenEndpointAuthMethod     AuthMethod
	PKCEEnforcement             PKCELevel
	Scopes                      []string
	AccessTokenTTL              int
	RefreshTokenDuration        int
	RefreshTokenRollingDuration int
	DeviceTimeout               int
	DevicePollingInterval       int
	Disabled                    bool
	// LogoutRevokesTokens and JWTAccessTokens: see Application; taken only
	// from an operator (Create).
	LogoutRevokesTokens bool
	JWTAccessTokens     bool
}

// ApplicationService holds the rules for applications.
type ApplicationService struct {
	Store ApplicationStore
	Users UserStore
	// Tokens is where Delete (and disabling) revokes an application's
	// tokens.
	Tokens TokenStore
	Now    func() time.Time
}

// ClientSecretPrefix marks client secrets so secret scanners can find them.
const ClientSecretPrefix = "agcs_"

// Create registers an application owned by a user (and so by the user's
// customer) on an operator's word: the CLI and the demo seeding call it. Its
// redirect URIs count as vouched for (RedirectURIsTrusted) and it may use
// any grant type, OperatorGrants included. It returns the application and,
// for confidential clients, the client secret, which is never shown again.
// ENotFound for an unknown owner, EInvalid for inconsistent settings.
func (s *ApplicationService) Create(ctx context.Context, ownerID string, in ApplicationInput) (*Application, string, error) {
	return s.create(ctx, ownerID, in, true)
}

// create registers an application; operator tells whether an operator
// (true) or a user through an API (false) asks.
func (s *ApplicationService) create(ctx context.Context, ownerID string, in ApplicationInput, operator bool) (*Application, string, error) {
	if !ValidID(ownerID) {
		return nil, "", Errorf(ENotFound, "user %q not found", ownerID)
	}
	owner, err := s.Users.FindUser(ctx, ownerID)
	if err != nil {
		return nil, "", err
	}
	now := nowUTC(s.Now)
	a := &Application{
		ID: NewID(), CustomerID: owner.CustomerID, OwnerID: owner.ID,
		Name: strings.TrimSpace(in.Name), GrantTypes: in.GrantTypes,
		RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs,
		TokenEndpointAuthMethod: in.TokenEndpointAuthMethod, PKCEEnforcement: in.PKCEEnforcement,
		Scopes: in.Scopes, AccessTokenTTL: in.AccessTokenTTL,
		RefreshTokenDuration: in.RefreshTokenDuration, RefreshTokenRollingDuration: in.RefreshTokenRollingDuration,
		DeviceTimeout: in.DeviceTimeout, DevicePollingInterval: in.DevicePollingInterval,
		Enabled: !in.Disabled, RedirectURIsTrusted: operator, CreatedAt: now, UpdatedAt: now,
	}
	if operator {
		a.LogoutRevokesTokens, a.JWTAccessTokens = in.LogoutRevokesTokens, in.JWTAccessTokens
	}
	applyApplicationDefaults(a)
	if err := ValidateApplication(a); err != nil {
		return nil, "", err
	}
	if !operator {
		if err := checkOperatorGrants(nil, a.GrantTypes); err != nil {
			return nil, "", err
		}
	}
	var secret string
	if !a.Public() {
		secret = NewSecret(ClientSecretPrefix)
		a.SecretHash = HashSecret(secret)
	}
	if err := s.Store.CreateApplication(ctx, a); err != nil {
		return nil, "", err
	}
	return a, secret, nil
}

// Authenticate returns the enabled application with the given client id when
// secret is its client secret, or EUnauthenticated. The comparison is in
// constant time, and a public client never authenticates with a secret.
func (s *ApplicationService) Authenticate(ctx context.Context, clientID, secret string) (*Application, error) {
	fail := Errorf(EUnauthenticated, "invalid client credentials")
	if !ValidID(clientID) {
		return nil, fail
	}
	a, err := s.Store.FindApplication(ctx, clientID)
	if ErrorCode(err) == ENotFound {
		return nil, fail
	} else if err != nil {
		return nil, err
	}
	if !a.Enabled || a.Public() || !SecretMatches(a.SecretHash, secret) {
		return nil, fail
	}
	return a, nil
}

func applyApplicationDefaults(a *Application) {
	if a.TokenEndpointAuthMethod == "" {
		a.TokenEndpointAuthMethod = AuthClientSecretBasic
	}
	if a.PKCEEnforcement == "" {
		a.PKCEEnforcement = PKCES256Required
	}
	if len(a.Scopes) == 0 {
		if a.HasGrant(GrantClientCredentials) {
			a.Scopes = append(a.Scopes, ScopeApp, ScopeBasic)
		}
		if userGrant(a.GrantTypes) {
			a.Scopes = append(a.Scopes, ScopeMe)
		}
	}
	defaultInt(&a.AccessTokenTTL, DefaultAccessTokenTTL)
	defaultInt(&a.RefreshTokenDuration, DefaultRefreshTokenDuration)
	defaultInt(&a.RefreshTokenRollingDuration, max(DefaultRefreshTokenRollingDuration, a.RefreshTokenDuration))
	defaultInt(&a.DeviceTimeout, DefaultDeviceTimeout)
	defaultInt(&a.DevicePollingInterval, DefaultDevicePollingInterval)
	if a.GrantTypes == nil {
		a.GrantTypes = []GrantType{}
	}
	for _, p := range []*[]string{&a.RedirectURIs, &a.PostLogoutRedirectURIs, &a.Scopes} {
		if *p == nil {
			*p = []string{}
		}
	}
}

func defaultInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

// userGrant reports whether any of grants yields user (`me`) tokens.
func userGrant(grants []GrantType) bool {
	for _, g := range grants {
		switch g {
		case GrantAuthorizationCode, GrantPassword, GrantImplicit, GrantDeviceCode:
			return true
		}
	}
	return false
}

// ValidateApplication checks that an application's settings are known and
// consistent; EInvalid pointing at the offending field. Every setting that
// is wrong on its own is reported (Errors for several); the rules that
// relate settings to each other are checked only when each is valid, and
// the first one broken is reported.
func ValidateApplication(a *Application) error {
	var bad invalids
	if err := CheckText("name", a.Name); err != nil {
		_ = bad.add(err)
	} else if a.Name == "" || len(a.Name) > 200 {
		_ = bad.add(Invalidf("name", "name must be 1 to 200 characters"))
	}
	_ = bad.add(checkEnum("grant_types", a.GrantTypes, GrantTypes(), true))
	if !slices.Contains(AuthMethods(), a.TokenEndpointAuthMethod) {
		_ = bad.add(Invalidf("token_endpoint_auth_method", "token_endpoint_auth_method must be one of %s", strings.Join(Names(AuthMethods()), ", ")))
	}
	if !slices.Contains(PKCELevels(), a.PKCEEnforcement) {
		_ = bad.add(Invalidf("pkce_enforcement", "pkce_enforcement must be one of %s", strings.Join(Names(PKCELevels()), ", ")))
	}
	_ = bad.add(checkEnum("scopes", a.Scopes, Scopes(), true))
	for _, list := range []struct {
		field string
		uris  []string
	}{{"redirect_uris", a.RedirectURIs}, {"post_logout_redirect_uris", a.PostLogoutRedirectURIs}} {
		_ = bad.add(checkURIs(list.field, list.uris))
	}
	for _, r := range []struct {
		field    string
		v        int
		min, max int
	}{
		{"access_token_ttl", a.AccessTokenTTL, 60, MaxAccessTokenTTL},
		{"refresh_token_duration", a.RefreshTokenDuration, 60, 365 * 86400},
		{"refresh_token_rolling_duration", a.RefreshTokenRollingDuration, 60, 3 * 365 * 86400},
		{"device_timeout", a.DeviceTimeout, 60, 3600},
		{"device_polling_interval", a.DevicePollingInterval, 1, 60},
	} {
		if r.v < r.min || r.v > r.max {
			_ = bad.add(Invalidf(r.field, "%s must be between %d and %d", r.field, r.min, r.max))
		}
	}
	if err := bad.err(); err != nil {
		return err
	}
	return checkApplicationRules(a)
}

// checkURIs checks a list of redirect URIs: EInvalid pointing at field.
func checkURIs(field string, uris []string) error {
	if len(uris) > 20 {
		return Invalidf(field, "at most 20 URIs")
	}
	for _, u := range uris {
		if err := ValidateRedirectURI(u); err != nil {
			return Invalidf(field, "%q: %s", u, err.(*Error).Message)
		}
	}
	return nil
}

// checkApplicationRules checks the rules between an application's
// settings, each valid on its own; EInvalid for the first one broken.
func checkApplicationRules(a *Application) error {
	if a.Public() && a.HasGrant(GrantClientCredentials) {
		return Invalidf("grant_types", "a public client (token_endpoint_auth_method none) cannot use client_credentials")
	}
	if a.Public() && a.HasGrant(GrantPassword) {
		return Invalidf("grant_types", "a public client (token_endpoint_auth_method none) cannot use password: the password grant needs client authentication")
	}
	if a.Public() && a.PKCEEnforcement == PKCEOptional {
		return Invalidf("pkce_enforcement", "%s", publicPKCERule)
	}
	if a.HasGrant(GrantRefreshToken) && !userGrant(a.GrantTypes) {
		return Invalidf("grant_types", "refresh_token needs a grant that issues user tokens")
	}
	for _, sc := range a.Scopes {
		if UserScope(sc) && !userGrant(a.GrantTypes) {
			return Invalidf("scopes", "scope %s needs a grant that issues user tokens", sc)
		}
		if (sc == ScopeProfile || sc == ScopeEmail) && !slices.Contains(a.Scopes, ScopeOpenID) {
			return Invalidf("scopes", "scope %s needs scope openid", sc)
		}
		if !UserScope(sc) && !a.HasGrant(GrantClientCredentials) {
			return Invalidf("scopes", "scope %s needs the client_credentials grant", sc)
		}
	}
	if (a.HasGrant(GrantAuthorizationCode) || a.HasGrant(GrantImplicit)) && len(a.RedirectURIs) == 0 {
		return Invalidf("redirect_uris", "authorization_code and implicit need at least one redirect URI")
	}
	if a.RefreshTokenRollingDuration < a.RefreshTokenDuration {
		return Invalidf("refresh_token_rolling_duration", "refresh_token_rolling_duration must not be shorter than refresh_token_duration")
	}
	return nil
}

// checkOperatorGrants refuses, for a change a user asks through an API,
// any of OperatorGrants in grants that was not in before: EInvalid pointing
// at grant_types.
func checkOperatorGrants(before, grants []GrantType) error {
	for _, g := range OperatorGrants() {
		if slices.Contains(grants, g) && !slices.Contains(before, g) {
			return Invalidf("grant_types", "grant type %s can be enabled only by an operator (assetgate app create --grant %s)", g, g)
		}
	}
	return nil
}

// checkEnum checks that got lists known values, each once (and at least
// one when nonEmpty): EInvalid pointing at field.
func checkEnum[T ~string](field string, got, known []T, nonEmpty bool) error {
	if nonEmpty && len(got) == 0 {
		return Invalidf(field, "%s must not be empty", field)
	}
	for i, g := range got {
		if !slices.Contains(known, g) {
			return Invalidf(field, "unknown value %q; known: %s", g, strings.Join(Names(known), ", "))
		}
		if slices.Contains(got[:i], g) {
			return Invalidf(field, "%q is listed twice", g)
		}
	}
	return nil
}

// ValidateRedirectURI checks one redirect URI: absolute, no fragment, no
// user info, and plain http only towards the loopback interface (RFC 8252,
// RFC 9700 §2.1). Private-use schemes of native apps are allowed.
func ValidateRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case !StorableText(raw):
		return Errorf(EInvalid, "must be valid UTF-8 without NUL characters")
	case err != nil || u.Scheme == "" || len(raw) > 2000:
		return Errorf(EInvalid, "must be an absolute URI")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return Errorf(EInvalid, "must not contain a fragment")
	case u.User != nil:
		return Errorf(EInvalid, "must not contain user information")
	case u.Scheme == "https" && u.Host == "":
		return Errorf(EInvalid, "must name a host")
	case u.Scheme == "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return Errorf(EInvalid, "http is allowed only for loopback hosts; use https")
		}
	case u.Scheme == "javascript" || u.Scheme == "data" || u.Scheme == "file":
		return Errorf(EInvalid, "scheme %s is not allowed", u.Scheme)
	}
	return nil
}

// Find returns the application with the given id, or ENotFound.
func (s *ApplicationService) Find(ctx context.Context, id string) (*Application, error) {
	if !ValidID(id) {
		return nil, Errorf(ENotFound, "application %q not found", id)
	}
	a, err := s.Store.FindApplication(ctx, id)
	if err != nil {
		return nil, err
	}
	return showEffectivePKCE(a), nil
}

// RotateSecret gives a confidential application a new client secret and
// returns it; the old one stops working at once. EInvalid for public clients.
func (s *ApplicationService) RotateSecret(ctx context.Context, a *Application) (string, error) {
	if a.Public() {
		return "", Errorf(EInvalid, "a public client has no secret")
	}
	secret := NewSecret(ClientSecretPrefix)
	a.SecretHash = HashSecret(secret)
	a.UpdatedAt = nowUTC(s.Now)
	if err := s.Store.UpdateApplication(ctx, a); err != nil {
		return "", err
	}
	return secret, nil
}
