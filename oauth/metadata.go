package oauth

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/assetgate/assetgate/resource"
)

// Paths of the routes of this file's siblings (revoke.go, introspect.go,
// tokeninfo.go, device.go, device_page.go, metadata.go).
const (
	revokePath              = "/oauth/revoke"
	introspectPath          = "/oauth/introspect"
	tokenInfoPath           = "/oauth/token/info"
	deviceAuthorizationPath = "/oauth/device_authorization"
	devicePath              = "/device"
	metadataPath            = "/.well-known/oauth-authorization-server"
)

// Route patterns (Go 1.22 ServeMux) of those routes, as Patterns lists them.
const (
	routeRevoke              = "POST " + revokePath
	routeIntrospect          = "POST " + introspectPath
	routeTokenInfo           = "GET " + tokenInfoPath
	routeDeviceAuthorization = "POST " + deviceAuthorizationPath
	routeDevicePage          = "GET " + devicePath
	routeDevicePagePost      = "POST " + devicePath
	routeMetadata            = "GET " + metadataPath
)

// Patterns of the token and authorization endpoints (server.go), which the
// metadata names when they are mounted.
const (
	routeToken     = "POST /oauth/token"
	routeAuthorize = "GET /oauth/authorize"
)

// endpointURL returns the absolute URL of path under the issuer.
func (s *Server) endpointURL(path string) string {
	return strings.TrimRight(s.cfg.Issuer, "/") + path
}

// metadata is the authorization server metadata document (RFC 8414 §2),
// with the device authorization endpoint of RFC 8628 §4.
type metadata struct {
	Issuer                                    string   `json:"issuer"`
	AuthorizationEndpoint                     string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                             string   `json:"token_endpoint,omitempty"`
	RevocationEndpoint                        string   `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint                     string   `json:"introspection_endpoint,omitempty"`
	DeviceAuthorizationEndpoint               string   `json:"device_authorization_endpoint,omitempty"`
	ScopesSupported                           []string `json:"scopes_supported"`
	ResponseTypesSupported                    []string `json:"response_types_supported"`
	ResponseModesSupported                    []string `json:"response_modes_supported,omitempty"`
	GrantTypesSupported                       []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported         []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	CodeChallengeMethodsSupported             []string `json:"code_challenge_methods_supported,omitempty"`
	// AuthorizationResponseIssParameterSupported says every authorization
	// response carries iss (RFC 9207 §3).
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`

	// OpenID Connect Discovery 1.0 §3, when the JWKS is mounted.
	JWKSURI                          string   `json:"jwks_uri,omitempty"`
	UserInfoEndpoint                 string   `json:"userinfo_endpoint,omitempty"`
	EndSessionEndpoint               string   `json:"end_session_endpoint,omitempty"`
	SubjectTypesSupported            []string `json:"subject_types_supported,omitempty"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported,omitempty"`
	ClaimsSupported                  []string `json:"claims_supported,omitempty"`
	PromptValuesSupported            []string `json:"prompt_values_supported,omitempty"`
	// Neither the claims parameter nor request objects are supported
	// (OpenID Connect Core 1.0 §5.5, §6): said so, not left to defaults.
	ClaimsParameterSupported     *bool `json:"claims_parameter_supported,omitempty"`
	RequestParameterSupported    *bool `json:"request_parameter_supported,omitempty"`
	RequestURIParameterSupported *bool `json:"request_uri_parameter_supported,omitempty"`
}

// Metadata returns the handler of "GET
// /.well-known/oauth-authorization-server" (RFC 8414).
func (s *Server) Metadata() http.Handler { return &metadataHandler{s: s} }

// Discovery returns the handler of "GET /.well-known/openid-configuration"
// (OpenID Connect Discovery 1.0): the same document.
func (s *Server) Discovery() http.Handler { return &metadataHandler{s: s} }

// metadataHandler serves the metadata document, built at its first request
// (when Patterns, which lists this handler too, can be asked) and then
// kept.
type metadataHandler struct {
	s    *Server
	once sync.Once
	body []byte
}

func (h *metadataHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(func() {
		var err error
		if h.body, err = json.Marshal(h.s.metadata()); err != nil {
			panic(err) // a struct of strings always encodes
		}
	})
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "public, max-age=300")
	// Public information that browser-based clients fetch from any origin.
	hd.Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(h.body)
}

