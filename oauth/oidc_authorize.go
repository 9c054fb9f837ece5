package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// The OpenID Connect side of the authorization endpoint: the parameters
// prompt, max_age, login_hint, id_token_hint and nonce; remembered consent;
// and the response types id_token and "id_token token".

// oidcResponseTypes are the OpenID Connect response types this package
// serves itself (go-oauth2 knows code and token only). They are implicit
// responses, in the fragment, for applications with the implicit grant.
var oidcResponseTypes = []string{"id_token", "id_token token"}

func isOIDCResponseType(rt string) bool { return slices.Contains(oidcResponseTypes, rt) }

// normalizeResponseType puts the values of a multi-valued response_type in
// one order ("token id_token" is "id_token token").
func normalizeResponseType(rt string) string {
	f := strings.Fields(rt)
	if len(f) < 2 {
		return rt
	}
	slices.Sort(f)
	return strings.Join(f, " ")
}

// oidcParams are the checked OpenID Connect parameters of a request.
type oidcParams struct {
	nonce     string
	prompt    []string
	maxAge    int // -1: not given
	loginHint string
	hint      *hintClaims
}

func (p *oidcParams) prompts(v string) bool { return slices.Contains(p.prompt, v) }

// parseOIDCParams checks the OpenID Connect parameters of an authorization
// request (OpenID Connect Core 1.0 §3.1.2.1). Request objects are not
// supported (§6): request and request_uri get their own errors; the claims
// parameter is ignored, as the metadata says.
func (s *Server) parseOIDCParams(ctx context.Context, ar *authRequest, params url.Values) error {
	p := &ar.oidc
	p.maxAge = -1
	if params.Has("request") {
		return newError(CodeRequestNotSupported, "Request objects are not supported.")
	}
	if params.Has("request_uri") {
		return newError(CodeRequestURINotSupported, "Request objects are not supported.")
	}
	p.nonce, p.loginHint = params.Get("nonce"), params.Get("login_hint")
	if len(p.nonce) > 512 || len(p.loginHint) > 320 {
		return errInvalidRequest("nonce or login_hint is too long.")
	}
	p.prompt = strings.Fields(params.Get("prompt"))
	for _, v := range p.prompt {
		switch v {
		case "none", "login", "consent", "select_account":
		default:
			return errInvalidRequest("prompt %q is not supported.", v)
		}
	}
	if p.prompts("none") && len(p.prompt) > 1 {
		return errInvalidRequest("prompt none cannot be combined with other values.")
	}
	if v := params.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errInvalidRequest("max_age must be a non-negative number of seconds.")
		}
		p.maxAge = n
	}
	if isOIDCResponseType(ar.responseType) {
		if !hasScope(ar.scope, resource.ScopeOpenID) {
			return errInvalidScope("response_type %s needs scope openid.", ar.responseType)
		}
		if p.nonce == "" {
			// OpenID Connect Core 1.0 §3.2.2.1: REQUIRED for the implicit flow.
			return errInvalidRequest("nonce is required with response_type %s.", ar.responseType)
		}
	}
	if raw := params.Get("id_token_hint"); raw != "" {
		h, err := s.parseIDTokenHint(ctx, raw)
		if err != nil {
			return err
		}
		if !slices.Contains(h.Audience, ar.app.ID) {
			return errInvalidRequest("id_token_hint was not issued to this client.")
		}
		p.hint = h
	}
	return nil
}

