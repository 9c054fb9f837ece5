package resource

import (
	"context"

	"github.com/assetgate/assetgate/scopes"
)

// The include rule, for every transport: what a list may load along with
// its items, and what that needs.

// MayInclude returns the include paths among paths (each one of the
// list's QuerySpec.Includes) that the principal of ctx may have loaded
// along with the items: every include path of today (a device's group and
// its configuration, a group's configuration) reads what groups:read
// covers. A transport that leaves out what it may not include, rather than
// failing the list (GraphQL, whose edges then answer FORBIDDEN one by
// one), asks this; DeviceService.List and Include refuse the others.
func MayInclude(ctx context.Context, paths []string) []string {
	if len(paths) == 0 || !allowed(ctx, scopes.OpGroupsRead) {
		return nil
	}
	return paths
}

// checkIncludeAllowed returns EForbidden, naming the operation, when
// include asks for what the principal of ctx may not read.
func checkIncludeAllowed(ctx context.Context, include []string) error {
	if len(include) > 0 && len(MayInclude(ctx, include)) < len(include) {
		return &Error{Code: EForbidden, Message: "the access token does not allow reading device groups", Operation: scopes.OpGroupsRead}
	}
	return nil
}
