package oauth

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	oauth2 "github.com/go-oauth2/oauth2/v4"
	libserver "github.com/go-oauth2/oauth2/v4/server"

	"github.com/assetgate/assetgate/resource"
)

// handleAuthorize is the authorization endpoint:
//
//   - GET: checks the authorization request and shows the login page, or
//     the consent page when the browser's session is logged in;
//   - POST: the pages' form, with action=login (e-mail and password),
//     action=approve or action=deny, each with the session's CSRF token and
//     the request's parameters;
//   - DELETE: deny (parameters in the query or form body, CSRF token in the
//     csrf_token parameter or the X-CSRF-Token header).
//
// An unknown client or unregistered redirect_uri is shown on an error page,
// never redirected to. So is any other error of the request itself (unknown
// response_type, bad scope, missing PKCE...) when no operator vouched for
// the client's redirect URIs (see requestFailed). Approval redirects with a
// code (or, for implicit, an access token in the fragment); denial with
// error=access_denied; state and the issuer (RFC 9207) always come back.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	switch r.Method {
	case http.MethodGet:
		params = r.URL.Query()
	case http.MethodPost, http.MethodDelete:
		var err error
		if params, err = s.authorizeForm(w, r); err != nil {
			s.renderError(w, http.StatusBadRequest, "The form could not be read.")
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		s.renderError(w, http.StatusMethodNotAllowed, "This method is not allowed here.")
		return
	}
	if !storableParams(params) {
		s.renderError(w, http.StatusBadRequest, unstorableMessage)
		return
	}
	ctx := r.Context()
	ar, err := s.parseAuthRequest(ctx, params)
	if err != nil {
		s.requestFailed(w, ar, err)
		return
	}
	sess, err := s.loadSession(r)
	if err != nil {
		s.authorizeFailed(w, ar, err)
		return
	}
	if r.Method == http.MethodGet {
		if sess == nil {
			if sess, err = s.startSession(ctx, w, nil, ""); err != nil {
				s.authorizeFailed(w, ar, err)
				return
			}
		}
		s.interact(w, r, ar, sess)
		return
	}

	csrf := params.Get("csrf_token")
	if csrf == "" {
		csrf = r.Header.Get("X-CSRF-Token")
	}
	if !sess.csrfValid(csrf) {
		s.renderError(w, http.StatusForbidden, "This form has expired. Go back to the application and start again.")
		return
	}
	action := params.Get("action")
	if r.Method == http.MethodDelete {
		action = "deny"
	}
	switch action {
	case "login":
		s.handleLogin(w, r, ar, sess, params)
	case "approve":
		s.handleApprove(w, r, ar, sess)
	case "deny":
		s.redirect(w, ar.errorURL(errAccessDenied("The user denied the request.")))
	default:
		s.renderError(w, http.StatusBadRequest, "Unknown action.")
	}
}

// authorizeForm reads the form of a POST or DELETE: the body only for POST,
// query and body for DELETE (which browsers do not send from forms).
func (s *Server) authorizeForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	params := r.URL.Query()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return params, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	body, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, err
	}
	for k, v := range body {
		params[k] = v
	}
	return params, nil
}

// authorizeFailed answers a failed authorization request: a page for errors
// that must not be redirected, a redirect with the OAuth error otherwise,
// and an error page (cause logged) for internal errors and stores that did
// not answer in time.
func (s *Server) authorizeFailed(w http.ResponseWriter, ar *authRequest, err error) {
	var pe *pageError
	if errors.As(err, &pe) {
		s.renderError(w, pe.status, pe.message)
		return
	}
	e := s.asError(err)
	if ar == nil || e.Code == CodeServerError || e.Code == CodeTemporarilyUnavailable {
		s.renderFailure(w, e)
		return
	}
	s.redirect(w, ar.errorURL(e))
}

// requestFailed answers an authorization request that failed its checks.
// Those run before the user has logged in or seen the application, so a
// redirect would send the browser on at once, with no user interaction: a
// client whose redirect URIs an operator vouched for (RedirectURIsTrusted:
// made with the CLI) gets the RFC 6749 §4.1.2.1 error redirect; any other
// (registered by a user through an API) gets the OAuth error on
// assetgate's own page, so that it cannot use the endpoint as an open
// redirector (RFC 9700 §4.11.2). Errors after the user saw the application
// (access_denied on deny) are redirected for every client.
func (s *Server) requestFailed(w http.ResponseWriter, ar *authRequest, err error) {
	var e *Error
	if ar != nil && !ar.app.RedirectURIsTrusted && errors.As(err, &e) &&
		e.Code != CodeServerError && e.Code != CodeTemporarilyUnavailable {
		// Failures of the server (500, 503 with Retry-After) keep their
		// own page.
		s.renderOAuthError(w, e)
		return
	}
	s.authorizeFailed(w, ar, err)
}