// paramsAfterLogin are the request's parameters for the redirect after a
// successful login: without what asked for that login (prompt=login,
// max_age, id_token_hint), so that the fresh login satisfies the request.
func (ar *authRequest) paramsAfterLogin() url.Values {
	v := url.Values{}
	for k, vs := range ar.params {
		v[k] = vs
	}
	v.Del("max_age")
	v.Del("id_token_hint")
	var keep []string
	for _, p := range ar.oidc.prompt {
		if p != "login" && p != "select_account" {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		v.Del("prompt")
	} else {
		v.Set("prompt", strings.Join(keep, " "))
	}
	return v
}

// needsLogin reports whether the request asks for a new login of a
// browser whose session is logged in as u: prompt=login (or
// select_account), a login older than max_age, or an id_token_hint naming
// another user.
func (s *Server) needsLogin(ar *authRequest, sess *session, u *resource.User) bool {
	p := &ar.oidc
	if p.prompts("login") || p.prompts("select_account") {
		return true
	}
	if p.maxAge >= 0 {
		// max_age=0 asks for a login now, like prompt=login (OpenID
		// Connect Core 1.0 §3.1.2.1).
		if p.maxAge == 0 || sess.AuthTime.IsZero() || int64(s.clock().Sub(sess.AuthTime)/time.Second) > int64(p.maxAge) {
			return true
		}
	}
	return p.hint != nil && p.hint.Subject != u.ID
}

// interact answers the GET of an authorization request: the login page
// when the browser is not logged in (or the request asks for a new login),
// then the consent page unless the user already consented to these scopes
// for this application (and prompt=consent does not ask again), in which
// case the response is issued at once. With prompt=none, login_required
// and consent_required go to the client instead of a page (through
// requestFailed: on assetgate's page for a client no operator vouched
// for, like every error found before the user saw the application).
func (s *Server) interact(w http.ResponseWriter, r *http.Request, ar *authRequest, sess *session) {
	ctx := r.Context()
	none := ar.oidc.prompts("none")
	var u *resource.User
	loginError := ""
	if sess.UserID != "" {
		found, err := s.users.Find(ctx, sess.UserID)
		switch {
		case err == nil && found.CustomerID == ar.app.CustomerID:
			u = found
		case err == nil:
			loginError = fmt.Sprintf("The account %s cannot use this application. Log in with another account.", found.Email)
		case resource.ErrorCode(err) != resource.ENotFound:
			s.authorizeFailed(w, ar, err)
			return
		}
	}
	if u == nil || s.needsLogin(ar, sess, u) {
		if none {
			s.requestFailed(w, ar, newError(CodeLoginRequired, "The user is not logged in."))
			return
		}
		d := formData("Log in", r.URL.Path, ar, sess)
		d.Error, d.Email = loginError, ar.oidc.loginHint
		s.render(w, http.StatusOK, "login", d)
		return
	}
	remembered, err := s.consented(ctx, ar, u)
	if err != nil {
		s.authorizeFailed(w, ar, err)
		return
	}
	if remembered && !ar.oidc.prompts("consent") {
		s.issueAuthorization(w, r, ar, sess, u)
		return
	}
	if none {
		s.requestFailed(w, ar, newError(CodeConsentRequired, "The user has not consented to this request."))
		return
	}
	d := formData("Allow access", r.URL.Path, ar, sess)
	d.UserEmail = u.Email
	s.render(w, http.StatusOK, "consent", d)
}

// consented reports whether u already granted the application every scope
// of the request. Consent is remembered for OpenID Connect requests (scope
// openid), which sign a user in again and again; a plain OAuth request for
// `me` asks every time, as before.
func (s *Server) consented(ctx context.Context, ar *authRequest, u *resource.User) (bool, error) {
	if !hasScope(ar.scope, resource.ScopeOpenID) {
		return false, nil
	}
	c, err := s.consents.FindConsent(ctx, u.ID, ar.app.ID)
	if resource.ErrorCode(err) == resource.ENotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return scopeWithin(ar.scope, c.Scope), nil
}

// rememberConsent records that u granted the application the request's
// scopes, with those granted before (OpenID Connect requests only; see
// consented).
func (s *Server) rememberConsent(ctx context.Context, ar *authRequest, u *resource.User) error {
	if !hasScope(ar.scope, resource.ScopeOpenID) {
		return nil
	}
	now := s.clock()
	c := &resource.Consent{UserID: u.ID, ClientID: ar.app.ID, CustomerID: u.CustomerID, Scope: ar.scope, CreatedAt: now, UpdatedAt: now}
	old, err := s.consents.FindConsent(ctx, u.ID, ar.app.ID)
	switch {
	case err == nil:
		c.Scope = canonicalScope(append(strings.Fields(old.Scope), strings.Fields(ar.scope)...))
	case resource.ErrorCode(err) != resource.ENotFound:
		return err
	}
	return s.consents.PutConsent(ctx, c)
}

// issueOIDCImplicit answers response_type id_token (an ID token alone) and
// "id_token token" (with an access token, which the ID token's at_hash
// binds), in the redirect URI's fragment. No refresh token.
func (s *Server) issueOIDCImplicit(w http.ResponseWriter, r *http.Request, ar *authRequest, u *resource.User, login oidcLogin) {
	ctx := r.Context()
	v := url.Values{}
	access := ""
	if ar.responseType == "id_token token" {
		is, err := s.issueFamily(ctx, ar.app, u, ar.scope, "", false)
		if err != nil {
			s.authorizeFailed(w, ar, err)
			return
		}
		if err := s.afterUserGrant(ctx, ar.app, u, is, login, false); err != nil {
			s.authorizeFailed(w, ar, err)
			return
		}
		access = is.access
		v.Set("access_token", is.access)
		v.Set("token_type", "Bearer")
		v.Set("expires_in", strconv.Itoa(int(is.accessTok.ExpiresAt.Sub(is.accessTok.IssuedAt)/time.Second)))
		v.Set("scope", ar.scope)
	}
	idt, err := s.idToken(ctx, ar.app, u, ar.scope, access, login)
	if err != nil {
		s.authorizeFailed(w, ar, err)
		return
	}
	v.Set("id_token", idt)
	s.redirect(w, ar.responseURL(v))
}
