package oauth

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// authParams are the parameters of an authorization request that the login
// and consent forms carry along (as hidden fields) to the POST.
var authParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method",
	"nonce", "prompt", "max_age", "login_hint", "id_token_hint"}

// authRequest is a checked authorization request.
type authRequest struct {
	app          *resource.Application
	responseType string             // "code" or "token"
	grant        resource.GrantType // authorization_code or implicit
	redirectURI  string             // the registered URI the response goes to
	scope        string             // the scope granted on approval
	state        string
	challenge    string
	method       string
	// issuer is the server's issuer identifier, sent as iss with every
	// response (RFC 9207).
	issuer string
	// params are the request's own parameters, to carry through the forms.
	params url.Values
	// oidc holds the OpenID Connect parameters (oidc_authorize.go).
	oidc oidcParams
}

// fragment reports whether the response goes in the redirect URI's
// fragment (implicit) rather than its query.
func (ar *authRequest) fragment() bool {
	return ar.responseType == "token" || isOIDCResponseType(ar.responseType)
}

// pageError is an error of an authorization request that must not be sent
// to the client's redirect URI, because the client or the URI is not
// trustworthy: it is shown on an error page.
type pageError struct {
	status  int
	message string
}

func (e *pageError) Error() string { return e.message }

// parseAuthRequest checks an authorization request. It returns a *pageError
// when the client is unknown or disabled, or the redirect_uri is missing or
// not registered — the error is then shown, never redirected (go-oauth2's
// DefaultValidateURI accepts any URI whose host ends with the registered
// one's, on any path; defect 4). Redirect URIs match the registered ones
// exactly: scheme, host, port, path and query. Any other problem is an
// *Error to send to the (valid) redirect URI, with ar set.
func (s *Server) parseAuthRequest(ctx context.Context, params url.Values) (*authRequest, error) {
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(params[k]) > 1 {
			return nil, &pageError{400, "The request names more than one " + k + "."}
		}
	}
	clientID := params.Get("client_id")
	unknown := &pageError{400, "The application that sent you here is unknown or disabled."}
	if !resource.ValidID(clientID) {
		return nil, unknown
	}
	app, err := s.apps.Store.FindApplication(ctx, clientID)
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil, unknown
	} else if err != nil {
		return nil, err
	}
	if !app.Enabled {
		return nil, unknown
	}
	ar := &authRequest{app: app, state: params.Get("state"), issuer: s.cfg.Issuer, params: url.Values{}}
	for _, k := range authParams {
		if v, ok := params[k]; ok {
			ar.params[k] = v
		}
	}
	switch uri := params.Get("redirect_uri"); {
	case uri != "" && slices.Contains(app.RedirectURIs, uri):
		ar.redirectURI = uri
	case uri == "" && len(app.RedirectURIs) == 1:
		ar.redirectURI = app.RedirectURIs[0]
	case uri == "":
		return nil, &pageError{400, "The request has no redirect_uri."}
	default:
		return nil, &pageError{400, "The redirect_uri of the request is not registered for this application."}
	}
	ar.responseType = normalizeResponseType(params.Get("response_type"))
	if ar.responseType == "token" || isOIDCResponseType(ar.responseType) {
		ar.grant = resource.GrantImplicit
	}
	for _, k := range authParams {
		if len(params[k]) > 1 {
			return ar, errInvalidRequest("Parameter %s is given more than once.", k)
		}
	}
	switch ar.responseType {
	case "code":
		ar.grant = resource.GrantAuthorizationCode
	case "token":
	case "id_token", "id_token token":
		if !app.HasGrant(resource.GrantImplicit) {
			return ar, errUnauthorizedClient("This application may not use response_type %s.", ar.responseType)
		}
	case "":
		return ar, errInvalidRequest("response_type is missing.")
	default:
		return ar, errUnsupportedResponseType("response_type must be code or token (or, for applications with the implicit grant, id_token or \"id_token token\").")
	}
	if !app.HasGrant(ar.grant) {
		return ar, errUnauthorizedClient("This application may not use response_type %s.", ar.responseType)
	}
	if ar.scope, err = grantedScope(app, ar.grant, params.Get("scope")); err != nil {
		return ar, err
	}
	if ar.grant == resource.GrantAuthorizationCode {
		ar.challenge = params.Get("code_challenge")
		if ar.method, err = checkChallenge(app, ar.challenge, params.Get("code_challenge_method")); err != nil {
			return ar, err
		}
	}
	if err := s.parseOIDCParams(ctx, ar, params); err != nil {
		return ar, err
	}
	return ar, nil
}

// responseURL returns the client's redirect URI with the response
// parameters, state and iss in its query, or in its fragment for implicit.
// iss, the issuer of the metadata document, lets the client tell which
// server answered, against mix-up attacks (RFC 9207 §2).
func (ar *authRequest) responseURL(params url.Values) string {
	if ar.state != "" {
		params.Set("state", ar.state)
	}
	params.Set("iss", ar.issuer)
	if ar.fragment() {
		base, _, _ := strings.Cut(ar.redirectURI, "#")
		return base + "#" + params.Encode()
	}
	sep := "?"
	if strings.Contains(ar.redirectURI, "?") {
		sep = "&"
	}
	return ar.redirectURI + sep + params.Encode()
}

// errorURL returns the redirect URI carrying an OAuth error.
func (ar *authRequest) errorURL(e *Error) string {
	v := url.Values{"error": {e.Code}}
	if e.Description != "" {
		v.Set("error_description", e.Description)
	}
	return ar.responseURL(v)
}
