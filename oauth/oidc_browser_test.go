package oauth_test

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
)

// TestBrowserOpenIDConnect drives OpenID Connect in a real headless
// Chromium: sign in and consent once; sign in again without the consent
// page (remembered); log out through the end session endpoint back to the
// registered post_logout_redirect_uri; the next sign-in asks for the
// password again.
func TestBrowserOpenIDConnect(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		browser := testsupport.NewBrowser(t)
		user := e.MustUser(t, "oidc-browser-"+e.kind+"@example.com")
		app := e.oidcApp(t, user, func(in *resource.ApplicationInput) { in.PostLogoutRedirectURIs = []string{e.callbackURL()} })
		r := e.newRP(t, app)
		landed := func(t *testing.T) url.Values {
			t.Helper()
			loc, err := chromedp.Run(browser, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(loc)
			if err != nil || u.Path != "/cb" {
				t.Fatalf("landed on %s", loc)
			}
			return u.Query()
		}
		exchange := func(t *testing.T, q url.Values, verifier string) *oauth2.Token {
			t.Helper()
			tok, err := r.conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.verifier.Verify(t.Context(), tok.Extra("id_token").(string)); err != nil {
				t.Fatal(err)
			}
			return tok
		}

		verifier := oauth2.GenerateVerifier()
		err := chromedp.Do(browser,
			chromedp.Navigate(r.conf.AuthCodeURL("first", oauth2.S256ChallengeOption(verifier))),
			chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), user.Email),
			chromedp.SendKeys(chromedp.ID("password"), testPassword),
			chromedp.Click(chromedp.ID("login")),
			chromedp.WaitVisible(chromedp.ID("approve")),
			chromedp.Click(chromedp.ID("approve")),
			chromedp.WaitVisible(chromedp.ID("done")),
		)
		if err != nil {
			t.Fatal(err)
		}
		exchange(t, landed(t), verifier)

		// Again: straight back with a code, no login, no consent page.
		verifier = oauth2.GenerateVerifier()
		if err := chromedp.Do(browser,
			chromedp.Navigate(r.conf.AuthCodeURL("second", oauth2.S256ChallengeOption(verifier))),
			chromedp.WaitVisible(chromedp.ID("done")),
		); err != nil {
			t.Fatal(err)
		}
		q := landed(t)
		if q.Get("state") != "second" || q.Get("code") == "" {
			t.Fatalf("second sign-in: %v", q)
		}
		tok := exchange(t, q, verifier)

		// Log out through the end session endpoint.
		end := r.provider.Endpoint().AuthURL // the issuer's origin
		u, _ := url.Parse(end)
		u.Path, u.RawQuery = "/oauth/logout", url.Values{"id_token_hint": {tok.Extra("id_token").(string)},
			"post_logout_redirect_uri": {e.callbackURL()}, "state": {"bye"}}.Encode()
		if err := chromedp.Do(browser, chromedp.Navigate(u.String()), chromedp.WaitVisible(chromedp.ID("done"))); err != nil {
			t.Fatal(err)
		}
		if q := landed(t); q.Get("state") != "bye" || q.Has("code") {
			t.Fatalf("after logout: %v", q)
		}
		// Logged out: the password is asked again.
		if err := chromedp.Do(browser,
			chromedp.Navigate(r.conf.AuthCodeURL("third", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
			chromedp.WaitVisible(chromedp.ID("password")),
		); err != nil {
			t.Fatal(err)
		}
	})
}
