package oauth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	oauth2 "github.com/go-oauth2/oauth2/v4"

	"github.com/assetgate/assetgate/resource"
)

// The device authorization grant (RFC 8628): a device without a browser
// asks POST /oauth/device_authorization for a device code and a user code,
// shows the user code, and polls the token endpoint with the device code
// while the user enters the user code on /device (device_page.go), logs in
// and approves or denies.
//
// Everything lives in the EphemeralStore, under keyed hashes:
//
//   - oauth:device:<hash of the device code>: the deviceRecord (client,
//     scope, deadline, polling pace), kept until deviceExpiredGrace after
//     its deadline so that late polls learn expired_token;
//   - oauth:device-user:<hash of the user code>: the device code's hash,
//     until the deadline; the /device page takes it (once) when the user
//     approves or denies. oauth:device-user-claim:<same hash> is the atomic
//     counter that reserves a user code for one device code;
//   - oauth:device-decision:<hash of the device code>: the user's decision;
//   - oauth:device-issued:<hash of the device code>: a counter that the
//     polls after an approval increment; the one that makes it 1 gets the
//     tokens.

// DeviceCodePrefix marks device codes, so secret scanners recognise them.
const DeviceCodePrefix = "agdc_"

// Key prefixes of the device grant in the ephemeral store.
const (
	deviceKeyPrefix         = "oauth:device:"
	deviceUserKeyPrefix     = "oauth:device-user:"
	deviceClaimKeyPrefix    = "oauth:device-user-claim:"
	deviceDecisionKeyPrefix = "oauth:device-decision:"
	deviceIssuedKeyPrefix   = "oauth:device-issued:"
)

// Device grant error codes (RFC 8628 §3.5) and their status: 400, as every
// token endpoint error but invalid_client (RFC 6749 §5.2).
const (
	CodeAuthorizationPending = "authorization_pending"
	CodeSlowDown             = "slow_down"
	CodeExpiredToken         = "expired_token"
)

const (
	// userCodeAlphabet is the alphabet of user codes: consonants only (no
	// vowels, so no words), upper case, none easily confused (RFC 8628
	// §6.1). 20 letters, 8 of them: about 34.5 bits.
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLen      = 8
	// slowDownStep is what each slow_down adds to a device code's polling
	// interval, for that poll and every later one (RFC 8628 §3.5).
	slowDownStep = 5
	// deviceExpiredGrace is how long after its deadline a device code is
	// still remembered, to answer expired_token rather than invalid_grant.
	deviceExpiredGrace = 10 * time.Minute
)

// deviceRecord is what a device code stands for while it is pending.
type deviceRecord struct {
	ClientID   string `json:"client_id"`
	CustomerID string `json:"customer_id"`
	Scope      string `json:"scope"`
	// Interval is the current minimum time between polls, in seconds: the
	// application's device_polling_interval plus slowDownStep for every
	// slow_down answered so far.
	Interval  int       `json:"interval"`
	LastPoll  time.Time `json:"last_poll,omitzero"`
	ExpiresAt time.Time `json:"expires_at"`
}

