package resource

import (
	"context"

	"github.com/assetgate/assetgate/scopes"
)

// authorize returns the principal of ctx when the scopes table lets it
// perform op. EUnauthenticated without a principal, EForbidden when the
// table says no. Every service method that serves an API calls it first;
// the tenant check (principal.CustomerID) follows in the method.
func authorize(ctx context.Context, op scopes.Operation) (*scopes.Principal, error) {
	p, ok := scopes.FromContext(ctx)
	if !ok {
		return nil, Errorf(EUnauthenticated, "authentication required")
	}
	if !scopes.Allowed(p, op) {
		r, _ := scopes.Lookup(op)
		return nil, &Error{Code: EForbidden, Message: "the access token does not allow " + r.Description, Operation: op}
	}
	return p, nil
}

// allowed reports whether the principal of ctx may perform op, without an
// error (for optional parts of a response).
func allowed(ctx context.Context, op scopes.Operation) bool {
	p, ok := scopes.FromContext(ctx)
	return ok && scopes.Allowed(p, op)
}
