package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
)

// deviceAuth is a device authorization response.
type deviceAuth struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// shownUserCode is the form of user codes the server shows.
var shownUserCode = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// deviceApp registers a public device client that polls every second.
func (e *env) deviceApp(tb testing.TB, owner *resource.User, grants ...resource.GrantType) *resource.Application {
	tb.Helper()
	app, _ := e.MustApp(tb, owner, resource.ApplicationInput{Name: "Fleet TV",
		GrantTypes: append([]resource.GrantType{resource.GrantDeviceCode}, grants...), TokenEndpointAuthMethod: "none",
		DevicePollingInterval: 1})
	return app
}

// startDevice asks the device authorization endpoint for codes as the
// public client app.
func (e *env) startDevice(tb testing.TB, app *resource.Application) *deviceAuth {
	tb.Helper()
	ar := e.call(tb, http.MethodPost, "/oauth/device_authorization", noAuth, url.Values{"client_id": {app.ID}}).
		mustStatus(tb, http.StatusOK, "")
	var da deviceAuth
	if err := json.Unmarshal([]byte(ar.Body), &da); err != nil {
		tb.Fatal(err)
	}
	return &da
}

// pollDevice polls the token endpoint once with a device code.
func (e *env) pollDevice(tb testing.TB, app *resource.Application, deviceCode string) *tokenResponse {
	tb.Helper()
	return e.postToken(tb, "", "", url.Values{
		"grant_type": {string(resource.GrantDeviceCode)}, "device_code": {deviceCode}, "client_id": {app.ID}})
}

// slowReads is an ephemeral store whose reads take delay longer, so that
// concurrent requests overlap.
type slowReads struct {
	resource.EphemeralStore
	delay time.Duration
}

func (s slowReads) Get(ctx context.Context, key string) ([]byte, error) {
	time.Sleep(s.delay)
	return s.EphemeralStore.Get(ctx, key)
}

// waitPoll waits the polling interval of the test device clients.
func waitPoll() { time.Sleep(time.Second) }

// decideDevice drives the /device page: it types the user code, logs in as
// email when asked, and approves or denies. It returns the last page.
func (e *env) decideDevice(tb testing.TB, pc *pageClient, typed, email string, approve bool) string {
	tb.Helper()
	return pc.DecideDevice(tb, e.http.URL, typed, email, testPassword, approve)
}

