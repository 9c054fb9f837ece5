package resource_test

import (
	"slices"
	"testing"

	"github.com/assetgate/assetgate/resource"
)

// TestClosedSets checks the values of the closed sets as the APIs and the
// database show them, and that the functions listing them hand out a new
// slice each time, so no caller can change what the next one sees.
func TestClosedSets(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want []string
	}{
		{"GrantTypes", resource.Names(resource.GrantTypes()), []string{"authorization_code", "client_credentials", "password",
			"refresh_token", "implicit", "urn:ietf:params:oauth:grant-type:device_code"}},
		{"OperatorGrants", resource.Names(resource.OperatorGrants()), []string{"implicit", "password"}},
		{"AuthMethods", resource.Names(resource.AuthMethods()), []string{"client_secret_basic", "client_secret_post", "none"}},
		{"PKCELevels", resource.Names(resource.PKCELevels()), []string{"optional", "required", "s256_required"}},
		{"Scopes", resource.Scopes(), []string{"me", "app", "basic", "openid", "profile", "email"}},
		{"ConfigurationStates", resource.Names([]resource.ConfigurationState{resource.ConfigurationDraft, resource.ConfigurationPublished}),
			[]string{"draft", "published"}},
		{"TokenKinds", resource.Names([]resource.TokenKind{resource.TokenAccess, resource.TokenRefresh, resource.TokenDevice}),
			[]string{"access", "refresh", "device"}},
		{"EventTypes", resource.Names(resource.EventTypes()), []string{"location", "temperature", "shock", "battery", "status", "geofence"}},
		{"IngestEventTypes", resource.Names(resource.IngestEventTypes()), []string{"location", "temperature", "shock", "battery", "status"}},
		{"EndReasons", resource.Names([]resource.EndReason{resource.EndSlowConsumer, resource.EndFanoutInterrupted, resource.EndShutdown,
			resource.EndTokenRevoked, resource.EndInternal}), []string{"slow_consumer", "fanout_interrupted", "shutdown", "token_revoked",
			"internal_error"}},
	} {
		t.Run("OK"+tc.name, func(t *testing.T) {
			if !slices.Equal(tc.got, tc.want) {
				t.Fatalf("%v, want %v", tc.got, tc.want)
			}
		})
	}
	t.Run("OKCopies", func(t *testing.T) {
		resource.GrantTypes()[0] = resource.GrantPassword
		resource.OperatorGrants()[0] = resource.GrantDeviceCode
		resource.AuthMethods()[0] = resource.AuthNone
		resource.PKCELevels()[0] = resource.PKCES256Required
		resource.Scopes()[0] = resource.ScopeBasic
		resource.EventTypes()[0] = resource.EventStatus
		if resource.GrantTypes()[0] != resource.GrantAuthorizationCode || resource.OperatorGrants()[0] != resource.GrantImplicit ||
			resource.AuthMethods()[0] != resource.AuthClientSecretBasic || resource.PKCELevels()[0] != resource.PKCEOptional ||
			resource.Scopes()[0] != resource.ScopeMe || resource.EventTypes()[0] != resource.EventLocation {
			t.Fatal("a caller changed a closed set")
		}
	})
	t.Run("OKNames", func(t *testing.T) {
		if resource.Names[resource.GrantType](nil) != nil || resource.ValuesOf[resource.GrantType](nil) != nil {
			t.Fatal("nil does not stay nil")
		}
		if got := resource.ValuesOf[resource.PKCELevel]([]string{"required"}); !slices.Equal(got, []resource.PKCELevel{resource.PKCERequired}) {
			t.Fatalf("ValuesOf = %v", got)
		}
	})
}
