package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/assetgate/assetgate/graph/exec"
	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

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
	c.Query.Geogroups = func(child int, _ *model.GeogroupFilter, _ []*model.GeogroupOrder, first *int, _ *string, last *int, _ *string) int {
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

// rulesWithoutSuggestions returns the default validation rules with every
// rule that suggests names ("Did you mean ...") swapped for its variant
// that does not: with introspection off, suggestions would tell the schema
// bit by bit. (gqlgen's SetDisableSuggestion swaps only the field and
// scalar leaf rules.)
func rulesWithoutSuggestions() *rules.Rules {
	r := rules.NewDefaultRules()
	for _, rule := range []core.Rule{
		rules.KnownArgumentNamesRuleWithoutSuggestions,
		rules.KnownTypeNamesRuleWithoutSuggestions,
		rules.ValuesOfCorrectTypeRuleWithoutSuggestions,
	} {
		r.RemoveRule(strings.TrimSuffix(rule.Name, "WithoutSuggestions"))
		r.AddRule(rule.Name, rule.RuleFunc)
	}
	return r
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
