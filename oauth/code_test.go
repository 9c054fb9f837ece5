package oauth_test

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
)

// codeParams returns the parameters of an authorization code request.
func codeParams(app *resource.Application, redirectURI, state, challenge, method string) url.Values {
	v := url.Values{"response_type": {"code"}, "client_id": {app.ID}, "state": {state}}
	if redirectURI != "" {
		v.Set("redirect_uri", redirectURI)
	}
	if challenge != "" {
		v.Set("code_challenge", challenge)
	}
	if method != "" {
		v.Set("code_challenge_method", method)
	}
	return v
}

// exchangeForm returns the token request of a code for a public client.
func exchangeForm(app *resource.Application, code, redirectURI, verifier string) url.Values {
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "client_id": {app.ID}}
	if verifier != "" {
		v.Set("code_verifier", verifier)
	}
	return v
}

// mustCode runs an approved authorization request and returns its code,
// checking that state came back intact.
func (e *env) mustCode(tb testing.TB, pc *pageClient, params url.Values, email string) string {
	tb.Helper()
	loc := e.authorize(tb, pc, params, email, true)
	q := loc.Query()
	if q.Get("error") != "" {
		tb.Fatalf("authorization failed: %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if got, want := q.Get("state"), params.Get("state"); got != want {
		tb.Fatalf("state = %q, want %q", got, want)
	}
	if !strings.HasPrefix(q.Get("code"), oauth.AuthorizationCodePrefix) {
		tb.Fatalf("no code in %s", loc)
	}
	return q.Get("code")
}

// awkwardState is a state value that survives only if it is encoded right.
const awkwardState = "s t&a=te/é+%#?"

func TestAuthorizationCodeGrant(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "heidi@example.com")
		cb := e.callbackURL()
		public, _ := e.MustApp(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: "none",
			RedirectURIs: []string{cb, cb + "2"}})
		confidential, secret := e.MustApp(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"authorization_code"}, PKCEEnforcement: "optional", RedirectURIs: []string{cb}})
		pc := newPageClient(t)

		t.Run("OK", func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			code := e.mustCode(t, pc, codeParams(public, cb, awkwardState, oauth2.S256ChallengeFromVerifier(verifier), ""), user.Email)
			tr := e.postToken(t, "", "", exchangeForm(public, code, cb, verifier)).mustOK(t)
			if tr.Scope != "me" || tr.RefreshToken == "" || tr.CreatedAt == 0 {
				t.Fatalf("response: %+v", tr.Raw)
			}
			who := e.whoami(t, tr.AccessToken)
			if who == nil || who["user_id"] != user.ID || who["client_id"] != public.ID {
				t.Fatalf("token resolves to %v", who)
			}
			e.postToken(t, "", "", refreshForm(tr.RefreshToken)).mustError(t, 401, "invalid_client")
			f := refreshForm(tr.RefreshToken)
			f.Set("client_id", public.ID)
			e.postToken(t, "", "", f).mustOK(t)
		})
		t.Run("OKConfidentialWithoutPKCE", func(t *testing.T) {
			code := e.mustCode(t, pc, codeParams(confidential, "", "xyz", "", ""), user.Email)
			f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb}}
			e.postToken(t, confidential.ID, secret, f).mustOK(t)
		})
		t.Run("ErrVerifierWithoutChallenge", func(t *testing.T) {
			code := e.mustCode(t, pc, codeParams(confidential, cb, "xyz", "", ""), user.Email)
			f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb}, "code_verifier": {oauth2.GenerateVerifier()}}
			e.postToken(t, confidential.ID, secret, f).mustError(t, 400, "invalid_grant")
		})
		t.Run("ErrWrongVerifier", func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			code := e.mustCode(t, pc, codeParams(public, cb, "s", oauth2.S256ChallengeFromVerifier(verifier), "S256"), user.Email)
			e.postToken(t, "", "", exchangeForm(public, code, cb, oauth2.GenerateVerifier())).mustError(t, 400, "invalid_grant")
			// The failed attempt used the code up.
			e.postToken(t, "", "", exchangeForm(public, code, cb, verifier)).mustError(t, 400, "invalid_grant")
		})
		t.Run("ErrMissingVerifier", func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			code := e.mustCode(t, pc, codeParams(public, cb, "s", oauth2.S256ChallengeFromVerifier(verifier), ""), user.Email)
			e.postToken(t, "", "", exchangeForm(public, code, cb, "")).mustError(t, 400, "invalid_grant")
		})
		t.Run("ErrMalformedVerifier", func(t *testing.T) {
			// The challenge is the S256 of the malformed verifier, so the
			// verifier matches: only its form can fail it.
			for _, verifier := range []string{strings.Repeat("a", 42), strings.Repeat("a", 129), strings.Repeat("a", 42) + "+"} {
				code := e.mustCode(t, pc, codeParams(public, cb, "s", oauth2.S256ChallengeFromVerifier(verifier), "S256"), user.Email)
				e.postToken(t, "", "", exchangeForm(public, code, cb, verifier)).mustError(t, 400, "invalid_grant")
			}
			verifier := strings.Repeat("a", 43)
			code := e.mustCode(t, pc, codeParams(public, cb, "s", oauth2.S256ChallengeFromVerifier(verifier), "S256"), user.Email)
			e.postToken(t, "", "", exchangeForm(public, code, cb, verifier)).mustOK(t)
		})
		t.Run("ErrRedirectURIMismatch", func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			code := e.mustCode(t, pc, codeParams(public, cb, "s", oauth2.S256ChallengeFromVerifier(verifier), ""), user.Email)
			e.postToken(t, "", "", exchangeForm(public, code, cb+"2", verifier)).mustError(t, 400, "invalid_grant")
		})
		t.Run("ErrCodeOfAnotherClient", func(t *testing.T) {
			code := e.mustCode(t, pc, codeParams(confidential, cb, "s", "", ""), user.Email)
			f := exchangeForm(public, code, cb, "")
			e.postToken(t, "", "", f).mustError(t, 400, "invalid_grant")
		})
		t.Run("ErrReplayRevokesTokens", func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			code := e.mustCode(t, pc, codeParams(public, cb, "s", oauth2.S256ChallengeFromVerifier(verifier), ""), user.Email)
			tr := e.postToken(t, "", "", exchangeForm(public, code, cb, verifier)).mustOK(t)
			if e.whoami(t, tr.AccessToken) == nil {
				t.Fatal("fresh token refused")
			}
			e.postToken(t, "", "", exchangeForm(public, code, cb, verifier)).mustError(t, 400, "invalid_grant")
			if e.whoami(t, tr.AccessToken) != nil {
				t.Fatal("the access token issued from a replayed code still works")
			}
			f := refreshForm(tr.RefreshToken)
			f.Set("client_id", public.ID)
			e.postToken(t, "", "", f).mustError(t, 400, "invalid_grant")
		})
		t.Run("ErrUnknownCode", func(t *testing.T) {
			e.postToken(t, "", "", exchangeForm(public, "agac_nope", cb, oauth2.GenerateVerifier())).mustError(t, 400, "invalid_grant")
		})
	})
}

