package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
)

// racers is how many requests race for one code or refresh token.
const racers = 20

// race sends form to the token endpoint from racers goroutines at once,
// over separate connections, and returns the responses.
func (e *env) race(tb testing.TB, id, secret string, form url.Values) []*tokenResponse {
	tb.Helper()
	start := make(chan struct{})
	out := make([]*tokenResponse, racers)
	errs := make(chan error, racers)
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: racers, MaxIdleConnsPerHost: racers}}
	defer client.CloseIdleConnections()
	for i := range racers {
		wg.Go(func() {
			<-start
			req, err := http.NewRequest(http.MethodPost, e.url("/oauth/token"), strings.NewReader(form.Encode()))
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if id != "" {
				req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			}
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			out[i] = readTokenResponse(tb, resp)
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return out
}

// mustOneWinner checks that exactly one response succeeded and every other
// is invalid_grant; it returns the winner.
func mustOneWinner(tb testing.TB, responses []*tokenResponse) *tokenResponse {
	tb.Helper()
	var winner *tokenResponse
	wins := 0
	for _, r := range responses {
		switch {
		case r.Status == http.StatusOK:
			wins++
			winner = r
		case r.Status != http.StatusBadRequest || r.Error != "invalid_grant":
			tb.Errorf("loser: status %d error %q (%s)", r.Status, r.Error, r.ErrorDescription)
		}
	}
	if wins != 1 {
		tb.Fatalf("%d of %d parallel requests succeeded, want exactly 1", wins, len(responses))
	}
	return winner
}

// TestDefect3_ParallelCodeRedemption: the library redeems a code by
// reading it, then deleting it (manage.Manager.getAndDelAuthorizationCode),
// so parallel redemptions may all succeed.
func TestDefect3_ParallelCodeRedemption(t *testing.T) {
	eachStore(t, allStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "race-code@example.com")
		cb := e.callbackURL()
		app, _ := e.MustApp(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
		pc := newPageClient(t)
		for round := range 3 {
			verifier := oauth2.GenerateVerifier()
			code := e.mustCode(t, pc, codeParams(app, cb, "s", oauth2.S256ChallengeFromVerifier(verifier), ""), user.Email)
			winner := mustOneWinner(t, e.race(t, "", "", exchangeForm(app, code, cb, verifier)))
			// The other 19 were replays of a used code: the winner's
			// tokens are revoked (RFC 6749 §4.1.2).
			if e.whoami(t, winner.AccessToken) != nil {
				t.Fatalf("round %d: the tokens of a replayed code still work", round)
			}
		}
	})
}

// TestDefect3_ParallelRefresh: the library rotates a refresh token by
// reading it, storing the new pair and then deleting the old token, so
// parallel refreshes may all succeed.
func TestDefect3_ParallelRefresh(t *testing.T) {
	eachStore(t, allStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "race-refresh@example.com")
		app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		for range 3 {
			tr := e.postToken(t, app.ID, secret, passwordForm(user.Email, testPassword)).mustOK(t)
			mustOneWinner(t, e.race(t, app.ID, secret, refreshForm(tr.RefreshToken)))
		}
	})
}

// TestParallelRefreshWithinGrace: with a grace period, the losers of a race
// are refused without revoking the family, so the winner's pair works.
func TestParallelRefreshWithinGrace(t *testing.T) {
	eachStore(t, []string{onPostgres, onRedis}, func(t *testing.T, e *env) {
		user := e.MustUser(t, "race-grace@example.com")
		app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		tr := e.postToken(t, app.ID, secret, passwordForm(user.Email, testPassword)).mustOK(t)
		winner := mustOneWinner(t, e.race(t, app.ID, secret, refreshForm(tr.RefreshToken)))
		if e.whoami(t, winner.AccessToken) == nil {
			t.Fatal("the winner's access token was revoked")
		}
		e.postToken(t, app.ID, secret, refreshForm(winner.RefreshToken)).mustOK(t)
	}, withGrace)
}

func withGrace(c *oauth.Config) { c.RefreshGrace = 30 * time.Second }
