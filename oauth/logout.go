package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

const (
	logoutPath      = "/oauth/logout"
	routeLogout     = "GET " + logoutPath
	routeLogoutPost = "POST " + logoutPath
	// sidKeyPrefix maps a login session's public id (sid) to the keyed
	// hash of its cookie, so that a logout naming the sid ends it.
	sidKeyPrefix = "oauth:sid:"
)

// logoutParams are the parameters the confirmation form carries along.
var logoutParams = []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"}

// indexSession stores the sid of a logged-in session.
func (s *Server) indexSession(ctx context.Context, sess *session) error {
	return s.ephemeral.Put(ctx, sidKeyPrefix+sess.SID, []byte(resource.KeyedHash(s.cfg.Key, sess.id)), s.cfg.SessionTTL)
}

// endSession deletes the login session of sid (and the session sess, when
// given). Sessions live in the ephemeral store every replica shares, so
// the session ends on all of them at once.
func (s *Server) endSession(ctx context.Context, sess *session, sid string) error {
	if sess != nil {
		if err := s.ephemeral.Delete(ctx, sessionKeyPrefix+resource.KeyedHash(s.cfg.Key, sess.id)); err != nil {
			return err
		}
	}
	if sid == "" {
		return nil
	}
	hash, err := s.ephemeral.Take(ctx, sidKeyPrefix+sid)
	switch {
	case resource.ErrorCode(err) == resource.ENotFound:
		return nil
	case err != nil:
		return err
	}
	return s.ephemeral.Delete(ctx, sessionKeyPrefix+string(hash))
}

// hintClaims are the claims of an id_token_hint that logout and the
// authorization endpoint read.
type hintClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience audience `json:"aud"`
	SID      string   `json:"sid"`
}

