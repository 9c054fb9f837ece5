package oauth

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"

	oauth2 "github.com/go-oauth2/oauth2/v4"

	"github.com/assetgate/assetgate/resource"
)

// maxFormBytes bounds the body of a token endpoint request.
const maxFormBytes = 64 << 10

// tokenRequest is what this package knows about one token or authorization
// request while go-oauth2 handles it: the authenticated application, and what
// the hooks learn on the way (the user, the refresh token). The library
// passes only the request to its hooks, so it travels in the context.
type tokenRequest struct {
	app   *resource.Application
	grant resource.GrantType
	form  url.Values
	// addr is the client's network address, for login throttling.
	addr string
	// user is the resource owner of a password or authorization grant.
	user *resource.User
	// refresh is the presented refresh token, once found.
	refresh *resource.Token
	// login is the OpenID Connect side of an authorization request: the
	// nonce and the login session.
	login oidcLogin
}

type tokenRequestKey struct{}

func newContextWithTokenRequest(ctx context.Context, tr *tokenRequest) context.Context {
	return context.WithValue(ctx, tokenRequestKey{}, tr)
}

func tokenRequestFromContext(ctx context.Context) *tokenRequest {
	tr, _ := ctx.Value(tokenRequestKey{}).(*tokenRequest)
	return tr
}

// grantFunc issues the tokens of a grant that the token endpoint dispatches
// itself rather than through go-oauth2.
type grantFunc func(ctx context.Context, tr *tokenRequest) (oauth2.TokenInfo, error)

// handleToken is POST /oauth/token. It checks the transport (POST,
// application/x-www-form-urlencoded, parameters only in the body and each at
// most once), authenticates the client, checks the application may use the
// grant (never password for a public client), and hands the request to
// go-oauth2, whose hooks and manager (this package's) do the rest.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		e := errInvalidRequest("The token endpoint accepts POST only.")
		e.Status = http.StatusMethodNotAllowed
		s.writeError(w, e)
		return
	}
	addrLimit, ok := s.limitAddr(w, r, tokenLimits)
	if !ok {
		return
	}
	form, err := readForm(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	// go-oauth2 reads parameters with r.FormValue, which would also read the
	// query string: from here on the request's form is the body alone, so a
	// token or secret in the URL is never read.
	r.Form, r.PostForm = form, form
	r.URL.RawQuery = ""

	ctx := r.Context()
	app, err := s.authenticateClient(ctx, r, form)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if !s.limitClient(w, r, tokenLimits, addrLimit, app.ID) {
		return
	}
	grant := resource.GrantType(form.Get("grant_type"))
	if grant == "" {
		s.writeError(w, errInvalidRequest("grant_type is missing."))
		return
	}
	if _, ext := s.grants[grant]; !ext && !isKnownGrant(grant) {
		s.writeError(w, errUnsupportedGrantType("grant_type %q is not supported.", grant))
		return
	}
	if !app.HasGrant(grant) {
		s.writeError(w, errUnauthorizedClient("The client may not use the %s grant.", grant))
		return
	}
	if grant == resource.GrantPassword && app.Public() {
		// Registration refuses this pair; an application stored before it
		// did must not trade a user's password for tokens without client
		// authentication either.
		s.writeError(w, errUnauthorizedClient("A public client may not use the password grant."))
		return
	}
	tr := &tokenRequest{app: app, grant: grant, form: form, addr: s.clientAddr(r)}
	ctx = newContextWithTokenRequest(ctx, tr)
	r = r.WithContext(ctx)

	if fn := s.extensionGrant(tr); fn != nil {
		ti, err := fn(ctx, tr)
		s.countExtensionGrant(tr, err)
		if err != nil {
			s.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, nil, s.lib.GetTokenData(ti))
		return
	}
	// The library validates the grant's parameters, runs the hooks
	// (hooks.go) and the manager (manager.go) and writes the response
	// through s.responseToken.
	_ = s.lib.HandleTokenRequest(w, r)
}

// countExtensionGrant counts the outcome of a grant this package
// dispatches itself (the device code grant): a token response, or a poll
// answered with an error code.
func (s *Server) countExtensionGrant(tr *tokenRequest, err error) {
	if err == nil {
		s.metrics.TokenIssued(string(tr.grant), tr.app.Public())
	}
	if tr.grant != resource.GrantDeviceCode {
		return
	}
	switch e := (*Error)(nil); {
	case err == nil:
		s.metrics.DevicePolled("issued")
	case errors.As(err, &e):
		s.metrics.DevicePolled(e.Code)
	default:
		s.metrics.DevicePolled("error")
	}
}

// extensionGrant returns the function of a grant this package dispatches
// itself, or nil when go-oauth2 dispatches it.
func (s *Server) extensionGrant(tr *tokenRequest) grantFunc {
	if fn, ok := s.grants[tr.grant]; ok {
		return fn
	}
	if tr.grant == resource.GrantPassword && tr.form.Has("external_authentication_token") {
		// go-oauth2 insists on username and password.
		return s.externalTokenGrant
	}
	return nil
}

func isKnownGrant(g resource.GrantType) bool {
	switch g {
	case resource.GrantAuthorizationCode, resource.GrantClientCredentials, resource.GrantPassword, resource.GrantRefreshToken:
		return true
	}
	return false
}

// readForm parses an application/x-www-form-urlencoded body. Any other media
// type, a parameter given twice (RFC 6749 §3.2), or text that cannot be
// stored (see storableParams) is invalid_request.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errInvalidRequest("The request body must be application/x-www-form-urlencoded.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, errInvalidRequest("The request body is not a valid form.")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, errInvalidRequest("Parameter %s is given more than once.", k)
		}
	}
	if !storableParams(r.PostForm) {
		return nil, errInvalidRequest("Parameters must be valid UTF-8 without NUL characters.")
	}
	return r.PostForm, nil
}

// storableParams reports whether every name and value of params is text
// the stores can take (resource.StorableText): PostgreSQL refuses NUL
// characters and invalid UTF-8, so they are refused here, on every
// database alike, before any parameter reaches a store. Every form and
// query string of this package's endpoints and pages is checked.
func storableParams(params url.Values) bool {
	for k, vs := range params {
		if !resource.StorableText(k) {
			return false
		}
		for _, v := range vs {
			if !resource.StorableText(v) {
				return false
			}
		}
	}
	return true
}
