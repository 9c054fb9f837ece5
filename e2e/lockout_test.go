package e2e

import (
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// forwardedFrom sends every request as a trusted proxy forwarding it from
// one client address.
type forwardedFrom struct {
	addr string
	next http.RoundTripper
}

func (f forwardedFrom) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.addr)
	return f.next.RoundTrip(r)
}

// browserAt is a browser (cookies kept, redirects not followed) at a
// client address.
type browserAt struct {
	c *http.Client
}

func newBrowserAt(addr string) *browserAt {
	jar, _ := cookiejar.New(nil)
	return &browserAt{c: &http.Client{Jar: jar, Transport: forwardedFrom{addr, http.DefaultTransport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// at returns a browser at another address with the same cookies (the user
// travelling with their laptop).
func (b *browserAt) at(addr string) *browserAt {
	return &browserAt{c: &http.Client{Jar: b.c.Jar, Transport: forwardedFrom{addr, http.DefaultTransport},
		CheckRedirect: b.c.CheckRedirect}}
}

// login opens the authorization page of app and posts the login form;
// it returns the status and the page.
func (b *browserAt) login(t *testing.T, base, clientID, email, password string) (int, string) {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"https://web.example.com/cb"},
		"state": {"s"}, "scope": {"me"}}
	res, err := b.c.Get(base + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if res.StatusCode != http.StatusOK || form.Get("csrf_token") == "" {
		t.Fatalf("authorization page %d: %s", res.StatusCode, page)
	}
	form.Set("action", "login")
	form.Set("email", email)
	form.Set("password", password)
	res, err = b.c.PostForm(base+"/oauth/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// passwordLogin asks for a token with the user's password from addr.
func passwordLogin(t *testing.T, base string, tn e2eTenant, email, password, addr string) answer {
	t.Helper()
	return send(t, formRequest(base+"/oauth/token", tn.pwID+":"+tn.pwSecret,
		url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}, "scope": {"me"}}), addr)
}

// TestLockoutSparesTheUser is the lockout that cannot be turned against a
// user, through a real server behind a trusted proxy: one attacker
// address hammering the user's account is slowed down (429 after its free
// failures) while the user's browser and app sign in; many attacker
// addresses lock the account for strangers only: the user's browser, by
// its known-browser cookie, from an address never seen, and the user's
// app, from the address it signed in from, still sign in; one address
// spraying many accounts is throttled. On SQLite and PostgreSQL + Redis.
func TestLockoutSparesTheUser(t *testing.T) {
	for name, mkEnv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkEnv(t).With("ASSETGATE_TRUSTED_PROXIES", "127.0.0.1/32", "ASSETGATE_LOG_LEVEL", "warn")
			tn := mustE2ETenant(t, env, "victim")
			web := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "web", "--grant", "authorization_code",
				"--redirect-uri", "https://web.example.com/cb", "--pkce", "optional", "--json")["client_id"].(string)
			ts := startServer(t, env)
			const wrong = "wrong-password-never-logged"
			// The throttle's counters of an address outlive a server in a
			// shared Redis: each run takes addresses of its own, 10.A.B.x.
			run := fmt.Sprintf("10.%d.%d.", rand.IntN(256), rand.IntN(256))
			at := func(host int) string { return run + strconv.Itoa(host) }

			// The user signs in once from home with the browser, and with
			// the app from the phone's address.
			laptop := newBrowserAt(at(10))
			if status, page := laptop.login(t, ts.URL, web, tn.email, tn.password); status != http.StatusSeeOther {
				t.Fatalf("first login: %d %s", status, page)
			}
			var known *http.Cookie
			u, _ := url.Parse(ts.URL)
			for _, c := range laptop.c.Jar.Cookies(u) {
				if c.Name == "ag_known" {
					known = c
				}
			}
			if known == nil || !strings.Contains(known.Value, tn.userID+"~") {
				t.Fatalf("no known-browser cookie after login: %v", laptop.c.Jar.Cookies(u))
			}
			if a := passwordLogin(t, ts.URL, tn, tn.email, tn.password, at(20)); a.status != http.StatusOK {
				t.Fatalf("app login: %d %s", a.status, a.raw)
			}

			// One attacker address: its free failures, one more, then it
			// waits — and the user is not disturbed.
			for i := range 4 {
				if a := passwordLogin(t, ts.URL, tn, tn.email, wrong, at(1)); a.status != http.StatusBadRequest {
					t.Fatalf("attacker failure %d: %d %s", i, a.status, a.raw)
				}
			}
			a := passwordLogin(t, ts.URL, tn, tn.email, tn.password, at(1))
			if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" || a.body["error"] != "invalid_grant" {
				t.Fatalf("attacker after its failures: %d %v %s", a.status, a.header, a.raw)
			}
			if a := passwordLogin(t, ts.URL, tn, tn.email, tn.password, at(20)); a.status != http.StatusOK {
				t.Fatalf("the user's app while one address hammers: %d %s", a.status, a.raw)
			}

			// 96 more attacker addresses, one failure each: with the first
			// address's 4, the account has 100 failures from strangers and
			// is locked for them.
			var wg sync.WaitGroup
			sem := make(chan struct{}, 4)
			for i := range 96 {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					if a := passwordLogin(t, ts.URL, tn, tn.email, wrong, at(101+i)); a.status != http.StatusBadRequest {
						t.Errorf("botnet failure %d: %d %s", i, a.status, a.raw)
					}
				}()
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			a = passwordLogin(t, ts.URL, tn, tn.email, tn.password, at(2))
			if a.status != http.StatusTooManyRequests {
				t.Fatalf("a stranger with the right password while locked: %d %s", a.status, a.raw)
			}
			if status, page := newBrowserAt(at(51)).login(t, ts.URL, web, tn.email, tn.password); status != http.StatusTooManyRequests ||
				!strings.Contains(page, "Too many failed logins") {
				t.Fatalf("a browser without the cookie while locked: %d %s", status, page)
			}
			// The user's browser, from a hotel's address never seen.
			if status, page := laptop.at(at(50)).login(t, ts.URL, web, tn.email, tn.password); status != http.StatusSeeOther {
				t.Fatalf("the user's browser while locked: %d %s", status, page)
			}
			// The user's app, from its address.
			if a := passwordLogin(t, ts.URL, tn, tn.email, tn.password, at(20)); a.status != http.StatusOK {
				t.Fatalf("the user's app while locked: %d %s", a.status, a.raw)
			}
			// A forged cookie does not help.
			forged := newBrowserAt(at(52))
			forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: "ag_known", Value: tn.userID + "~1796000000~AAAAAAAAAAAAAAAAAAAAAA", Path: "/"}})
			if status, _ := forged.login(t, ts.URL, web, tn.email, tn.password); status != http.StatusTooManyRequests {
				t.Fatalf("a forged known-browser cookie while locked: %d", status)
			}

			// One address spraying one password over many accounts.
			sprayed := 0
			for i := range 60 {
				a := passwordLogin(t, ts.URL, tn, fmt.Sprintf("user%02d@example.com", i), "Summer2026!", at(3))
				if a.status == http.StatusTooManyRequests {
					break
				}
				if a.status != http.StatusBadRequest {
					t.Fatalf("spray %d: %d %s", i, a.status, a.raw)
				}
				sprayed++
			}
			if sprayed != 50 {
				t.Fatalf("one address tried %d accounts before it was refused, want 50", sprayed)
			}

			// The server's stderr reaches the test through a pipe: the
			// last lines may still be on their way.
			steps := []string{"login: next attempt delayed", "account locked for unknown addresses",
				"login refused: account locked", "login refused: too many failures from this address", "login refused: waiting"}
			logs := ts.stderr.String()
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); logs = ts.stderr.String() {
				if !slices.ContainsFunc(steps, func(step string) bool { return !strings.Contains(logs, step) }) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if strings.Contains(logs, wrong) || strings.Contains(logs, tn.password) || strings.Contains(logs, known.Value) {
				t.Fatal("a password or the cookie reached the log")
			}
			for _, step := range steps {
				if !strings.Contains(logs, step) {
					t.Errorf("no %q in the log", step)
				}
			}
		})
	}
}

