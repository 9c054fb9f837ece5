package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// traceOperation makes a span of each operation ("query Name"), the
// parent of its root fields' spans; it ends with the operation's first
// response (a subscription's: with its last).
func traceOperation(tr trace.Tracer) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		kind, name := "operation", oc.OperationName
		if oc.Operation != nil {
			kind = string(oc.Operation.Operation)
			if name == "" {
				name = oc.Operation.Name
			}
		}
		spanName := kind
		if name != "" {
			spanName += " " + name
		}
		ctx, span := tr.Start(ctx, spanName, trace.WithAttributes(
			attribute.String("graphql.operation.type", kind), attribute.String("graphql.operation.name", name)))
		subscription := oc.Operation != nil && oc.Operation.Operation == ast.Subscription
		var once sync.Once
		end := func(resp *graphql.Response) {
			once.Do(func() {
				if resp != nil && len(resp.Errors) > 0 {
					span.SetStatus(codes.Error, "")
				}
				span.End()
			})
		}
		rh := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			resp := rh(ctx)
			if !subscription || resp == nil {
				end(resp)
			}
			return resp
		}
	}
}

// traceRootField makes a span of each root field ("Query.devices"): the
// resolvers that call a service. Fields below them are not traced, to
// keep it cheap; their SQL statements are children of the root field's.
func traceRootField(tr trace.Tracer) graphql.RootFieldMiddleware {
	return func(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
		fc := graphql.GetRootFieldContext(ctx)
		name := "field"
		if fc != nil && fc.Field.Field != nil {
			name = fc.Field.Name
			if def := fc.Field.ObjectDefinition; def != nil {
				name = def.Name + "." + name
			}
		}
		ctx, span := tr.Start(ctx, name)
		defer span.End()
		return next(ctx)
	}
}