// deviceDecision is the user's answer on the /device page.
type deviceDecision struct {
	Approved   bool   `json:"approved"`
	UserID     string `json:"user_id,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
	Email      string `json:"email,omitempty"`
	// Login is the login session the user approved from.
	Login oidcLogin `json:"login,omitzero"`
}

// deviceAuthorizationResponse is the answer of the device authorization
// endpoint (RFC 8628 §3.2).
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// DeviceAuthorization returns the handler of "POST
// /oauth/device_authorization" (RFC 8628 §3.1).
func (s *Server) DeviceAuthorization() http.Handler {
	return http.HandlerFunc(s.handleDeviceAuthorization)
}

// handleDeviceAuthorization authenticates the client as the token endpoint
// does (a public client sends its client_id), checks that the application
// may use the device code grant and the scope it asks for (`me`), and
// answers a new device code and user code. expires_in is the application's
// device_timeout, interval its device_polling_interval.
func (s *Server) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	addrLimit, ok := s.limitAddr(w, r, deviceAuthorizationLimits)
	if !ok {
		return
	}
	form, app, err := s.readClientForm(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if !s.limitClient(w, r, deviceAuthorizationLimits, addrLimit, app.ID) {
		return
	}
	ctx := r.Context()
	if !app.HasGrant(resource.GrantDeviceCode) {
		s.writeError(w, errUnauthorizedClient("The client may not use the device authorization grant."))
		return
	}
	scope, err := grantedScope(app, resource.GrantDeviceCode, form.Get("scope"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	if err := s.countDeviceAuthorization(ctx, s.clientAddr(r), app); err != nil {
		s.writeError(w, err)
		return
	}
	resp, err := s.newDeviceAuthorization(ctx, app, scope)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nil, resp)
}

// deviceAuthKeyPrefix starts the ephemeral key that counts the device
// authorizations of one client address.
const deviceAuthKeyPrefix = "oauth:device-auth:addr:"

// countDeviceAuthorization counts one device authorization of a client
// address over Config.DeviceAuthorizationWindow (on every replica: the
// counter is in the ephemeral store) and refuses it, with 429 and
// Retry-After, past Config.MaxDeviceAuthorizationsPerAddr. Counting first
// and comparing after means concurrent requests cannot pass the limit
// together.
func (s *Server) countDeviceAuthorization(ctx context.Context, addr string, app *resource.Application) error {
	n, err := s.ephemeral.Incr(ctx, deviceAuthKeyPrefix+addr, s.cfg.DeviceAuthorizationWindow)
	if err != nil {
		return err
	}
	if n <= int64(s.cfg.MaxDeviceAuthorizationsPerAddr) {
		return nil
	}
	s.deviceAuthRefused.Add(1)
	s.log.InfoContext(ctx, "oauth: device authorization refused: too many from one address", "client_id", app.ID)
	e := newError(CodeTemporarilyUnavailable, "Too many device authorizations from this address; try again later.")
	e.Status, e.RetryAfter = http.StatusTooManyRequests, s.cfg.DeviceAuthorizationWindow
	return e
}

// DeviceAuthorizationsRefused returns how many device authorization
// requests were refused for passing the per-address limit since start.
func (s *Server) DeviceAuthorizationsRefused() int64 { return s.deviceAuthRefused.Load() }

// newDeviceAuthorization stores a new pending device code of app and its
// user code.
func (s *Server) newDeviceAuthorization(ctx context.Context, app *resource.Application, scope string) (*deviceAuthorizationResponse, error) {
	deviceCode := resource.NewSecret(DeviceCodePrefix)
	hash := resource.KeyedHash(s.cfg.Key, deviceCode)
	timeout := seconds(app.DeviceTimeout)
	rec := &deviceRecord{
		ClientID: app.ID, CustomerID: app.CustomerID, Scope: scope,
		Interval: app.DevicePollingInterval, ExpiresAt: s.clock().Add(timeout),
	}
	if err := s.putDeviceRecord(ctx, hash, rec); err != nil {
		return nil, err
	}
	userCode, err := s.claimUserCode(ctx, hash, timeout)
	if err != nil {
		return nil, err
	}
	shown := formatUserCode(userCode)
	verify := s.endpointURL(devicePath)
	return &deviceAuthorizationResponse{
		DeviceCode: deviceCode, UserCode: shown,
		VerificationURI: verify, VerificationURIComplete: verify + "?user_code=" + url.QueryEscape(shown),
		ExpiresIn: app.DeviceTimeout, Interval: app.DevicePollingInterval,
	}, nil
}

// claimUserCode draws a user code that no pending device code has and maps
// it to the device code's hash for ttl. The claim is an atomic counter, so
// two device codes never get the same user code even when drawn at once.
func (s *Server) claimUserCode(ctx context.Context, deviceHash string, ttl time.Duration) (string, error) {
	for range 10 {
		code := newUserCode()
		hash := resource.KeyedHash(s.cfg.Key, code)
		n, err := s.ephemeral.Incr(ctx, deviceClaimKeyPrefix+hash, ttl)
		if err != nil {
			return "", fmt.Errorf("claim user code: %w", err)
		}
		if n != 1 {
			continue // in use: draw again
		}
		if err := s.ephemeral.Put(ctx, deviceUserKeyPrefix+hash, []byte(deviceHash), ttl); err != nil {
			return "", fmt.Errorf("store user code: %w", err)
		}
		return code, nil
	}
	return "", fmt.Errorf("claim user code: no free code after 10 draws")
}

// newUserCode returns userCodeLen letters of userCodeAlphabet, each drawn
// uniformly (bytes of 240 and above are discarded: 240 = 12 × 20).
func newUserCode() string {
	out := make([]byte, 0, userCodeLen)
	var buf [16]byte
	for len(out) < userCodeLen {
		if _, err := rand.Read(buf[:]); err != nil {
			panic(err)
		}
		for _, b := range buf {
			if b < 240 && len(out) < userCodeLen {
				out = append(out, userCodeAlphabet[int(b)%len(userCodeAlphabet)])
			}
		}
	}
	return string(out)
}

// formatUserCode shows a user code as XXXX-XXXX.
func formatUserCode(code string) string { return code[:4] + "-" + code[4:] }

// normalizeUserCode returns a user code as typed by a user in its stored
// form: upper case, without dashes and spaces. ok is false when the result
// cannot be a user code.
func normalizeUserCode(typed string) (code string, ok bool) {
	code = strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToUpper(typed))
	if len(code) != userCodeLen {
		return "", false
	}
	for _, c := range []byte(code) {
		if strings.IndexByte(userCodeAlphabet, c) < 0 {
			return "", false
		}
	}
	return code, true
}

// putDeviceRecord stores rec under the device code hash until
// deviceExpiredGrace after its deadline.
func (s *Server) putDeviceRecord(ctx context.Context, hash string, rec *deviceRecord) error {
	ttl := rec.ExpiresAt.Add(deviceExpiredGrace).Sub(s.clock())
	if ttl <= 0 {
		return s.ephemeral.Delete(ctx, deviceKeyPrefix+hash)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := s.ephemeral.Put(ctx, deviceKeyPrefix+hash, b, ttl); err != nil {
		return fmt.Errorf("store device code: %w", err)
	}
	return nil
}

// loadDeviceRecord returns the record of a device code hash; ENotFound.
func (s *Server) loadDeviceRecord(ctx context.Context, hash string) (*deviceRecord, error) {
	raw, err := s.ephemeral.Get(ctx, deviceKeyPrefix+hash)
	if err != nil {
		return nil, err
	}
	var rec deviceRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("decode device code: %w", err)
	}
	return &rec, nil
}

// putDeviceDecision stores the decision of a device code until its record
// is forgotten.
func (s *Server) putDeviceDecision(ctx context.Context, hash string, rec *deviceRecord, d *deviceDecision) error {
	ttl := rec.ExpiresAt.Add(deviceExpiredGrace).Sub(s.clock())
	if ttl <= 0 {
		return nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := s.ephemeral.Put(ctx, deviceDecisionKeyPrefix+hash, b, ttl); err != nil {
		return fmt.Errorf("store device decision: %w", err)
	}
	return nil
}

// deviceError is one of RFC 8628's token endpoint errors (400).
func deviceError(code, description string) *Error {
	return &Error{Code: code, Description: description, Status: http.StatusBadRequest}
}

// deviceCodeGrant is the token endpoint's device code grant (RFC 8628
// §3.4), dispatched through Server.grants (go-oauth2 answers
// unsupported_grant_type to it). handleToken has authenticated the client
// and checked that the application has the grant. In order, a poll gets:
//
//   - invalid_grant for an unknown device code, one of another client, or
//     one whose tokens were already issued;
//   - expired_token once the application's device_timeout has passed;
//   - slow_down when it comes sooner than the current interval after the
//     previous poll; the interval then grows by 5 seconds, and stays so;
//   - authorization_pending until the user decides, access_denied after a
//     deny;
//   - after an approval, the tokens: scope `me`, and a refresh token when
//     the application has the refresh_token grant. Each poll that finds the
//     approval increments an atomic counter, and only the one that makes it
//     1 gets tokens: of many concurrent polls exactly one does, and the
//     others (and every later one) get invalid_grant. The approval itself
//     stays, so no poll can see it gone and answer authorization_pending.
func (s *Server) deviceCodeGrant(ctx context.Context, tr *tokenRequest) (oauth2.TokenInfo, error) {
	code := tr.form.Get("device_code")
	if code == "" {
		return nil, errInvalidRequest("device_code is missing.")
	}
	fail := errInvalidGrant("The device code is invalid, already used or was issued to another client.")
	hash := resource.KeyedHash(s.cfg.Key, code)
	rec, err := s.loadDeviceRecord(ctx, hash)
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil, fail
	} else if err != nil {
		return nil, err
	}
	if rec.ClientID != tr.app.ID {
		return nil, fail
	}
	now := s.clock()
	if !now.Before(rec.ExpiresAt) {
		return nil, deviceError(CodeExpiredToken, "The device code has expired; start again.")
	}
	if sc := tr.form.Get("scope"); strings.TrimSpace(sc) != "" && !scopeWithin(sc, rec.Scope) {
		return nil, errInvalidScope("The scope may not exceed the one of the device authorization (%q).", rec.Scope)
	}
	tooSoon := !rec.LastPoll.IsZero() && now.Sub(rec.LastPoll) < pollSpacing(rec.Interval)
	if tooSoon {
		rec.Interval += slowDownStep
	}
	rec.LastPoll = now
	if err := s.putDeviceRecord(ctx, hash, rec); err != nil {
		return nil, err
	}
	if tooSoon {
		return nil, deviceError(CodeSlowDown, fmt.Sprintf("Polled too often; wait %d seconds between requests.", rec.Interval))
	}

	d, err := s.loadDecision(ctx, hash)
	switch {
	case resource.ErrorCode(err) == resource.ENotFound:
		return nil, deviceError(CodeAuthorizationPending, "The user has not yet approved or denied the request.")
	case err != nil:
		return nil, err
	case !d.Approved:
		return nil, deviceError(CodeAccessDenied, "The user denied the request.")
	}
	n, err := s.ephemeral.Incr(ctx, deviceIssuedKeyPrefix+hash, rec.ExpiresAt.Add(deviceExpiredGrace).Sub(now))
	if err != nil {
		return nil, fmt.Errorf("claim device code: %w", err)
	}
	if n != 1 {
		return nil, fail
	}
	user := &resource.User{ID: d.UserID, CustomerID: d.CustomerID, Email: d.Email}
	is, err := s.issueFamily(ctx, tr.app, user, rec.Scope, "", true)
	if err != nil {
		return nil, err
	}
	if err := s.afterUserGrant(ctx, tr.app, user, is, d.Login, true); err != nil {
		return nil, err
	}
	return tokenInfo(is), nil
}

// loadDecision returns the decision on a device code hash; ENotFound.
func (s *Server) loadDecision(ctx context.Context, hash string) (*deviceDecision, error) {
	raw, err := s.ephemeral.Get(ctx, deviceDecisionKeyPrefix+hash)
	if err != nil {
		return nil, err
	}
	var d deviceDecision
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("decode device decision: %w", err)
	}
	return &d, nil
}

// pollSpacing is the least time between two polls that is not answered
// slow_down: the interval less a fifth, for clients that poll on a fixed
// ticker (golang.org/x/oauth2 does) and for network jitter.
func pollSpacing(interval int) time.Duration {
	d := seconds(interval)
	return d - d/5
}