func TestImplicitGrant(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "ivan@example.com")
		cb := e.callbackURL()
		app, _ := e.MustApp(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"implicit"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
		pc := newPageClient(t)
		params := url.Values{"response_type": {"token"}, "client_id": {app.ID}, "redirect_uri": {cb}, "state": {awkwardState}}

		loc := e.authorize(t, pc, params, user.Email, true)
		if loc.RawQuery != "" {
			t.Fatalf("implicit response in the query: %s", loc)
		}
		frag, err := url.ParseQuery(loc.EscapedFragment())
		if err != nil {
			t.Fatal(err)
		}
		if frag.Get("state") != awkwardState || frag.Get("token_type") != "Bearer" || frag.Get("scope") != "me" ||
			frag.Get("expires_in") != "7200" || frag.Has("refresh_token") {
			t.Fatalf("fragment: %v", frag)
		}
		if who := e.whoami(t, frag.Get("access_token")); who == nil || who["user_id"] != user.ID {
			t.Fatalf("token resolves to %v", who)
		}

		t.Run("ErrNotAllowed", func(t *testing.T) {
			codeApp, _ := e.MustApp(t, user, resource.ApplicationInput{
				GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
			p := url.Values{"response_type": {"token"}, "client_id": {codeApp.ID}, "redirect_uri": {cb}, "state": {"s"}}
			resp, _ := pc.do(t, "GET", e.url("/oauth/authorize?"+p.Encode()), nil)
			loc, _ := url.Parse(resp.Header.Get("Location"))
			frag, _ := url.ParseQuery(loc.EscapedFragment())
			if resp.StatusCode != 302 || frag.Get("error") != "unauthorized_client" || frag.Get("state") != "s" {
				t.Fatalf("status %d, location %s", resp.StatusCode, loc)
			}
		})
	})
}
