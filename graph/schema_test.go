package graph_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/assetgate/assetgate/graph/exec"
	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
)

// listSpecs names the query spec of every list field of the schema: its
// filter input and order enum must say exactly what the spec accepts, the
// same filters and sorts as JSON:API's.
func listSpecs() map[string]resource.QuerySpec {
	return map[string]resource.QuerySpec{
		"Query.applications":   resource.ApplicationQuerySpec(),
		"Query.devices":        resource.DeviceQuerySpec(),
		"DeviceGroup.devices":  resource.DeviceQuerySpec(),
		"Query.deviceGroups":   resource.DeviceGroupQuerySpec(),
		"Query.geogroups":      resource.GeogroupQuerySpec(),
		"Query.configurations": resource.ConfigurationQuerySpec(),
		"Query.events":         resource.EventQuerySpec(),
		"Device.events":        resource.DeviceEventQuerySpec(),
	}
}

// TestRelayConnections checks every connection of the schema against the
// Relay cursor connections specification: the paging arguments, the
// connection type (edges, pageInfo, and totalCount), the edge type (cursor
// and a single node) and PageInfo.
func TestRelayConnections(t *testing.T) {
	schema := exec.NewExecutableSchema(exec.Config{}).Schema()
	info := schema.Types["PageInfo"]
	for _, f := range []struct{ name, typ string }{
		{"hasNextPage", "Boolean!"}, {"hasPreviousPage", "Boolean!"}, {"startCursor", "String"}, {"endCursor", "String"},
	} {
		if d := info.Fields.ForName(f.name); d == nil || d.Type.String() != f.typ {
			t.Errorf("PageInfo.%s must be %s", f.name, f.typ)
		}
	}
	found := 0
	for _, typ := range schema.Types {
		if typ.BuiltIn || typ.Kind != ast.Object {
			continue
		}
		for _, f := range typ.Fields {
			conn := schema.Types[f.Type.Name()]
			if !strings.HasSuffix(conn.Name, "Connection") {
				continue
			}
			found++
			name := typ.Name + "." + f.Name
			if f.Type.String() != conn.Name+"!" {
				t.Errorf("%s: a connection field must be non-null, is %s", name, f.Type)
			}
			for _, a := range []struct{ name, typ string }{{"first", "Int"}, {"after", "String"}, {"last", "Int"}, {"before", "String"}} {
				if arg := f.Arguments.ForName(a.name); arg == nil || arg.Type.String() != a.typ {
					t.Errorf("%s: argument %s must be %s", name, a.name, a.typ)
				}
			}
			node := strings.TrimSuffix(conn.Name, "Connection")
			edge := node + "Edge"
			for _, c := range []struct{ field, typ string }{{"edges", "[" + edge + "!]!"}, {"pageInfo", "PageInfo!"}, {"totalCount", "Int!"}} {
				if d := conn.Fields.ForName(c.field); d == nil || d.Type.String() != c.typ {
					t.Errorf("%s.%s must be %s", conn.Name, c.field, c.typ)
				}
			}
			et := schema.Types[edge]
			if et == nil {
				t.Errorf("%s: no edge type %s", conn.Name, edge)
				continue
			}
			if d := et.Fields.ForName("cursor"); d == nil || d.Type.String() != "String!" {
				t.Errorf("%s.cursor must be String!", edge)
			}
			if d := et.Fields.ForName("node"); d == nil || d.Type.String() != node+"!" {
				t.Errorf("%s.node must be %s!", edge, node)
			}
			if _, ok := listSpecs()[name]; !ok {
				t.Errorf("%s: a list field without a query spec in listSpecs", name)
			}
		}
	}
	if found != len(listSpecs()) {
		t.Errorf("%d connection fields, %d in listSpecs", found, len(listSpecs()))
	}
}

// TestFiltersAndOrdersMatchQuerySpecs checks that each list field's filter
// input has exactly the spec's filters (camel-cased), and its order enum
// exactly the spec's sorts (upper-cased).
func TestFiltersAndOrdersMatchQuerySpecs(t *testing.T) {
	schema := exec.NewExecutableSchema(exec.Config{}).Schema()
	for name, spec := range listSpecs() {
		typeName, fieldName, _ := strings.Cut(name, ".")
		f := schema.Types[typeName].Fields.ForName(fieldName)
		var filters, sorts []string
		if arg := f.Arguments.ForName("filter"); arg != nil {
			for _, in := range schema.Types[arg.Type.Name()].Fields {
				filters = append(filters, testsupport.SnakeCase(in.Name))
			}
		}
		if arg := f.Arguments.ForName("orderBy"); arg != nil {
			if arg.Type.String() != "["+arg.Type.Name()+"!]" {
				t.Errorf("%s: orderBy must be a list of non-null orders, is %s", name, arg.Type)
			}
			order := schema.Types[arg.Type.Name()]
			if d := order.Fields.ForName("direction"); d == nil || d.Type.String() != "OrderDirection!" || d.DefaultValue.String() != "ASC" {
				t.Errorf("%s.direction must be OrderDirection! = ASC", order.Name)
			}
			for _, v := range schema.Types[order.Fields.ForName("field").Type.Name()].EnumValues {
				sorts = append(sorts, strings.ToLower(v.Name))
			}
		}
		if !sameSet(filters, spec.Filters) {
			t.Errorf("%s: filter fields %v, the spec's filters are %v", name, filters, spec.Filters)
		}
		if !sameSet(sorts, spec.Sorts) {
			t.Errorf("%s: order fields %v, the spec's sorts are %v", name, sorts, spec.Sorts)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