// showLoginOrConsent shows the consent page to a logged-in user of the
// application's customer, and the login page otherwise.
func (s *Server) showLoginOrConsent(w http.ResponseWriter, r *http.Request, ar *authRequest, sess *session, loginError string) {
	if sess.UserID != "" {
		u, err := s.users.Find(r.Context(), sess.UserID)
		switch {
		case err == nil && u.CustomerID == ar.app.CustomerID:
			d := formData("Allow access", r.URL.Path, ar, sess)
			d.UserEmail = u.Email
			s.render(w, http.StatusOK, "consent", d)
			return
		case err == nil:
			loginError = fmt.Sprintf("The account %s cannot use this application. Log in with another account.", u.Email)
		case resource.ErrorCode(err) != resource.ENotFound:
			s.authorizeFailed(w, ar, err)
			return
		}
	}
	d := formData("Log in", r.URL.Path, ar, sess)
	d.Error = loginError
	s.render(w, http.StatusOK, "login", d)
}

// handleLogin checks the login form. On success the browser gets a new,
// logged-in session and is sent back to the authorization request (GET),
// which now shows the consent page.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, ar *authRequest, sess *session, params url.Values) {
	ctx := r.Context()
	email := params.Get("email")
	u, err := s.login(ctx, ar.app, email, params.Get("password"), s.pageLogin(r))
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			s.authorizeFailed(w, ar, err)
			return
		}
		d := formData("Log in", r.URL.Path, ar, sess)
		status, msg := loginRefusal(w, e)
		d.Email, d.Error = email, msg
		s.render(w, status, "login", d)
		return
	}
	if _, err := s.startSession(ctx, w, sess, u.ID); err != nil {
		s.authorizeFailed(w, ar, err)
		return
	}
	s.setKnownBrowser(w, r, u.ID)
	s.setPageHeaders(w)
	http.Redirect(w, r, r.URL.Path+"?"+ar.paramsAfterLogin().Encode(), http.StatusSeeOther)
}

// handleApprove issues the code (or implicit token) of an approved request
// through go-oauth2's GetAuthorizeToken, which runs the scope hook and this
// package's manager, and redirects to the client.
func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request, ar *authRequest, sess *session) {
	ctx := r.Context()
	if sess.UserID == "" {
		s.showLoginOrConsent(w, r, ar, sess, "")
		return
	}
	u, err := s.users.Find(ctx, sess.UserID)
	if err != nil || u.CustomerID != ar.app.CustomerID {
		if err != nil && resource.ErrorCode(err) != resource.ENotFound {
			s.authorizeFailed(w, ar, err)
			return
		}
		s.showLoginOrConsent(w, r, ar, &session{id: sess.id, CSRF: sess.CSRF}, "Log in again.")
		return
	}
	if err := s.rememberConsent(ctx, ar, u); err != nil {
		s.authorizeFailed(w, ar, err)
		return
	}
	s.issueAuthorization(w, r, ar, sess, u)
}

// issueAuthorization issues the response of an authorization request the
// user approved (now, or earlier: a remembered consent): a code, an
// implicit access token, or an ID token (issueOIDCImplicit).
func (s *Server) issueAuthorization(w http.ResponseWriter, r *http.Request, ar *authRequest, sess *session, u *resource.User) {
	ctx := r.Context()
	login := oidcLogin{Nonce: ar.oidc.nonce, AuthTime: sess.AuthTime, SID: sess.SID}
	if isOIDCResponseType(ar.responseType) {
		s.issueOIDCImplicit(w, r, ar, u, login)
		return
	}
	tr := &tokenRequest{app: ar.app, grant: ar.grant, user: u, addr: s.clientAddr(r), login: login}
	ctx = newContextWithTokenRequest(ctx, tr)
	req := &libserver.AuthorizeRequest{
		ResponseType: oauth2.ResponseType(ar.responseType), ClientID: ar.app.ID, Scope: ar.scope,
		RedirectURI: ar.redirectURI, State: ar.state, UserID: u.ID,
		CodeChallenge: ar.challenge, CodeChallengeMethod: oauth2.CodeChallengeMethod(ar.method),
		Request: r.WithContext(ctx),
	}
	ti, err := s.lib.GetAuthorizeToken(ctx, req)
	if err != nil {
		s.authorizeFailed(w, ar, err)
		return
	}
	v := url.Values{}
	for k, val := range s.lib.GetAuthorizeData(req.ResponseType, ti) {
		v.Set(k, fmt.Sprint(val))
	}
	s.redirect(w, ar.responseURL(v))
}

// redirect sends the browser to the client's redirect URI.
func (s *Server) redirect(w http.ResponseWriter, location string) {
	s.setPageHeaders(w)
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusFound)
}
