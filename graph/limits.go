package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/assetgate/assetgate/graph/exec"
	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// Codes of the errors of the shape limits (gqlgen's complexity limit has
// COMPLEXITY_LIMIT_EXCEEDED).
const (
	CodeDepthLimit = "DEPTH_LIMIT_EXCEEDED"
	CodeFieldLimit = "FIELD_LIMIT_EXCEEDED"
	CodeAliasLimit = "ALIAS_LIMIT_EXCEEDED"
)

// shapeLimits refuses an operation, after validation and before anything
// runs, when its selections nest deeper than depth, or hold more than
// fields fields or aliases aliases in all (fragments count each time they
// are spread). Introspection fields (__schema, __type) are left out: their
// size is bounded by the schema, and turning introspection off is the way
// to refuse them.
type shapeLimits struct {
	depth, fields, aliases int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = shapeLimits{}

// ExtensionName implements graphql.HandlerExtension.
func (shapeLimits) ExtensionName() string { return "ShapeLimits" }

// Validate implements graphql.HandlerExtension.
func (shapeLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (l shapeLimits) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	s := &shape{limits: l}
	s.walk(opCtx.Operation.SelectionSet, 1)
	switch {
	case s.depth > l.depth:
		return limitError(CodeDepthLimit, "the operation nests deeper than %d levels", l.depth)
	case s.fields > l.fields:
		return limitError(CodeFieldLimit, "the operation selects more than %d fields", l.fields)
	case s.aliases > l.aliases:
		return limitError(CodeAliasLimit, "the operation uses more than %d aliases", l.aliases)
	}
	return nil
}

func limitError(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, code)
	return err
}

// shape measures a selection set; it stops as soon as a limit is passed,
// so a document that spreads fragments exponentially costs no more than
// the limits.
type shape struct {
	limits                 shapeLimits
	depth, fields, aliases int
}

func (s *shape) over() bool {
	return s.depth > s.limits.depth || s.fields > s.limits.fields || s.aliases > s.limits.aliases
}

func (s *shape) walk(set ast.SelectionSet, level int) {
	for _, sel := range set {
		if s.over() {
			return
		}
		switch sel := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(sel.Name, "__") && sel.Name != "__typename" {
				continue
			}
			s.fields++
			if sel.Alias != "" && sel.Alias != sel.Name {
				s.aliases++
			}
			s.depth = max(s.depth, level)
			s.walk(sel.SelectionSet, level+1)
		case *ast.InlineFragment:
			s.walk(sel.SelectionSet, level)
		case *ast.FragmentSpread:
			if sel.Definition != nil {
				s.walk(sel.Definition.SelectionSet, level)
			}
		}
	}
}

// complexity returns the cost model of the complexity limit: a field costs
// 1 plus its selection, and a connection costs its selection once per item
// it may return (its first or last, else the default page size), so
// nesting lists multiplies.
func complexity() exec.ComplexityRoot {
	var c exec.ComplexityRoot
	c.Query.Applications = func(child int, first *int, _ *string, last *int, _ *string) int {
		return listCost(child, first, last)
	}
	c.Query.Devices = func(child int, _ *model.DeviceFilter, _ []*model.DeviceOrder, first *int, _ *string, last *int, _ *string) int {
		return listCost(child, first, last)
	}
	c.Query.DeviceGroups = func(child int, _ *model.DeviceGroupFilter, _ []*model.DeviceGroupOrder, first *int, _ *string, last *int, _ *string) int {
		return listCost(child, first, last)
	}
	c.Query.Configurations = func(child int, _ *model.ConfigurationFilter, _ []*model.ConfigurationOrder, first *int, _ *string, last *int, _ *string) int {
		return listCost(child, first, last)
	}
	c.Query.Events = func(child int, _ *model.EventFilter, _ []*model.EventOrder, first *int, _ *string, last *int, _ *string) int {
		return listCost(child, first, last)
	}
	c.Device.Events = func(child int, _ *model.DeviceEventFilter, _ []*model.EventOrder, first *int, _ *string, last *int, _ *string) int {
		return listCost(child, first, last)
	}
	// A device's tokens are one list of at most MaxDeviceTokens, read
	// apart for each device.
	c.Device.Tokens = func(child int) int { return 1 + resource.MaxDeviceTokens*child }
	c.DeviceGroup.Devices = func(child int, _ *model.DeviceFilter, _ []*model.DeviceOrder, first *int, _ *string, last *int, _ *string) int {
		return listCost(child, first, last)
	}
	return c
}

// listCost is the cost of a connection whose selection costs child.
func listCost(child int, first, last *int) int {
	n := resource.DefaultPageSize
	switch {
	case first != nil && last != nil:
		n = min(max(*first, 0), max(*last, 0))
	case first != nil:
		n = max(*first, 0)
	case last != nil:
		n = max(*last, 0)
	}
	// Out-of-range sizes are refused when the field runs; cost them at the
	// most a page can hold.
	n = min(n, resource.MaxPageSize)
	return 1 + max(n, 1)*child
}

// CodeIntrospectionDisabled is the code of an introspection query when
// introspection is off.
const CodeIntrospectionDisabled = "INTROSPECTION_DISABLED"

// noIntrospection refuses, before anything runs, an operation that asks
// for __schema or __type (which only the query root has) when
// introspection is off. __typename stays allowed.
type noIntrospection struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = noIntrospection{}

// ExtensionName implements graphql.HandlerExtension.
func (noIntrospection) ExtensionName() string { return "NoIntrospection" }

// Validate implements graphql.HandlerExtension.
func (noIntrospection) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (noIntrospection) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil || !asksIntrospection(opCtx.Operation.SelectionSet) {
		return nil
	}
	return limitError(CodeIntrospectionDisabled, "introspection is disabled on this server")
}

// asksIntrospection reports whether a root selection set selects __schema
// or __type, directly or through fragments.
func asksIntrospection(set ast.SelectionSet) bool {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name == "__schema" || sel.Name == "__type" {
				return true
			}
		case *ast.InlineFragment:
			if asksIntrospection(sel.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if sel.Definition != nil && asksIntrospection(sel.Definition.SelectionSet) {
				return true
			}
		}
	}
	return false
}
