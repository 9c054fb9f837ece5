package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
)

// passwordRequest returns a password grant request of the app, safe to send
// from any goroutine.
func (e *env) passwordRequest(tb testing.TB, id, secret, email, password string) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url("/oauth/token"), strings.NewReader(passwordForm(email, password).Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return req
}

// parallelStatuses sends n requests made by mk at once and returns how
// many answers had each status.
func parallelStatuses(t *testing.T, n int, mk func() *http.Request) map[int]int {
	t.Helper()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = mk()
	}
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, req := range reqs {
		wg.Go(func() {
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("request: %v", err)
				return
			}
			tr := readTokenResponse(t, resp)
			if tr.Status == http.StatusTooManyRequests && (tr.Header.Get("Retry-After") == "" || tr.Error != oauth.CodeInvalidGrant) {
				t.Errorf("429 without Retry-After or invalid_grant: %v %+v", tr.Header, tr.Raw)
			}
			mu.Lock()
			got[tr.Status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return got
}

// TestLoginThrottleParallel is the check-then-count race: 100 wrong passwords
// for one account from one address sent at once must not all be checked.
// At most the pair's free failures and one more are evaluated (answered
// 400); the rest are refused with 429 before any hash is computed.
func TestLoginThrottleParallel(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "mallory-target@example.com")
		app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password"}})
		before := e.users.Hasher.Evaluations()
		got := parallelStatuses(t, 100, func() *http.Request {
			return e.passwordRequest(t, app.ID, secret, user.Email, "not the password at all")
		})
		most := resource.DefaultFreeFailuresPerPair + 1
		if got[http.StatusBadRequest] > most || got[http.StatusBadRequest]+got[http.StatusTooManyRequests] != 100 {
			t.Fatalf("answers by status %v: want at most %d evaluated (400), the rest 429", got, most)
		}
		if n := e.users.Hasher.Evaluations() - before; n > int64(most) {
			t.Fatalf("%d password hashes evaluated, want at most %d", n, most)
		}
	})
}

// TestLoginThrottleGivesBackSuccess checks that a successful login is
// never counted and forgets the pair's failures: many right logins in a
// row are never throttled, and after them the free failures are free
// again.
func TestLoginThrottleGivesBackSuccess(t *testing.T) {
	e := newEnv(t, onSQLite)
	user := e.MustUser(t, "steady@example.com")
	app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password"}})
	for range resource.DefaultFreeFailuresPerPair {
		e.postToken(t, app.ID, secret, passwordForm(user.Email, "not the password")).mustError(t, 400, oauth.CodeInvalidGrant)
	}
	for range 10 {
		e.postToken(t, app.ID, secret, passwordForm(user.Email, testPassword)).mustOK(t)
	}
	for range resource.DefaultFreeFailuresPerPair + 1 {
		e.postToken(t, app.ID, secret, passwordForm(user.Email, "not the password")).mustError(t, 400, oauth.CodeInvalidGrant)
	}
	e.postToken(t, app.ID, secret, passwordForm(user.Email, testPassword)).mustError(t, http.StatusTooManyRequests, oauth.CodeInvalidGrant)
}

// TestLoginLogsNoTypedEmail checks that what a user typed as the e-mail is
// never logged as typed (a password typed into the wrong field would land
// in the log): failed and throttled logins log a keyed hash of it.
func TestLoginLogsNoTypedEmail(t *testing.T) {
	e := newEnv(t, onSQLite)
	user := e.MustUser(t, "typo@example.com")
	app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password"}})
	const typed = "Tr0ub4dor&3-my-real-password"
	for range resource.DefaultMaxFailuresPerAccount + 1 {
		e.postToken(t, app.ID, secret, passwordForm(typed, typed))
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "login failed") || !strings.Contains(logs, "login refused") {
		t.Fatalf("failed and refused logins are not logged: %s", logs)
	}
	if strings.Contains(strings.ToLower(logs), strings.ToLower(typed)) {
		t.Fatalf("the typed e-mail field is in the log: %s", logs)
	}
	if !strings.Contains(logs, e.users.Throttle.Account(typed)) {
		t.Fatalf("the log does not name the account by its keyed hash: %s", logs)
	}
}