func TestDeviceAuthorization(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "dora@example.com")

		t.Run("OK", func(t *testing.T) {
			app, _ := e.MustApp(t, user, resource.ApplicationInput{Name: "TV",
				GrantTypes: []resource.GrantType{resource.GrantDeviceCode}, TokenEndpointAuthMethod: "none"})
			ar := e.call(t, http.MethodPost, "/oauth/device_authorization", noAuth, url.Values{"client_id": {app.ID}, "scope": {"me"}}).
				mustStatus(t, 200, "")
			var da deviceAuth
			if err := json.Unmarshal([]byte(ar.Body), &da); err != nil {
				t.Fatal(err)
			}
			secret, ok := strings.CutPrefix(da.DeviceCode, oauth.DeviceCodePrefix)
			if !ok || len(secret) < 43 {
				t.Fatalf("device_code %q: not ≥ 256 bits with its prefix", da.DeviceCode)
			}
			if !shownUserCode.MatchString(da.UserCode) {
				t.Fatalf("user_code %q", da.UserCode)
			}
			if da.VerificationURI != e.url("/device") || da.VerificationURIComplete != e.url("/device?user_code="+da.UserCode) {
				t.Fatalf("verification URIs %q, %q", da.VerificationURI, da.VerificationURIComplete)
			}
			if da.ExpiresIn != resource.DefaultDeviceTimeout || da.Interval != resource.DefaultDevicePollingInterval {
				t.Fatalf("expires_in %d, interval %d", da.ExpiresIn, da.Interval)
			}
			if ar.Header.Get("Cache-Control") != "no-store" {
				t.Fatal("the codes may be cached")
			}
			if other := e.startDevice(t, app); other.UserCode == da.UserCode || other.DeviceCode == da.DeviceCode {
				t.Fatal("two device authorizations share a code")
			}
		})
		t.Run("OKApplicationSettings", func(t *testing.T) {
			app, _ := e.MustApp(t, user, resource.ApplicationInput{Name: "TV",
				GrantTypes: []resource.GrantType{resource.GrantDeviceCode}, TokenEndpointAuthMethod: "none",
				DeviceTimeout: 120, DevicePollingInterval: 7})
			if da := e.startDevice(t, app); da.ExpiresIn != 120 || da.Interval != 7 {
				t.Fatalf("expires_in %d, interval %d", da.ExpiresIn, da.Interval)
			}
		})
		t.Run("OKConfidentialClient", func(t *testing.T) {
			app, secret := e.MustApp(t, user, resource.ApplicationInput{Name: "Kiosk", GrantTypes: []resource.GrantType{resource.GrantDeviceCode}})
			e.call(t, http.MethodPost, "/oauth/device_authorization", basic(app.ID, secret), url.Values{}).mustStatus(t, 200, "")
			e.call(t, http.MethodPost, "/oauth/device_authorization", noAuth, url.Values{"client_id": {app.ID}}).
				mustStatus(t, 401, "invalid_client")
		})
		t.Run("ErrUnauthorizedClient", func(t *testing.T) {
			app, _ := e.MustApp(t, user, resource.ApplicationInput{Name: "No device grant",
				GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{e.callbackURL()}})
			e.call(t, http.MethodPost, "/oauth/device_authorization", noAuth, url.Values{"client_id": {app.ID}}).
				mustStatus(t, 400, "unauthorized_client")
			// Nor may it redeem another application's device code.
			da := e.startDevice(t, e.deviceApp(t, user))
			e.pollDevice(t, app, da.DeviceCode).mustError(t, 400, "unauthorized_client")
		})
		t.Run("ErrInvalidScope", func(t *testing.T) {
			app := e.deviceApp(t, user)
			e.call(t, http.MethodPost, "/oauth/device_authorization", noAuth, url.Values{"client_id": {app.ID}, "scope": {"app"}}).
				mustStatus(t, 400, "invalid_scope")
		})
		t.Run("ErrInvalidClient", func(t *testing.T) {
			e.call(t, http.MethodPost, "/oauth/device_authorization", noAuth, url.Values{"client_id": {resource.NewID()}}).
				mustStatus(t, 401, "invalid_client")
			e.call(t, http.MethodPost, "/oauth/device_authorization", noAuth, url.Values{}).mustStatus(t, 401, "invalid_client")
		})
	})
}