// audience is an aud claim: one string or an array of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// parseIDTokenHint checks an id_token_hint: an ID token this server signed
// with a key it still publishes, with this issuer. Its expiry does not
// matter (OpenID Connect Core 1.0 §3.1.2.1). nil, with an invalid_request
// error, for anything else.
func (s *Server) parseIDTokenHint(ctx context.Context, raw string) (*hintClaims, error) {
	bad := errInvalidRequest("id_token_hint is not an ID token issued by this server.")
	typ, payload, err := s.verifyJWT(ctx, raw)
	if err == errJWTInvalid || (err == nil && typ != "" && typ != "JWT") {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	var c hintClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer != s.cfg.Issuer || c.Subject == "" || len(c.Audience) == 0 {
		return nil, bad
	}
	return &c, nil
}

// Logout returns the handler of "GET/POST /oauth/logout", the end session
// endpoint. With a valid id_token_hint the login session ends at once;
// without one the user confirms on a page (a POST with the session's CSRF
// token), so that no other site can log the user out. The browser then goes
// to post_logout_redirect_uri (with state) when it is one of the
// application's post_logout_redirect_uris, exactly; otherwise (none given,
// no application named, not registered) it gets a plain "logged out" page.
// An application with LogoutRevokesTokens also gets its refresh tokens of
// the session revoked.
func (s *Server) Logout() http.Handler { return http.HandlerFunc(s.handleLogout) }

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.renderError(w, http.StatusBadRequest, "The form could not be read.")
			return
		}
		params = r.PostForm
	}
	if !storableParams(params) {
		s.renderError(w, http.StatusBadRequest, unstorableMessage)
		return
	}
	for _, k := range logoutParams {
		if len(params[k]) > 1 {
			s.renderError(w, http.StatusBadRequest, "The request names more than one "+k+".")
			return
		}
	}
	var hint *hintClaims
	if raw := params.Get("id_token_hint"); raw != "" {
		var err error
		if hint, err = s.parseIDTokenHint(ctx, raw); err != nil {
			var e *Error
			if errors.As(err, &e) && e.Code == CodeInvalidRequest {
				s.renderOAuthError(w, e)
				return
			}
			s.renderFailure(w, s.asError(err))
			return
		}
	}
	clientID := params.Get("client_id")
	if hint != nil {
		if clientID != "" && !slices.Contains(hint.Audience, clientID) {
			s.renderOAuthError(w, errInvalidRequest("client_id is not the audience of id_token_hint."))
			return
		}
		if clientID == "" {
			clientID = hint.Audience[0]
		}
	}
	var app *resource.Application
	if clientID != "" && resource.ValidID(clientID) {
		a, err := s.apps.Store.FindApplication(ctx, clientID)
		switch {
		case err == nil && a.Enabled:
			app = a
		case err != nil && resource.ErrorCode(err) != resource.ENotFound:
			s.renderFailure(w, s.asError(err))
			return
		}
	}
	target := params.Get("post_logout_redirect_uri")
	if target != "" && (app == nil || !slices.Contains(app.PostLogoutRedirectURIs, target)) {
		s.renderOAuthError(w, errInvalidRequest("post_logout_redirect_uri is not registered for this application."))
		return
	}
	sess, err := s.loadSession(r)
	if err != nil {
		s.renderFailure(w, s.asError(err))
		return
	}
	if hint == nil {
		// No proof that the application asks: the user confirms.
		if r.Method == http.MethodGet || params.Get("action") != "logout" {
			s.showLogoutConfirm(w, r, sess, params)
			return
		}
		if !sess.csrfValid(params.Get("csrf_token")) {
			s.renderError(w, http.StatusForbidden, "This form has expired. Go back to the application and start again.")
			return
		}
	}
	sid := ""
	if sess != nil {
		sid = sess.SID
	}
	if hint != nil && hint.SID != "" {
		if sess != nil && sess.SID != hint.SID {
			// The hint names a session other than the browser's: that
			// one ends; the browser's ends too (its user asked to log out).
			if err := s.endSession(ctx, nil, hint.SID); err != nil {
				s.renderFailure(w, s.asError(err))
				return
			}
		}
		if sid == "" {
			sid = hint.SID
		}
	}
	if app != nil && app.LogoutRevokesTokens && sid != "" {
		if err := s.revokeSessionTokens(ctx, app, sid); err != nil {
			s.renderFailure(w, s.asError(err))
			return
		}
	}
	if err := s.endSession(ctx, sess, sid); err != nil {
		s.renderFailure(w, s.asError(err))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	if target == "" {
		s.render(w, http.StatusOK, "status", &pageData{Title: "Logged out", Error: "You are logged out. You can close this page."})
		return
	}
	v := url.Values{}
	if st := params.Get("state"); st != "" {
		v.Set("state", st)
	}
	loc := target
	if len(v) > 0 {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		loc += sep + v.Encode()
	}
	s.redirect(w, loc)
}

// showLogoutConfirm shows the page that asks the user to confirm the
// logout, carrying the request's parameters.
func (s *Server) showLogoutConfirm(w http.ResponseWriter, r *http.Request, sess *session, params url.Values) {
	ctx := r.Context()
	if sess == nil {
		var err error
		if sess, err = s.startSession(ctx, w, nil, ""); err != nil {
			s.renderFailure(w, s.asError(err))
			return
		}
	}
	d := &pageData{Title: "Log out", Action: logoutPath, CSRF: sess.CSRF}
	for _, k := range logoutParams {
		if v := params.Get(k); v != "" {
			d.Params = append(d.Params, hiddenField{k, v})
		}
	}
	if sess.UserID != "" {
		if u, err := s.users.Find(ctx, sess.UserID); err == nil {
			d.UserEmail = u.Email
		}
	}
	s.render(w, http.StatusOK, "logout", d)
}

// revokeSessionTokens revokes the token families of the login session sid
// that were issued to app.
func (s *Server) revokeSessionTokens(ctx context.Context, app *resource.Application, sid string) error {
	families, err := s.familySessions.FamiliesOfSession(ctx, sid)
	if err != nil {
		return err
	}
	for _, id := range families {
		toks, err := s.tokens.ListFamilyTokens(ctx, id)
		if err != nil {
			return err
		}
		if len(toks) == 0 || toks[0].ClientID != app.ID {
			continue
		}
		if err := s.tokens.RevokeFamily(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
