package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/assetgate/assetgate/resource"
)

// These tests use golang.org/x/oauth2, a real OAuth client, against the
// running server.

func TestXOAuth2ClientCredentials(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		owner := e.MustUser(t, "xo-cc@example.com")
		basicApp, basicSecret := e.MustApp(t, owner, resource.ApplicationInput{GrantTypes: []resource.GrantType{"client_credentials"}})
		postApp, postSecret := e.MustApp(t, owner, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_post"})
		for _, c := range []struct {
			name   string
			app    *resource.Application
			secret string
			style  oauth2.AuthStyle
		}{
			{"ClientSecretBasic", basicApp, basicSecret, oauth2.AuthStyleInHeader},
			{"ClientSecretPost", postApp, postSecret, oauth2.AuthStyleInParams},
		} {
			t.Run(c.name, func(t *testing.T) {
				cfg := clientcredentials.Config{
					ClientID: c.app.ID, ClientSecret: c.secret, TokenURL: e.url("/oauth/token"),
					Scopes: []string{"basic"}, AuthStyle: c.style,
				}
				ctx := context.Background()
				tok, err := cfg.Token(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if tok.TokenType != "Bearer" || tok.RefreshToken != "" || tok.Extra("scope") != "basic" || tok.Extra("created_at") == nil {
					t.Fatalf("token: %+v scope=%v", tok, tok.Extra("scope"))
				}
				if d := time.Until(tok.Expiry); d < 119*time.Minute || d > 121*time.Minute {
					t.Fatalf("expires in %v", d)
				}
				resp, err := cfg.Client(ctx).Get(e.url("/whoami"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("whoami: %d", resp.StatusCode)
				}
				cfg.ClientSecret += "x"
				var re *oauth2.RetrieveError
				if _, err := cfg.Token(ctx); !asRetrieveError(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
					t.Fatalf("wrong secret: %v", err)
				}
			})
		}
	})
}

func TestXOAuth2AuthorizationCodeAndRefresh(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "xo-code@example.com")
		cb := e.callbackURL()
		public, _ := e.MustApp(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
		confidential, secret := e.MustApp(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"authorization_code", "refresh_token"}, RedirectURIs: []string{cb}})
		for _, c := range []struct {
			name   string
			app    *resource.Application
			secret string
			style  oauth2.AuthStyle
		}{
			{"PublicClient", public, "", oauth2.AuthStyleInParams},
			{"ConfidentialClient", confidential, secret, oauth2.AuthStyleInHeader},
		} {
			t.Run(c.name, func(t *testing.T) {
				ctx := context.Background()
				conf := &oauth2.Config{
					ClientID: c.app.ID, ClientSecret: c.secret, RedirectURL: cb, Scopes: []string{"me"},
					Endpoint: oauth2.Endpoint{AuthURL: e.url("/oauth/authorize"), TokenURL: e.url("/oauth/token"), AuthStyle: c.style},
				}
				verifier := oauth2.GenerateVerifier()
				authURL, err := url.Parse(conf.AuthCodeURL("state-"+c.name, oauth2.S256ChallengeOption(verifier)))
				if err != nil {
					t.Fatal(err)
				}
				code := e.mustCode(t, newPageClient(t), authURL.Query(), user.Email)
				tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatal(err)
				}
				if tok.RefreshToken == "" || tok.Extra("scope") != "me" {
					t.Fatalf("token: %+v", tok)
				}
				if who := e.whoami(t, tok.AccessToken); who == nil || who["user_id"] != user.ID {
					t.Fatalf("token resolves to %v", who)
				}
				// A second exchange of the code fails.
				if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
					t.Fatal("a code was redeemed twice")
				}

				// Refresh: make the token look expired so the token
				// source refreshes it.
				tok2, err := conf.Exchange(ctx, e.mustCode(t, newPageClient(t), authURL.Query(), user.Email), oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatal(err)
				}
				old := *tok2
				tok2.Expiry = time.Now().Add(-time.Minute)
				fresh, err := conf.TokenSource(ctx, tok2).Token()
				if err != nil {
					t.Fatal(err)
				}
				if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == old.RefreshToken {
					t.Fatalf("refresh did not rotate: %+v", fresh)
				}
				if who := e.whoami(t, fresh.AccessToken); who == nil || who["user_id"] != user.ID {
					t.Fatalf("refreshed token resolves to %v", who)
				}
				// The rotated-out refresh token is dead, and replaying it
				// revoked the family.
				old.Expiry = time.Now().Add(-time.Minute)
				if _, err := conf.TokenSource(ctx, &old).Token(); err == nil {
					t.Fatal("a rotated-out refresh token worked")
				}
				if e.whoami(t, fresh.AccessToken) != nil {
					t.Fatal("refresh token reuse did not revoke the family")
				}
			})
		}
	})
}

func asRetrieveError(err error, re **oauth2.RetrieveError) bool {
	return errors.As(err, re)
}
