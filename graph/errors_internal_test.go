package graph

import (
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// TestArgumentPath maps the fields resource errors point at to paths into
// a GraphQL field's arguments.
func TestArgumentPath(t *testing.T) {
	list := &graphql.FieldContext{Args: map[string]any{"filter": nil, "orderBy": nil, "first": nil, "after": nil}}
	mutation := &graphql.FieldContext{Args: map[string]any{"input": nil}}
	for _, c := range []struct {
		field string
		fc    *graphql.FieldContext
		want  string
	}{
		{"filter[radius_lte]", list, "filter.radiusLte"},
		{"filter[search]", list, "filter.search"},
		{"sort", list, "orderBy"},
		{"page[size]", list, "first"},
		{"after", list, "after"},
		{"imei", mutation, "input.imei"},
		{"old_password", mutation, "input.oldPassword"},
		{"settings.shock_threshold_g", mutation, "input.settings.shockThresholdG"},
		{"group", mutation, "input.groupId"},
		{"configuration", mutation, "input.configurationId"},
		{"token_endpoint_auth_method", mutation, "input.tokenEndpointAuthMethod"},
		{"password", nil, "password"},
	} {
		if got := argumentPath(c.field, c.fc); got != c.want {
			t.Errorf("argumentPath(%q) = %q, want %q", c.field, got, c.want)
		}
	}
}