func TestDeviceCodeGrant(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "dan@example.com")
		app := e.deviceApp(t, user, resource.GrantRefreshToken)

		t.Run("OKApproved", func(t *testing.T) {
			da := e.startDevice(t, app)
			e.pollDevice(t, app, da.DeviceCode).mustError(t, 400, "authorization_pending")
			// Typed in lower case without the dash.
			typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
			page := e.decideDevice(t, newPageClient(t), typed, user.Email, true)
			if !strings.Contains(page, "Device connected") {
				t.Fatalf("page: %s", page)
			}
			waitPoll()
			tr := e.pollDevice(t, app, da.DeviceCode).mustOK(t)
			if tr.Scope != "me" || tr.RefreshToken == "" || tr.TokenType != "Bearer" || tr.CreatedAt == 0 {
				t.Fatalf("response %+v", tr.Raw)
			}
			if who := e.whoami(t, tr.AccessToken); who == nil || who["user_id"] != user.ID || who["client_id"] != app.ID {
				t.Fatalf("token resolves to %v", who)
			}
			// The refresh token works like any other.
			e.postToken(t, "", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken},
				"client_id": {app.ID}}).mustOK(t)
			// Tokens are issued once.
			waitPoll()
			e.pollDevice(t, app, da.DeviceCode).mustError(t, 400, "invalid_grant")
		})
		t.Run("OKNoRefreshWithoutRefreshGrant", func(t *testing.T) {
			plain := e.deviceApp(t, user)
			da := e.startDevice(t, plain)
			e.decideDevice(t, newPageClient(t), da.UserCode, user.Email, true)
			tr := e.pollDevice(t, plain, da.DeviceCode).mustOK(t)
			if tr.RefreshToken != "" || tr.Scope != "me" {
				t.Fatalf("response %+v", tr.Raw)
			}
		})
		t.Run("AccessDenied", func(t *testing.T) {
			da := e.startDevice(t, app)
			page := e.decideDevice(t, newPageClient(t), da.UserCode, user.Email, false)
			if !strings.Contains(page, "Access denied") {
				t.Fatalf("page: %s", page)
			}
			e.pollDevice(t, app, da.DeviceCode).mustError(t, 400, "access_denied")
			waitPoll()
			e.pollDevice(t, app, da.DeviceCode).mustError(t, 400, "access_denied")
		})
		t.Run("SlowDown", func(t *testing.T) {
			da := e.startDevice(t, app)
			e.pollDevice(t, app, da.DeviceCode).mustError(t, 400, "authorization_pending")
			e.pollDevice(t, app, da.DeviceCode).mustError(t, 400, "slow_down")
			// The interval is now 6 s: a poll a second later is still too
			// soon.
			waitPoll()
			e.pollDevice(t, app, da.DeviceCode).mustError(t, 400, "slow_down")
			rec, err := e.srv.LoadDeviceRecord(context.Background(), resource.KeyedHash(e.key, da.DeviceCode))
			if err != nil {
				t.Fatal(err)
			}
			if rec.Interval != 1+5+5 {
				t.Fatalf("interval %d, want 11", rec.Interval)
			}
		})
		t.Run("ExpiredToken", func(t *testing.T) {
			short, _ := e.MustAppWith(t, user, resource.ApplicationInput{Name: "Short", GrantTypes: []resource.GrantType{resource.GrantDeviceCode},
				TokenEndpointAuthMethod: "none"}, func(a *resource.Application) { a.DeviceTimeout, a.DevicePollingInterval = 1, 1 })
			da := e.startDevice(t, short)
			if da.ExpiresIn != 1 {
				t.Fatalf("expires_in %d", da.ExpiresIn)
			}
			time.Sleep(1100 * time.Millisecond)
			e.pollDevice(t, short, da.DeviceCode).mustError(t, 400, "expired_token")
			// The user code is gone from the page too.
			pc := newPageClient(t)
			resp, page := pc.do(t, http.MethodGet, da.VerificationURIComplete, nil)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "unknown, expired or already used") {
				t.Fatalf("%d: %s", resp.StatusCode, page)
			}
		})
		t.Run("ExactlyOnce", func(t *testing.T) {
			// No polling interval, so that no poll is turned away with
			// slow_down and all of them race for the approval.
			eager, _ := e.MustAppWith(t, user, resource.ApplicationInput{Name: "Eager", GrantTypes: []resource.GrantType{resource.GrantDeviceCode},
				TokenEndpointAuthMethod: "none"}, func(a *resource.Application) { a.DevicePollingInterval = 0 })
			app := eager
			da := e.startDevice(t, app)
			e.decideDevice(t, newPageClient(t), da.UserCode, user.Email, true)
			// Slow reads let every racer see the approval before any of
			// them takes it.
			e.srv.SetEphemeral(slowReads{e.ephemeral, 50 * time.Millisecond})
			defer e.srv.SetEphemeral(e.ephemeral)
			form := url.Values{"grant_type": {string(resource.GrantDeviceCode)}, "device_code": {da.DeviceCode}, "client_id": {app.ID}}
			winner := mustOneWinner(t, e.race(t, "", "", form))
			if who := e.whoami(t, winner.AccessToken); who == nil || who["user_id"] != user.ID {
				t.Fatalf("the winner's token resolves to %v", who)
			}
		})
		t.Run("ErrOtherClientsCode", func(t *testing.T) {
			thief := e.deviceApp(t, user)
			da := e.startDevice(t, app)
			e.decideDevice(t, newPageClient(t), da.UserCode, user.Email, true)
			e.pollDevice(t, thief, da.DeviceCode).mustError(t, 400, "invalid_grant")
			e.pollDevice(t, app, da.DeviceCode).mustOK(t)
		})
		t.Run("ErrInvalidDeviceCode", func(t *testing.T) {
			e.pollDevice(t, app, oauth.DeviceCodePrefix+"nope").mustError(t, 400, "invalid_grant")
			e.pollDevice(t, app, "").mustError(t, 400, "invalid_request")
		})
	})
}

