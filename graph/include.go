package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/assetgate/assetgate/resource"
)

// This file maps a connection field's selection set onto the include paths
// of its resource query (resource.Query.Include): when the client selects
// edges.node.group, the devices are read with include=group, in the same
// service call, and the loaders are primed with the groups, so the
// group of each device costs nothing more.

// includes returns the include paths among paths (each a dotted path from
// the connection's node, like "group.configuration") that the current
// field's selection reaches through edges.node. Paths come in order of
// length, and only those resource.MayInclude allows the principal: the
// others are left to the edges, which answer FORBIDDEN one by one instead
// of failing the list.
func includes(ctx context.Context, paths ...[]string) []string {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return nil
	}
	var out []string
	for _, path := range paths {
		full := append([]string{"edges", "node"}, path...)
		if selects(graphql.GetOperationContext(ctx), fc.Field.Definition.Type.Name(), fc.Field.Selections, full) {
			out = append(out, joinPath(path))
		}
	}
	return resource.MayInclude(ctx, out)
}

// selects reports whether a selection set on the type typeName reaches
// path, through any alias and fragment.
func selects(opCtx *graphql.OperationContext, typeName string, set ast.SelectionSet, path []string) bool {
	if len(path) == 0 {
		return true
	}
	for _, f := range graphql.CollectFields(opCtx, set, []string{typeName}) {
		if f.Name == path[0] && selects(opCtx, f.Definition.Type.Name(), f.Selections, path[1:]) {
			return true
		}
	}
	return false
}

func joinPath(path []string) string {
	s := path[0]
	for _, p := range path[1:] {
		s += "." + p
	}
	return s
}

// listDevices reads a page of devices with list, including the groups and
// configurations the selection asks for, and primes the loaders with them.
func listDevices(ctx context.Context, q resource.ListQuery[resource.DeviceListFilter], list func(context.Context, resource.ListQuery[resource.DeviceListFilter]) (*resource.DeviceList, error)) lister[*resource.Device] {
	q.Include = includes(ctx, []string{"group"}, []string{"group", "configuration"})
	batch := batchedEdges(ctx)
	return func(ctx context.Context, page resource.Page) ([]*resource.Device, int, error) {
		q.Page = page
		l, err := list(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		prime(ctx, l.Included)
		batch(ctx, l.Devices)
		return l.Devices, l.Total, nil
	}
}

// selectsField reports whether the current field's selection set asks for
// the field name of its result (through any alias or fragment).
func selectsField(ctx context.Context, name string) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return true
	}
	return selects(graphql.GetOperationContext(ctx), fc.Field.Definition.Type.Name(), fc.Field.Selections, []string{name})
}
