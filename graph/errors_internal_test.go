package graph

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/assetgate/assetgate/resource"
)

// TestPresentError maps service errors to extensions.code, with
// extensions.retryAfter in whole seconds when the error carries one.
func TestPresentError(t *testing.T) {
	present := presentError(slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		name  string
		err   error
		code  string
		retry any
	}{
		{"NotFound", resource.Errorf(resource.ENotFound, "gone"), "NOT_FOUND", nil},
		{"Forbidden", resource.Errorf(resource.EForbidden, "no"), "FORBIDDEN", nil},
		{"RateLimited", &resource.Error{Code: resource.ERateLimited, Message: "later", RetryAfter: 1500 * time.Millisecond}, "RATE_LIMITED", 2},
		{"Unavailable", &resource.Error{Code: resource.EUnavailable, Message: "busy", RetryAfter: 2 * time.Second}, "UNAVAILABLE", 2},
		{"Internal", resource.Errorf(resource.EInternal, "db at 10.0.0.7"), "INTERNAL", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := present(context.Background(), tc.err)
			if got.Extensions["code"] != tc.code || got.Extensions["retryAfter"] != tc.retry {
				t.Fatalf("extensions %v, want code %s retryAfter %v", got.Extensions, tc.code, tc.retry)
			}
		})
	}
}

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
		{"filter.radiusLte", list, "filter.radiusLte"},
		{"filter.search", list, "filter.search"},
		{"sort", list, "orderBy"},
		{"page.size", list, "first"},
		{"page.number", list, "first"},
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