func TestDevicePage(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "paula@example.com")
		app := e.deviceApp(t, user)

		t.Run("OKCompleteURIAndLogin", func(t *testing.T) {
			da := e.startDevice(t, app)
			pc := newPageClient(t)
			resp, page := pc.do(t, http.MethodGet, da.VerificationURIComplete, nil)
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="login"`) || !strings.Contains(page, "Fleet TV") {
				t.Fatalf("%d: %s", resp.StatusCode, page)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Fatalf("Content-Security-Policy %q", csp)
			}
			form := hiddenFields(page)
			form.Set("email", user.Email)
			form.Set("password", "wrong password!")
			form.Set("action", "login")
			resp, page = pc.do(t, http.MethodPost, e.url("/device"), form)
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Invalid e-mail or password") {
				t.Fatalf("wrong password: %d: %s", resp.StatusCode, page)
			}
			form.Set("password", testPassword)
			resp, _ = pc.do(t, http.MethodPost, e.url("/device"), form)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("login: %d", resp.StatusCode)
			}
			_, page = pc.do(t, http.MethodGet, e.url(resp.Header.Get("Location")), nil)
			if !strings.Contains(page, `value="approve"`) || !strings.Contains(page, da.UserCode) || !strings.Contains(page, user.Email) {
				t.Fatalf("consent page: %s", page)
			}
		})
		t.Run("ErrUserOfAnotherCustomer", func(t *testing.T) {
			other := e.MustUser(t, "olga@example.com")
			da := e.startDevice(t, app)
			pc := newPageClient(t)
			_, page := pc.do(t, http.MethodGet, da.VerificationURIComplete, nil)
			form := hiddenFields(page)
			form.Set("email", other.Email)
			form.Set("password", testPassword)
			form.Set("action", "login")
			resp, page := pc.do(t, http.MethodPost, e.url("/device"), form)
			if resp.StatusCode != http.StatusOK || strings.Contains(page, `value="approve"`) {
				t.Fatalf("%d: %s", resp.StatusCode, page)
			}
		})
		t.Run("ErrCodeDecidedOnce", func(t *testing.T) {
			da := e.startDevice(t, app)
			pc := newPageClient(t)
			e.decideDevice(t, pc, da.UserCode, user.Email, false)
			_, page := pc.do(t, http.MethodGet, e.url("/device"), nil)
			form := hiddenFields(page)
			form.Set("user_code", da.UserCode)
			form.Set("action", "approve")
			resp, page := pc.do(t, http.MethodPost, e.url("/device"), form)
			if resp.StatusCode != http.StatusBadRequest || strings.Contains(page, "device-done") {
				t.Fatalf("%d: %s", resp.StatusCode, page)
			}
			e.pollDevice(t, app, da.DeviceCode).mustError(t, 400, "access_denied")
		})
		t.Run("ErrCSRF", func(t *testing.T) {
			pc := newPageClient(t)
			e.decideDevice(t, pc, e.startDevice(t, app).UserCode, user.Email, true) // logs pc in
			da := e.startDevice(t, app)
			_, page := pc.do(t, http.MethodGet, da.VerificationURIComplete, nil)
			if !strings.Contains(page, `value="approve"`) {
				t.Fatalf("no consent page: %s", page)
			}
			form := hiddenFields(page)
			form.Set("action", "approve")
			for _, token := range []string{"", "forged"} {
				form.Set("csrf_token", token)
				if resp, _ := pc.do(t, http.MethodPost, e.url("/device"), form); resp.StatusCode != http.StatusForbidden {
					t.Fatalf("csrf_token %q: status %d", token, resp.StatusCode)
				}
			}
			e.pollDevice(t, app, da.DeviceCode).mustError(t, 400, "authorization_pending")
		})
	})
}

func TestDevicePageThrottle(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		e.users.Throttle.MaxPerAddr = 3
		user := e.MustUser(t, "trudy@example.com")
		app := e.deviceApp(t, user)
		da := e.startDevice(t, app)
		pc := newPageClient(t)
		_, page := pc.do(t, http.MethodGet, e.url("/device"), nil)
		form := hiddenFields(page)
		form.Set("action", "code")
		wrong := "BBBB-BBBB"
		if wrong == da.UserCode {
			wrong = "CCCC-CCCC"
		}
		for i := range 3 {
			form.Set("user_code", wrong)
			resp, page := pc.do(t, http.MethodPost, e.url("/device"), form)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "unknown, expired or already used") {
				t.Fatalf("wrong code %d: %d: %s", i, resp.StatusCode, page)
			}
		}
		// Past the limit even the right code is refused, by POST and GET.
		form.Set("user_code", da.UserCode)
		resp, page := pc.do(t, http.MethodPost, e.url("/device"), form)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(page, "Too many wrong codes") {
			t.Fatalf("after 3 wrong codes: %d %v: %s", resp.StatusCode, resp.Header, page)
		}
		if resp, _ := newPageClient(t).do(t, http.MethodGet, da.VerificationURIComplete, nil); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("GET after 3 wrong codes: %d", resp.StatusCode)
		}
		if !strings.Contains(e.logs.String(), "wrong device user code") {
			t.Fatal("wrong codes are not logged")
		}
	})
}

// TestDeviceAuthorizationCap asks for device authorizations from one
// address, concurrently: exactly the limit succeed, the rest get 429 with
// Retry-After and temporarily_unavailable, whichever client asks.
func TestDeviceAuthorizationCap(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "cap@example.com")
		app, other := e.deviceApp(t, user), e.deviceApp(t, user)
		results := make(chan *apiResponse, 12)
		var wg sync.WaitGroup
		for range cap(results) {
			wg.Go(func() {
				results <- e.call(t, http.MethodPost, "/oauth/device_authorization", noAuth, url.Values{"client_id": {app.ID}})
			})
		}
		wg.Wait()
		close(results)
		ok := 0
		for ar := range results {
			switch ar.Status {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				ar.mustStatus(t, http.StatusTooManyRequests, "temporarily_unavailable")
				if ar.Header.Get("Retry-After") != "600" {
					t.Fatalf("Retry-After %q", ar.Header.Get("Retry-After"))
				}
			default:
				t.Fatalf("status %d: %s", ar.Status, ar.Body)
			}
		}
		if ok != 5 {
			t.Fatalf("%d device authorizations succeeded, want the limit of 5", ok)
		}
		e.call(t, http.MethodPost, "/oauth/device_authorization", noAuth, url.Values{"client_id": {other.ID}}).
			mustStatus(t, http.StatusTooManyRequests, "temporarily_unavailable")
		if n := e.srv.DeviceAuthorizationsRefused(); n != 8 {
			t.Fatalf("refusals counted = %d, want 8", n)
		}
	}, func(c *oauth.Config) { c.MaxDeviceAuthorizationsPerAddr = 5 })
}
