package oauth

import (
	"slices"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// grantedScope returns the scope a grant yields for an application, given
// the scope the client asked for (space separated, possibly empty):
//
//   - client_credentials: `app` and/or `basic`, limited to the application's
//     scopes; by default all of the application's non-`me` scopes;
//   - every grant that acts for a user: `me` and the OpenID Connect scopes
//     (openid, profile, email) the application has; by default the
//     application's scopes other than the OpenID Connect ones, which a
//     client must ask for.
//
// Anything else is invalid_scope. The result lists the scopes in the order
// of resource.Scopes(), each once.
func grantedScope(app *resource.Application, grant resource.GrantType, requested string) (string, error) {
	var allowed, defaults []string
	for _, sc := range app.Scopes {
		if resource.UserScope(sc) != (grant == resource.GrantClientCredentials) {
			allowed = append(allowed, sc)
			if !oidcScope(sc) {
				defaults = append(defaults, sc)
			}
		}
	}
	if len(allowed) == 0 {
		return "", errInvalidScope("The client has no scope for the %s grant.", grant)
	}
	asked := strings.Fields(requested)
	if len(asked) == 0 {
		asked = defaults
		if len(asked) == 0 {
			asked = allowed
		}
	}
	for _, sc := range asked {
		if !slices.Contains(allowed, sc) {
			return "", errInvalidScope("Scope %q is not available to this client with the %s grant.", sc, grant)
		}
	}
	return canonicalScope(asked), nil
}

// scopeWithin reports whether every scope of requested is in granted. An
// empty request keeps the granted scope.
func scopeWithin(requested, granted string) bool {
	have := strings.Fields(granted)
	for _, sc := range strings.Fields(requested) {
		if !slices.Contains(have, sc) {
			return false
		}
	}
	return true
}

// canonicalScope returns the known scopes of list in the order of
// resource.Scopes(), each once, space separated.
func canonicalScope(list []string) string {
	var out []string
	for _, sc := range resource.Scopes() {
		if slices.Contains(list, sc) {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " ")
}

// oidcScope reports whether sc is one of the OpenID Connect scopes.
func oidcScope(sc string) bool {
	return sc == resource.ScopeOpenID || sc == resource.ScopeProfile || sc == resource.ScopeEmail
}

// hasScope reports whether the space-separated scope holds sc.
func hasScope(scope, sc string) bool { return slices.Contains(strings.Fields(scope), sc) }