// metadata builds the document from what drives the server, so that it
// cannot promise what the server does not do: an endpoint is named only
// when Patterns mounts it; a grant type only when the token endpoint (or,
// for implicit, the authorization endpoint) serves it; the response types
// are go-oauth2's configured ones; the PKCE methods those checkChallenge
// accepts; client authentication methods and scopes are the ones
// applications are validated against.
func (s *Server) metadata() *metadata {
	mounted := s.Patterns()
	has := func(route string) bool { _, ok := mounted[route]; return ok }
	m := &metadata{
		Issuer:                            s.cfg.Issuer,
		ScopesSupported:                   resource.Scopes(),
		TokenEndpointAuthMethodsSupported: resource.Names(resource.AuthMethods()),
		ResponseTypesSupported:            []string{},
		GrantTypesSupported:               []string{},
	}
	endpoints := []struct {
		route string
		path  string
		field *string
	}{
		{routeAuthorize, "/oauth/authorize", &m.AuthorizationEndpoint},
		{routeToken, "/oauth/token", &m.TokenEndpoint},
		{routeRevoke, revokePath, &m.RevocationEndpoint},
		{routeIntrospect, introspectPath, &m.IntrospectionEndpoint},
		{routeDeviceAuthorization, deviceAuthorizationPath, &m.DeviceAuthorizationEndpoint},
		{routeJWKS, jwksPath, &m.JWKSURI},
		{routeUserInfo, userInfoPath, &m.UserInfoEndpoint},
		{routeLogout, logoutPath, &m.EndSessionEndpoint},
	}
	for _, ep := range endpoints {
		if has(ep.route) {
			*ep.field = s.endpointURL(ep.path)
		}
	}
	if has(routeRevoke) {
		m.RevocationEndpointAuthMethodsSupported = resource.Names(resource.AuthMethods())
	}
	if has(routeIntrospect) {
		// Confidential clients only (or a bearer token with scope app,
		// which has no registered method name).
		for _, am := range resource.AuthMethods() {
			if am != resource.AuthNone {
				m.IntrospectionEndpointAuthMethodsSupported = append(m.IntrospectionEndpointAuthMethodsSupported, string(am))
			}
		}
	}
	if has(routeAuthorize) {
		for _, rt := range s.lib.Config.AllowedResponseTypes {
			m.ResponseTypesSupported = append(m.ResponseTypesSupported, string(rt))
			switch rt {
			case "code":
				m.ResponseModesSupported = append(m.ResponseModesSupported, "query")
			case "token":
				m.ResponseModesSupported = append(m.ResponseModesSupported, "fragment")
			}
		}
		if has(routeJWKS) {
			// Served by this package's authorization endpoint, not the
			// library's (oidc_authorize.go).
			m.ResponseTypesSupported = append(m.ResponseTypesSupported, oidcResponseTypes...)
			no := false
			m.SubjectTypesSupported = []string{"public"}
			m.IDTokenSigningAlgValuesSupported = SigningAlgs()
			m.ClaimsSupported = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid",
				"email", "email_verified", "preferred_username", "updated_at"}
			m.PromptValuesSupported = []string{"none", "login", "consent"}
			m.ClaimsParameterSupported, m.RequestParameterSupported, m.RequestURIParameterSupported = &no, &no, &no
		}
		m.CodeChallengeMethodsSupported = []string{pkceS256, pkcePlain}
		m.AuthorizationResponseIssParameterSupported = true // responseURL
	}
	for _, g := range resource.GrantTypes() {
		var served bool
		switch g {
		case resource.GrantImplicit:
			served = has(routeAuthorize) && slices.Contains(m.ResponseTypesSupported, "token")
		case resource.GrantAuthorizationCode:
			served = has(routeAuthorize) && has(routeToken) && slices.Contains(m.ResponseTypesSupported, "code")
		case resource.GrantDeviceCode:
			_, ext := s.grants[g]
			served = ext && has(routeToken) && has(routeDeviceAuthorization)
		default:
			_, ext := s.grants[g]
			served = has(routeToken) && (ext || isKnownGrant(g))
		}
		if served {
			m.GrantTypesSupported = append(m.GrantTypesSupported, string(g))
		}
	}
	return m
}