// TestLoginThresholdsConfigured: the ASSETGATE_LOGIN_* settings reach the
// throttle. With one free failure per pair (default 3) an address is
// delayed after its second wrong password, where the defaults would still
// check the third; with 5 failures per address (default 50) the sixth
// account one address tries is refused.
func TestLoginThresholdsConfigured(t *testing.T) {
	for name, mkEnv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkEnv(t).With("ASSETGATE_TRUSTED_PROXIES", "127.0.0.1/32", "ASSETGATE_LOG_LEVEL", "warn",
				"ASSETGATE_LOGIN_FREE_FAILURES_PER_PAIR", "1", "ASSETGATE_LOGIN_MAX_FAILURES_PER_ADDR", "5")
			tn := mustE2ETenant(t, env, fmt.Sprintf("thresholds-%d", rand.Int64()))
			ts := startServer(t, env)
			run := fmt.Sprintf("10.%d.%d.", rand.IntN(256), rand.IntN(256))
			const wrong = "wrong-password-never-logged"
			for i := range 2 {
				if a := passwordLogin(t, ts.URL, tn, tn.email, wrong, run+"1"); a.status != http.StatusBadRequest {
					t.Fatalf("failure %d: %d %s", i, a.status, a.raw)
				}
			}
			if a := passwordLogin(t, ts.URL, tn, tn.email, tn.password, run+"1"); a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
				t.Fatalf("after 2 failures with 1 free: %d %s", a.status, a.raw)
			}
			// Another address is not delayed by the first one's failures.
			if a := passwordLogin(t, ts.URL, tn, tn.email, tn.password, run+"2"); a.status != http.StatusOK {
				t.Fatalf("the user from another address: %d %s", a.status, a.raw)
			}
			for i := range 6 {
				a := passwordLogin(t, ts.URL, tn, fmt.Sprintf("nobody%d-%s", i, tn.email), wrong, run+"3")
				want := http.StatusBadRequest
				if i == 5 {
					want = http.StatusTooManyRequests
				}
				if a.status != want {
					t.Fatalf("spray %d: %d %s, want %d", i, a.status, a.raw, want)
				}
			}
		})
	}
}
