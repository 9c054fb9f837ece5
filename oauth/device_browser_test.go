package oauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
)

// TestBrowserDeviceFlow runs the device authorization grant end to end:
// golang.org/x/oauth2's DeviceAuth and DeviceAccessToken are the device,
// and a real headless Chromium is the user on /device who logs in and
// approves; then the deny path, with the code typed in by hand.
func TestBrowserDeviceFlow(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		browser := testsupport.NewBrowser(t)
		user := e.MustUser(t, "viewer@example.com")
		app := e.deviceApp(t, user, resource.GrantRefreshToken)
		conf := &oauth2.Config{
			ClientID: app.ID, Scopes: []string{"me"},
			Endpoint: oauth2.Endpoint{
				DeviceAuthURL: e.url("/oauth/device_authorization"), TokenURL: e.url("/oauth/token"),
				AuthStyle: oauth2.AuthStyleInParams,
			},
		}
		type polled struct {
			tok *oauth2.Token
			err error
		}
		poll := func(ctx context.Context, da *oauth2.DeviceAuthResponse) <-chan polled {
			ch := make(chan polled, 1)
			go func() {
				tok, err := conf.DeviceAccessToken(ctx, da)
				ch <- polled{tok, err}
			}()
			return ch
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()

		t.Run("Approve", func(t *testing.T) {
			da, err := conf.DeviceAuth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if da.Interval != 1 || !strings.HasSuffix(da.VerificationURI, "/device") || da.VerificationURIComplete == "" {
				t.Fatalf("device authorization %+v", da)
			}
			result := poll(ctx, da)
			err = chromedp.Do(browser,
				chromedp.Navigate(da.VerificationURIComplete),
				chromedp.WaitVisible(chromedp.ID("email")),
				chromedp.SendKeys(chromedp.ID("email"), user.Email),
				chromedp.SendKeys(chromedp.ID("password"), testPassword),
				chromedp.Click(chromedp.ID("login")),
				chromedp.WaitVisible(chromedp.ID("approve")),
			)
			if err != nil {
				t.Fatal(err)
			}
			shown, err := chromedp.Run(browser, chromedp.Text(chromedp.ID("code")))
			if err != nil {
				t.Fatal(err)
			}
			err = chromedp.Do(browser,
				chromedp.Click(chromedp.ID("approve")),
				chromedp.WaitVisible(chromedp.ID("device-done")),
			)
			if err != nil {
				t.Fatal(err)
			}
			done, err := chromedp.Run(browser, chromedp.Text(chromedp.ID("device-done")))
			if err != nil {
				t.Fatal(err)
			}
			if shown != da.UserCode || done != "Device connected" {
				t.Fatalf("consent showed code %q, result %q", shown, done)
			}
			var r polled
			select {
			case r = <-result:
			case <-ctx.Done():
				t.Fatal("DeviceAccessToken did not return")
			}
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.tok.RefreshToken == "" || r.tok.Extra("scope") != "me" {
				t.Fatalf("token %+v", r.tok)
			}
			who := e.whoami(t, r.tok.AccessToken)
			if who == nil || who["user_id"] != user.ID || who["customer_id"] != user.CustomerID || who["scope"] != "me" {
				t.Fatalf("token resolves to %v", who)
			}
			// The client refreshes it like any other token.
			r.tok.Expiry = time.Now().Add(-time.Minute)
			next, err := conf.TokenSource(ctx, r.tok).Token()
			if err != nil {
				t.Fatal(err)
			}
			if next.AccessToken == r.tok.AccessToken || e.whoami(t, next.AccessToken) == nil {
				t.Fatal("refresh did not give a working new access token")
			}
		})
		t.Run("Deny", func(t *testing.T) {
			// Logged in already: after the code comes the consent page.
			da, err := conf.DeviceAuth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			result := poll(ctx, da)
			typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
			err = chromedp.Do(browser,
				chromedp.Navigate(da.VerificationURI),
				chromedp.WaitVisible(chromedp.ID("user_code")),
				chromedp.SendKeys(chromedp.ID("user_code"), typed),
				chromedp.Click(chromedp.ID("continue")),
				chromedp.WaitVisible(chromedp.ID("deny")),
				chromedp.Click(chromedp.ID("deny")),
				chromedp.WaitVisible(chromedp.ID("device-done")),
			)
			if err != nil {
				t.Fatal(err)
			}
			done, err := chromedp.Run(browser, chromedp.Text(chromedp.ID("device-done")))
			if err != nil {
				t.Fatal(err)
			}
			if done != "Access denied" {
				t.Fatalf("result page %q", done)
			}
			var r polled
			select {
			case r = <-result:
			case <-ctx.Done():
				t.Fatal("DeviceAccessToken did not return")
			}
			var re *oauth2.RetrieveError
			if !errors.As(r.err, &re) || re.ErrorCode != "access_denied" {
				t.Fatalf("DeviceAccessToken: %v, want access_denied", r.err)
			}
		})
	})
}
