package oauth

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

//go:embed templates/device.html
var deviceTemplateFS embed.FS

// Device returns the handler of "GET /device" and "POST /device", the page
// where a user enters the user code a device shows, logs in (the login of
// the authorization endpoint: same form, same throttling, same session),
// sees the application and the scope it asks for, and approves or denies.
//
// GET shows the code form, or with ?user_code= (verification_uri_complete)
// goes straight to the login or consent page of that code. The POSTs carry
// the session's CSRF token and an action: code (the code form), login,
// approve or deny. Wrong user codes are counted per client address like
// failed logins (the address limit of the users' resource.LoginThrottle, on
// a counter of their own); past the limit every code is refused with 429
// until the window ends.
func (s *Server) Device() http.Handler {
	pages := template.Must(parsePages().ParseFS(deviceTemplateFS, "templates/device.html"))
	return &devicePage{s: s, pages: pages}
}

// devicePage serves /device. Its templates are the authorization pages'
// (for head, foot, hidden fields) and the device pages.
type devicePage struct {
	s     *Server
	pages *template.Template
}

// deviceData is what the device templates show.
type deviceData struct {
	*pageData
	UserCode string
	Message  string
}

// pendingDevice is a pending device authorization found by its user code.
type pendingDevice struct {
	hash     string // keyed hash of the device code
	userCode string // normalized
	rec      *deviceRecord
	app      *resource.Application
}

func (p *devicePage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := p.s
	ctx := r.Context()
	var params url.Values
	switch r.Method {
	case http.MethodGet:
		params = r.URL.Query()
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.renderError(w, http.StatusBadRequest, "The form could not be read.")
			return
		}
		params = r.PostForm
	default:
		w.Header().Set("Allow", "GET, POST")
		s.renderError(w, http.StatusMethodNotAllowed, "This method is not allowed here.")
		return
	}
	if !storableParams(params) {
		s.renderError(w, http.StatusBadRequest, unstorableMessage)
		return
	}
	sess, err := s.loadSession(r)
	if err != nil {
		p.fail(w, err)
		return
	}
	typed := params.Get("user_code")
	if r.Method == http.MethodGet {
		if sess == nil {
			if sess, err = s.startSession(ctx, w, nil, ""); err != nil {
				p.fail(w, err)
				return
			}
		}
		if typed == "" {
			p.showEnter(w, r, sess, http.StatusOK, "", "")
			return
		}
		pd, err := p.findUserCode(ctx, s.clientAddr(r), typed)
		if err != nil {
			p.codeFailed(w, r, sess, typed, err)
			return
		}
		p.showLoginOrConsent(w, r, sess, pd, "")
		return
	}
	if !sess.csrfValid(params.Get("csrf_token")) {
		s.renderError(w, http.StatusForbidden, "This form has expired. Open the page again and start over.")
		return
	}
	action := params.Get("action")
	switch action {
	case "code", "login", "approve", "deny":
	default:
		s.renderError(w, http.StatusBadRequest, "Unknown action.")
		return
	}
	pd, err := p.findUserCode(ctx, s.clientAddr(r), typed)
	if err != nil {
		p.codeFailed(w, r, sess, typed, err)
		return
	}
	switch action {
	case "code":
		p.redirectToCode(w, r, pd)
	case "login":
		p.handleLogin(w, r, sess, pd, params)
	default:
		p.handleDecision(w, r, sess, pd, action == "approve")
	}
}

// findUserCode returns the pending device authorization of a user code as
// typed. Past the address's limit of wrong codes it returns errThrottled;
// for a wrong (unknown, expired, used, malformed) code a *pageError, after
// counting the failure.
func (p *devicePage) findUserCode(ctx context.Context, addr, typed string) (*pendingDevice, error) {
	s := p.s
	att, err := s.throttle.Reserve(ctx, s.throttle.PerAddr(resource.CounterDeviceCode, addr))
	if resource.ErrorCode(err) == resource.ERateLimited {
		s.log.Warn("oauth: device user code refused: throttled", "address", addr)
		return nil, errThrottled(resource.ErrorRetryAfter(err))
	} else if err != nil {
		return nil, err
	}
	pd, err := p.lookupUserCode(ctx, typed)
	if err != nil || pd != nil {
		_ = att.Release(ctx) // right, or never checked; a store error leaves it counted
		return pd, err
	}
	s.log.Warn("oauth: wrong device user code", "address", addr)
	return nil, &pageError{http.StatusBadRequest, "This code is unknown, expired or already used. Check the code on your device."}
}

