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
//   - every grant that acts for a user: `me`, when the application has it.
//
// Anything else is invalid_scope. The result lists the scopes in the order
// of resource.Scopes(), each once.
func grantedScope(app *resource.Application, grant resource.GrantType, requested string) (string, error) {
	var allowed []string
	for _, sc := range app.Scopes {
		if (sc == resource.ScopeMe) != (grant == resource.GrantClientCredentials) {
			allowed = append(allowed, sc)
		}
	}
	if len(allowed) == 0 {
		return "", errInvalidScope("The client has no scope for the %s grant.", grant)
	}
	asked := strings.Fields(requested)
	if len(asked) == 0 {
		asked = allowed
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
