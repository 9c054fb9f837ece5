package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/assetgate/assetgate/metrics"
)

// operationMetrics is the extension that counts every GraphQL operation
// answered, by name and outcome (the code of its first error, or ok), and
// the requests refused by a shape or cost limit. A subscription counts
// once, with its first response.
type operationMetrics struct{ m *metrics.Metrics }

var (
	_ graphql.HandlerExtension     = operationMetrics{}
	_ graphql.OperationInterceptor = operationMetrics{}
	_ graphql.ResponseInterceptor  = operationMetrics{}
)

func (operationMetrics) ExtensionName() string                   { return "OperationMetrics" }
func (operationMetrics) Validate(graphql.ExecutableSchema) error { return nil }
func (operationMetrics) String() string                          { return "OperationMetrics" }
func (operationMetrics) countedKeyValue(ctx context.Context) *bool {
	b, _ := ctx.Value(countedKey{}).(*bool)
	return b
}
func (o operationMetrics) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(context.WithValue(ctx, countedKey{}, new(bool)))
}

// countedKey marks the context of an operation whose count was taken.
type countedKey struct{}

// InterceptResponse counts the first response of each operation; requests
// refused before an operation was made (parse errors, limits) have no
// mark and count with their only response.
func (o operationMetrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if counted := o.countedKeyValue(ctx); counted != nil {
		if *counted {
			return resp
		}
		*counted = true
	}
	name := ""
	if graphql.HasOperationContext(ctx) {
		oc := graphql.GetOperationContext(ctx)
		name = oc.OperationName
		if name == "" && oc.Operation != nil {
			name = oc.Operation.Name
		}
	}
	code := ""
	if resp != nil && len(resp.Errors) > 0 {
		e := resp.Errors[0]
		code, _ = e.Extensions["code"].(string)
		if code == "" {
			code = "other"
		}
		if limit := limitOf(code, e.Message); limit != "" {
			o.m.GraphQLRejected(limit)
		}
	}
	o.m.GraphQLOperation(name, code)
	return resp
}

// limitOf names the limit an error code reports, "" for other codes.
func limitOf(code, message string) string {
	switch code {
	case CodeDepthLimit:
		return metrics.LimitDepth
	case CodeFieldLimit:
		return metrics.LimitFields
	case CodeAliasLimit:
		return metrics.LimitAliases
	case "COMPLEXITY_LIMIT_EXCEEDED":
		return metrics.LimitComplexity
	case "GRAPHQL_PARSE_FAILED":
		if strings.Contains(message, "token limit") {
			return metrics.LimitParserTokens
		}
	}
	return ""
}

// OperationNames returns the names of the operations of documents (the
// trusted documents), for the bounded operation label of the metrics.
func OperationNames(documents map[string]string) []string {
	var names []string
	for _, d := range documents {
		doc, err := parser.ParseQuery(&ast.Source{Input: d})
		if err != nil {
			continue
		}
		for _, op := range doc.Operations {
			if op.Name != "" {
				names = append(names, op.Name)
			}
		}
	}
	return names
}