// lookupUserCode returns the pending device authorization of a user code,
// or nil when there is none.
func (p *devicePage) lookupUserCode(ctx context.Context, typed string) (*pendingDevice, error) {
	s := p.s
	code, ok := normalizeUserCode(typed)
	if !ok {
		return nil, nil
	}
	raw, err := s.ephemeral.Get(ctx, deviceUserKeyPrefix+resource.KeyedHash(s.cfg.Key, code))
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	rec, err := s.loadDeviceRecord(ctx, string(raw))
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if !s.clock().Before(rec.ExpiresAt) {
		return nil, nil
	}
	app, err := s.apps.Store.FindApplication(ctx, rec.ClientID)
	if resource.ErrorCode(err) == resource.ENotFound || (err == nil && !app.Enabled) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &pendingDevice{hash: string(raw), userCode: code, rec: rec, app: app}, nil
}

// codeFailed shows the code form again with what went wrong.
func (p *devicePage) codeFailed(w http.ResponseWriter, r *http.Request, sess *session, typed string, err error) {
	var pe *pageError
	var e *Error
	switch {
	case errors.As(err, &pe):
		p.showEnter(w, r, sess, pe.status, typed, pe.message)
	case errors.As(err, &e) && e.Status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", e.header().Get("Retry-After"))
		p.showEnter(w, r, sess, e.Status, typed, "Too many wrong codes. Wait a few minutes, then try again.")
	default:
		p.fail(w, err)
	}
}

// showEnter shows the code form.
func (p *devicePage) showEnter(w http.ResponseWriter, r *http.Request, sess *session, status int, typed, message string) {
	d := &deviceData{pageData: &pageData{Title: "Connect a device", Action: r.URL.Path, CSRF: sess.CSRF, Error: message}, UserCode: typed}
	p.render(w, status, "device_enter", d)
}

// showLoginOrConsent shows the consent page of a pending device
// authorization to a logged-in user of the application's customer, and the
// login page otherwise.
func (p *devicePage) showLoginOrConsent(w http.ResponseWriter, r *http.Request, sess *session, pd *pendingDevice, loginError string) {
	s := p.s
	shown := formatUserCode(pd.userCode)
	base := pageData{Action: r.URL.Path, AppName: pd.app.Name, CSRF: sess.CSRF,
		Params: []hiddenField{{"user_code", shown}}}
	if sess.UserID != "" {
		u, err := s.users.Find(r.Context(), sess.UserID)
		switch {
		case err == nil && u.CustomerID == pd.app.CustomerID:
			d := &deviceData{pageData: &base, UserCode: shown}
			d.Title, d.UserEmail = "Allow access", u.Email
			for _, sc := range strings.Fields(pd.rec.Scope) {
				d.Scopes = append(d.Scopes, scopeText[sc])
			}
			p.render(w, http.StatusOK, "device_consent", d)
			return
		case err == nil:
			loginError = fmt.Sprintf("The account %s cannot use this application. Log in with another account.", u.Email)
		case resource.ErrorCode(err) != resource.ENotFound:
			p.fail(w, err)
			return
		}
	}
	d := base
	d.Title, d.Error = "Log in", loginError
	s.render(w, http.StatusOK, "login", &d)
}

// redirectToCode sends the browser to the page of a code (login or
// consent), so that a reload does not post the form again.
func (p *devicePage) redirectToCode(w http.ResponseWriter, r *http.Request, pd *pendingDevice) {
	p.s.setPageHeaders(w)
	http.Redirect(w, r, r.URL.Path+"?user_code="+url.QueryEscape(formatUserCode(pd.userCode)), http.StatusSeeOther)
}

