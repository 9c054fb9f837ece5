package resource

import (
	"testing"
)

func validApp() *Application {
	a := &Application{Name: "x", GrantTypes: []GrantType{GrantAuthorizationCode, GrantRefreshToken}, RedirectURIs: []string{"https://app.example.com/cb"}}
	applyApplicationDefaults(a)
	return a
}

func TestValidateApplication(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(a *Application)
		field string // "" when valid
	}{
		{"OK", func(a *Application) {}, ""},
		{"OKNativeScheme", func(a *Application) { a.RedirectURIs = []string{"com.example.app:/oauth"} }, ""},
		{"OKLoopbackHTTP", func(a *Application) { a.RedirectURIs = []string{"http://127.0.0.1:9000/cb"} }, ""},
		{"ErrName", func(a *Application) { a.Name = "" }, "name"},
		{"ErrUnknownGrant", func(a *Application) { a.GrantTypes = []GrantType{"magic"} }, "grant_types"},
		{"ErrDuplicateGrant", func(a *Application) { a.GrantTypes = []GrantType{GrantPassword, GrantPassword} }, "grant_types"},
		{"ErrNoGrant", func(a *Application) { a.GrantTypes = nil }, "grant_types"},
		{"ErrPublicClientCredentials", func(a *Application) {
			a.TokenEndpointAuthMethod = AuthNone
			a.GrantTypes = []GrantType{GrantClientCredentials}
			a.Scopes = []string{ScopeApp}
		}, "grant_types"},
		{"ErrPublicPassword", func(a *Application) {
			a.TokenEndpointAuthMethod = AuthNone
			a.GrantTypes = []GrantType{GrantPassword, GrantRefreshToken}
		}, "grant_types"},
		{"ErrRefreshAlone", func(a *Application) {
			a.GrantTypes = []GrantType{GrantClientCredentials, GrantRefreshToken}
			a.Scopes = []string{ScopeApp}
		}, "grant_types"},
		{"ErrCodeWithoutRedirect", func(a *Application) { a.RedirectURIs = nil }, "redirect_uris"},
		{"ErrImplicitWithoutRedirect", func(a *Application) { a.GrantTypes = []GrantType{GrantImplicit}; a.RedirectURIs = nil }, "redirect_uris"},
		{"ErrFragment", func(a *Application) { a.RedirectURIs = []string{"https://app.example.com/cb#x"} }, "redirect_uris"},
		{"ErrRelative", func(a *Application) { a.RedirectURIs = []string{"/cb"} }, "redirect_uris"},
		{"ErrPlainHTTP", func(a *Application) { a.RedirectURIs = []string{"http://app.example.com/cb"} }, "redirect_uris"},
		{"ErrUserInfo", func(a *Application) { a.RedirectURIs = []string{"https://u:p@app.example.com/cb"} }, "redirect_uris"},
		{"ErrJavascript", func(a *Application) { a.RedirectURIs = []string{"javascript:alert(1)"} }, "redirect_uris"},
		{"ErrScopeNeedsClientCredentials", func(a *Application) { a.Scopes = []string{ScopeApp} }, "scopes"},
		{"ErrUnknownScope", func(a *Application) { a.Scopes = []string{"admin"} }, "scopes"},
		{"ErrAuthMethod", func(a *Application) { a.TokenEndpointAuthMethod = "private_key_jwt" }, "token_endpoint_auth_method"},
		{"ErrPKCE", func(a *Application) { a.PKCEEnforcement = "sometimes" }, "pkce_enforcement"},
		{"OKConfidentialPKCEOptional", func(a *Application) { a.PKCEEnforcement = PKCEOptional }, ""},
		{"OKPublicPKCERequired", func(a *Application) { a.TokenEndpointAuthMethod = AuthNone; a.PKCEEnforcement = PKCERequired }, ""},
		{"ErrPublicPKCEOptional", func(a *Application) { a.TokenEndpointAuthMethod = AuthNone; a.PKCEEnforcement = PKCEOptional }, "pkce_enforcement"},
		{"ErrTTL", func(a *Application) { a.AccessTokenTTL = 5 }, "access_token_ttl"},
		{"ErrRollingShorter", func(a *Application) { a.RefreshTokenRollingDuration = a.RefreshTokenDuration - 1 }, "refresh_token_rolling_duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := validApp()
			tc.edit(a)
			err := ValidateApplication(a)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if ErrorCode(err) != EInvalid || ErrorField(err) != tc.field {
				t.Fatalf("got %v (field %q), want EInvalid on %q", err, ErrorField(err), tc.field)
			}
		})
	}
}

func TestApplicationDefaults(t *testing.T) {
	a := &Application{Name: "b", GrantTypes: []GrantType{GrantClientCredentials}}
	applyApplicationDefaults(a)
	if a.TokenEndpointAuthMethod != AuthClientSecretBasic || a.PKCEEnforcement != PKCES256Required ||
		a.AccessTokenTTL != DefaultAccessTokenTTL || len(a.Scopes) != 2 || a.Scopes[0] != ScopeApp {
		t.Fatalf("defaults: %+v", a)
	}
	pub := &Application{TokenEndpointAuthMethod: AuthNone, PKCEEnforcement: PKCEOptional}
	if pub.EffectivePKCE() != PKCERequired {
		t.Fatalf("a public client's PKCE is %q, want at least required", pub.EffectivePKCE())
	}
}
