package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vikstrous/dataloadgen"

	"github.com/assetgate/assetgate/resource"
)

// loaderWait is how long a data loader collects keys before it reads them
// in one call: the resolvers of one list's items ask within microseconds
// of each other.
const loaderWait = 2 * time.Millisecond

// loaders are the data loaders of one operation: every to-one edge, and
// the per-device stats and tokens, are read through them, so that a list's
// items cost one read per edge, not one per item. They read through the
// services' FindMany, StatsMany and ListMany, so the scope and tenant
// checks stay in resource; a missing item (deleted meanwhile, or another
// customer's) is nil.
type loaders struct {
	groups         *dataloadgen.Loader[string, *resource.DeviceGroup]
	configurations *dataloadgen.Loader[string, *resource.Configuration]
	stats          *dataloadgen.Loader[string, *resource.DeviceStats]
	tokens         *dataloadgen.Loader[string, []*resource.DeviceToken]
}

// loadersKey is the context key of the operation's loaders.
type loadersKey struct{}

// newLoaders returns fresh loaders over the services of r.
func (r *Resolver) newLoaders() *loaders {
	return &loaders{
		groups: dataloadgen.NewLoader(byID(r.deps.Groups.FindMany, func(g *resource.DeviceGroup) string { return g.ID }),
			dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(resource.MaxPageSize)),
		configurations: dataloadgen.NewLoader(byID(r.deps.Configurations.FindMany, func(c *resource.Configuration) string { return c.ID }),
			dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(resource.MaxPageSize)),
		stats: dataloadgen.NewLoader(byKey(r.deps.Events.StatsMany),
			dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(resource.MaxPageSize)),
		tokens: dataloadgen.NewLoader(byKey(r.deps.DeviceTokens.ListMany),
			dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(resource.MaxPageSize)),
	}
}

// byKey adapts a batch read keyed by id (StatsMany, ListMany) to a
// loader's fetch: results in the order of the keys, the zero value for a
// key without an entry, one error for the whole batch.
func byKey[T any](readMany func(ctx context.Context, ids []string) (map[string]T, error)) func(context.Context, []string) ([]T, []error) {
	return func(ctx context.Context, keys []string) ([]T, []error) {
		found, err := readMany(ctx, keys)
		if err != nil {
			return nil, []error{err}
		}
		out := make([]T, len(keys))
		for i, k := range keys {
			out[i] = found[k]
		}
		return out, nil
	}
}

// byID adapts a FindMany to a loader's fetch: results in the order of the
// keys, nil for a key without an item, one error for the whole batch.
func byID[T any](findMany func(ctx context.Context, ids []string) ([]T, error), id func(T) string) func(context.Context, []string) ([]T, []error) {
	return func(ctx context.Context, keys []string) ([]T, []error) {
		found, err := findMany(ctx, keys)
		if err != nil {
			return nil, []error{err}
		}
		byKey := make(map[string]T, len(found))
		for _, it := range found {
			byKey[id(it)] = it
		}
		out := make([]T, len(keys))
		for i, k := range keys {
			out[i] = byKey[k]
		}
		return out, nil
	}
}

// withLoaders is the operation middleware that gives each operation (an
// HTTP request, or one operation of a WebSocket connection) its own
// loaders, so nothing is cached across requests or principals.
func (r *Resolver) withLoaders(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(context.WithValue(ctx, loadersKey{}, r.newLoaders()))
}

// freshPerMutation is the root field middleware that empties the loaders
// before each field of a mutation (they run one after the other), so that
// a mutation's payload never shows what an earlier one read before it
// wrote.
func freshPerMutation(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Mutation {
		if l := loadersOf(ctx); l != nil {
			l.groups.ClearAll()
			l.configurations.ClearAll()
			l.stats.ClearAll()
			l.tokens.ClearAll()
		}
	}
	return next(ctx)
}

// loadersOf returns the loaders of the operation of ctx.
func loadersOf(ctx context.Context) *loaders {
	l, _ := ctx.Value(loadersKey{}).(*loaders)
	return l
}

// group returns a device group through the loader; nil for id "".
func group(ctx context.Context, id string) (*resource.DeviceGroup, error) {
	if id == "" {
		return nil, nil
	}
	return loadersOf(ctx).groups.Load(ctx, id)
}

// configuration returns a configuration through the loader; nil for id "".
func configuration(ctx context.Context, id string) (*resource.Configuration, error) {
	if id == "" {
		return nil, nil
	}
	return loadersOf(ctx).configurations.Load(ctx, id)
}

// deviceStats returns a device's stats through the loader; ENotFound when
// the device is not there (deleted meanwhile), as EventService.Stats says.
func deviceStats(ctx context.Context, deviceID string) (*resource.DeviceStats, error) {
	st, err := loadersOf(ctx).stats.Load(ctx, deviceID)
	if err == nil && st == nil {
		err = resource.Errorf(resource.ENotFound, "device %q not found", deviceID)
	}
	return st, err
}

// deviceTokens returns a device's live tokens through the loader; an empty
// list when it has none.
func deviceTokens(ctx context.Context, deviceID string) ([]*resource.DeviceToken, error) {
	ts, err := loadersOf(ctx).tokens.Load(ctx, deviceID)
	if err == nil && ts == nil {
		ts = []*resource.DeviceToken{}
	}
	return ts, err
}

// batchedEdges returns what a device list calls with its page: it queues
// the stats and tokens of all the page's devices in their loaders at once
// (without waiting), when the current connection field's selection asks
// for them through edges.node, so that they are read in one batch each
// however slowly the items' resolvers start. Errors (a principal without
// the scope) stay in the loaders, for each item's field to report.
func batchedEdges(ctx context.Context) func(context.Context, []*resource.Device) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return func(context.Context, []*resource.Device) {}
	}
	opCtx, typ := graphql.GetOperationContext(ctx), fc.Field.Definition.Type.Name()
	stats := selects(opCtx, typ, fc.Field.Selections, []string{"edges", "node", "stats"})
	tokens := selects(opCtx, typ, fc.Field.Selections, []string{"edges", "node", "tokens"})
	return func(ctx context.Context, devices []*resource.Device) {
		l := loadersOf(ctx)
		ids := make([]string, len(devices))
		for i, d := range devices {
			ids[i] = d.ID
		}
		if stats {
			l.stats.LoadAllThunk(ctx, ids)
		}
		if tokens {
			l.tokens.LoadAllThunk(ctx, ids)
		}
	}
}

// prime stores what a list read along (resource.Included) in the loaders,
// so that the edges of its items are not read again.
func prime(ctx context.Context, inc resource.Included) {
	l := loadersOf(ctx)
	for _, g := range inc.Groups {
		l.groups.Prime(g.ID, g)
	}
	for _, c := range inc.Configurations {
		l.configurations.Prime(c.ID, c)
	}
}
