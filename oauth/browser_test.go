package oauth_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
)

// TestBrowserAuthorizationCodePKCE drives the authorization code flow with
// PKCE in a real headless Chromium: the login page, the consent page, the
// redirect back with code and state, the code exchange; then the deny path.
func TestBrowserAuthorizationCodePKCE(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		browser := testsupport.NewBrowser(t)
		user := e.MustUser(t, "browser@example.com")
		cb := e.callbackURL()
		app, _ := e.MustApp(t, user, resource.ApplicationInput{Name: "Fleet Mobile",
			GrantTypes: []resource.GrantType{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
		conf := &oauth2.Config{
			ClientID: app.ID, RedirectURL: cb, Scopes: []string{"me"},
			Endpoint: oauth2.Endpoint{AuthURL: e.url("/oauth/authorize"), TokenURL: e.url("/oauth/token"), AuthStyle: oauth2.AuthStyleInParams},
		}

		t.Run("Approve", func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			err := chromedp.Do(browser,
				chromedp.Navigate(conf.AuthCodeURL(awkwardState, oauth2.S256ChallengeOption(verifier))),
				chromedp.WaitVisible(chromedp.ID("email")),
				chromedp.SendKeys(chromedp.ID("email"), user.Email),
				chromedp.SendKeys(chromedp.ID("password"), testPassword),
				chromedp.Click(chromedp.ID("login")),
				chromedp.WaitVisible(chromedp.ID("approve")),
			)
			if err != nil {
				t.Fatal(err)
			}
			heading, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("h1")))
			if err != nil {
				t.Fatal(err)
			}
			if heading != "Allow access?" {
				t.Fatalf("consent page heading %q", heading)
			}
			err = chromedp.Do(browser,
				chromedp.Click(chromedp.ID("approve")),
				chromedp.WaitVisible(chromedp.ID("done")),
			)
			if err != nil {
				t.Fatal(err)
			}
			landed, err := chromedp.Run(browser, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			loc, err := url.Parse(landed)
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if loc.Path != "/cb" || q.Get("state") != awkwardState || q.Get("code") == "" {
				t.Fatalf("landed on %s", landed)
			}
			tok, err := conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			who := e.whoami(t, tok.AccessToken)
			if who == nil || who["user_id"] != user.ID || who["customer_id"] != user.CustomerID || who["scope"] != "me" {
				t.Fatalf("token resolves to %v", who)
			}
		})
		t.Run("Deny", func(t *testing.T) {
			// Logged in already: the consent page comes first.
			err := chromedp.Do(browser,
				chromedp.Navigate(conf.AuthCodeURL("deny-state", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
				chromedp.WaitVisible(chromedp.ID("deny")),
				chromedp.Click(chromedp.ID("deny")),
				chromedp.WaitVisible(chromedp.ID("done")),
			)
			if err != nil {
				t.Fatal(err)
			}
			landed, err := chromedp.Run(browser, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			loc, err := url.Parse(landed)
			if err != nil {
				t.Fatal(err)
			}
			if q := loc.Query(); q.Get("error") != "access_denied" || q.Get("state") != "deny-state" || q.Has("code") {
				t.Fatalf("landed on %s", landed)
			}
		})
	})
}