// handleLogin checks the login form with the authorization endpoint's
// login (throttled per account and address). On success the browser gets a
// new, logged-in session and goes to the consent page of the code.
func (p *devicePage) handleLogin(w http.ResponseWriter, r *http.Request, sess *session, pd *pendingDevice, params url.Values) {
	s := p.s
	ctx := r.Context()
	email := params.Get("email")
	u, err := s.login(ctx, pd.app, email, params.Get("password"), s.pageLogin(r))
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			p.fail(w, err)
			return
		}
		status, msg := loginRefusal(w, e)
		d := pageData{Title: "Log in", Action: r.URL.Path, AppName: pd.app.Name, CSRF: sess.CSRF,
			Params: []hiddenField{{"user_code", formatUserCode(pd.userCode)}}, Email: email, Error: msg}
		s.render(w, status, "login", &d)
		return
	}
	if _, err := s.startSession(ctx, w, sess, u.ID); err != nil {
		p.fail(w, err)
		return
	}
	s.setKnownBrowser(w, r, u.ID)
	p.redirectToCode(w, r, pd)
}

// handleDecision records the logged-in user's approval or denial of a
// pending device authorization. The user code is taken from the store, so a
// code is decided once; the device's next poll gets the answer.
func (p *devicePage) handleDecision(w http.ResponseWriter, r *http.Request, sess *session, pd *pendingDevice, approve bool) {
	s := p.s
	ctx := r.Context()
	if sess.UserID == "" {
		p.showLoginOrConsent(w, r, sess, pd, "")
		return
	}
	u, err := s.users.Find(ctx, sess.UserID)
	if err != nil || u.CustomerID != pd.app.CustomerID {
		if err != nil && resource.ErrorCode(err) != resource.ENotFound {
			p.fail(w, err)
			return
		}
		p.showLoginOrConsent(w, r, &session{id: sess.id, CSRF: sess.CSRF}, pd, "Log in again.")
		return
	}
	raw, err := s.ephemeral.Take(ctx, deviceUserKeyPrefix+resource.KeyedHash(s.cfg.Key, pd.userCode))
	if err != nil && resource.ErrorCode(err) != resource.ENotFound {
		p.fail(w, err)
		return
	}
	if err != nil || string(raw) != pd.hash {
		p.showEnter(w, r, sess, http.StatusBadRequest, "", "This code was already used. Start again on your device.")
		return
	}
	d := &deviceDecision{Approved: approve}
	if approve {
		d.UserID, d.CustomerID, d.Email = u.ID, u.CustomerID, u.Email
		d.Login = oidcLogin{AuthTime: sess.AuthTime, SID: sess.SID}
	}
	if err := s.putDeviceDecision(ctx, pd.hash, pd.rec, d); err != nil {
		p.fail(w, err)
		return
	}
	s.log.Info("oauth: device authorization decided", "client_id", pd.app.ID, "user_id", u.ID, "approved", approve)
	done := &deviceData{pageData: &pageData{Title: "Device connected"},
		Message: "You can return to your device now."}
	if !approve {
		done.Title, done.Message = "Access denied", "The device was not given access. You can close this page."
	}
	p.render(w, http.StatusOK, "device_done", done)
}

// render writes one of the device pages with status, with the headers of
// every authorization page.
func (p *devicePage) render(w http.ResponseWriter, status int, name string, d *deviceData) {
	d.CSS = p.s.css
	var buf bytes.Buffer
	if err := p.pages.ExecuteTemplate(&buf, name, d); err != nil {
		p.fail(w, fmt.Errorf("render page %s: %w", name, err))
		return
	}
	p.s.setPageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail logs an internal error and shows a page without its details (503
// with Retry-After when a store did not answer in time).
func (p *devicePage) fail(w http.ResponseWriter, err error) {
	if resource.ErrorCode(err) == resource.EUnavailable {
		p.s.renderFailure(w, p.s.asError(err))
		return
	}
	p.s.log.Error("oauth: device page", "err", err)
	p.s.renderError(w, http.StatusInternalServerError, "The server could not handle the request.")
}
