package jsonapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

func TestMapError(t *testing.T) {
	rt := &route{ops: []scopes.Operation{scopes.OpDevicesRead, scopes.OpGroupsRead}, pointer: attributePointers("group")}
	basic := &scopes.Principal{Kind: scopes.KindApplication, CustomerID: "c", Scopes: []string{scopes.Basic}}
	noScope := &scopes.Principal{Kind: scopes.KindApplication, CustomerID: "c"}
	device := &scopes.Principal{Kind: scopes.KindDevice, CustomerID: "c", DeviceID: "d", Permissions: []string{scopes.DeviceRead}}
	for _, tc := range []struct {
		name      string
		err       error
		principal *scopes.Principal
		status    int
		code      string
		pointer   string
		parameter string
		challenge string // a substring of WWW-Authenticate; "" for none
		retry     string // Retry-After; "" for none
	}{
		{name: "InvalidQueryParameter", err: resource.Invalidf("filter.fault", "bad"), status: 400, code: "Invalid", parameter: "filter[fault]"},
		{name: "InvalidFilterCamelCase", err: resource.Invalidf("filter.radiusLte", "bad"), status: 400, code: "Invalid", parameter: "filter[radius_lte]"},
		{name: "InvalidSort", err: resource.Invalidf("sort", "bad"), status: 400, code: "Invalid", parameter: "sort"},
		{name: "InvalidInclude", err: resource.Invalidf("include", "bad"), status: 400, code: "Invalid", parameter: "include"},
		{name: "InvalidPage", err: resource.Invalidf(resource.PathPageSize, "bad"), status: 400, code: "Invalid", parameter: "page[size]"},
		{name: "InvalidPageNumber", err: resource.Invalidf(resource.PathPageNumber, "bad"), status: 400, code: "Invalid", parameter: "page[number]"},
		{name: "InvalidAttribute", err: resource.Invalidf("imei", "bad"), status: 422, code: "Invalid", pointer: "/data/attributes/imei"},
		{name: "InvalidNested", err: resource.Invalidf("settings.shock_threshold_g", "bad"), status: 422, code: "Invalid", pointer: "/data/attributes/settings/shock_threshold_g"},
		{name: "InvalidRelationship", err: resource.Invalidf("group", "bad"), status: 422, code: "Invalid", pointer: "/data/relationships/group"},
		{name: "InvalidNoField", err: resource.Errorf(resource.EInvalid, "bad"), status: 422, code: "Invalid"},
		{name: "NotFound", err: resource.Errorf(resource.ENotFound, "gone"), status: 404, code: "NotFound"},
		{name: "NotFoundRelated", err: &resource.Error{Code: resource.ENotFound, Field: "group", Message: "x"}, status: 404, code: "NotFound", pointer: "/data/relationships/group"},
		{name: "Conflict", err: &resource.Error{Code: resource.EConflict, Field: "imei", Message: "dup"}, status: 409, code: "Conflict", pointer: "/data/attributes/imei"},
		{name: "WrappedConflict", err: fmt.Errorf("ctx: %w", resource.Errorf(resource.EConflict, "x")), status: 409, code: "Conflict"},
		{name: "Unauthenticated", err: resource.Errorf(resource.EUnauthenticated, "who"), status: 401, code: "Unauthenticated", challenge: `Bearer realm="assetgate"`},
		{name: "ForbiddenScope", err: resource.Errorf(resource.EForbidden, "no"), principal: noScope, status: 403, code: "Forbidden", challenge: `error="insufficient_scope"`},
		{name: "ForbiddenSecondOp", err: resource.Errorf(resource.EForbidden, "no"), principal: device, status: 403, code: "Forbidden", challenge: `scope="me app basic"`},
		{name: "ForbiddenIncludeNeedsMore", err: &resource.Error{Code: resource.EForbidden, Message: "no", Operation: scopes.OpGroupsWrite}, principal: basic, status: 403, code: "Forbidden", challenge: `scope="me app"`},
		{name: "ForbiddenNoScopeMissing", err: resource.Errorf(resource.EForbidden, "no"), principal: basic, status: 403, code: "Forbidden"},
		{name: "ForbiddenField", err: &resource.Error{Code: resource.EForbidden, Field: "old_password", Message: "wrong"}, principal: basic, status: 403, code: "Forbidden", pointer: "/data/attributes/old_password"},
		{name: "MissingToken", err: scopes.ErrMissingToken, status: 401, code: "Unauthenticated", challenge: `Bearer realm="assetgate"`},
		{name: "InvalidToken", err: scopes.ErrInvalidToken, status: 401, code: "invalid_token", challenge: `error="invalid_token"`},
		{name: "InvalidRequest", err: scopes.ErrInvalidRequest, status: 400, code: "invalid_request", challenge: `error="invalid_request"`},
		{name: "Transport", err: badParameter("foo", "x"), status: 400, code: "Invalid", parameter: "foo"},
		{name: "TooLarge", err: &http.MaxBytesError{Limit: 1}, status: 413, code: "Invalid"},
		{name: "RateLimited", err: &resource.Error{Code: resource.ERateLimited, Message: "later", RetryAfter: 90 * time.Second}, status: 429, code: "RateLimited", retry: "90"},
		{name: "RateLimitedRoundsUp", err: &resource.Error{Code: resource.ERateLimited, Message: "later", RetryAfter: 1500 * time.Millisecond}, status: 429, code: "RateLimited", retry: "2"},
		{name: "Unavailable", err: fmt.Errorf("hash: %w", &resource.Error{Code: resource.EUnavailable, Message: "busy", RetryAfter: 2 * time.Second}), status: 503, code: "Unavailable", retry: "2"},
		{name: "InternalCode", err: resource.Errorf(resource.EInternal, "db exploded at 10.0.0.7"), status: 500, code: "Internal"},
		{name: "Unknown", err: errors.New("pq: password authentication failed for 10.0.0.7"), status: 500, code: "Internal"},
		{name: "UnavailableNoRetry", err: resource.Errorf(resource.EUnavailable, "busy"), status: 503, code: "Unavailable", retry: "2"},
		{name: "StoreTimeout", err: fmt.Errorf("query 10.0.0.7: %w", context.DeadlineExceeded), status: 503, code: "Unavailable", retry: "2"},
		{name: "NetworkTimeout", err: fmt.Errorf("redis 10.0.0.7: %w", os.ErrDeadlineExceeded), status: 503, code: "Unavailable", retry: "2"},
		{name: "Canceled", err: fmt.Errorf("query 10.0.0.7: %w", context.Canceled), status: 500, code: "Internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := New(Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			r := httptest.NewRequest("GET", "/api/v1/devices", nil)
			if tc.principal != nil {
				r = r.WithContext(scopes.NewContext(context.Background(), tc.principal))
			}
			w := httptest.NewRecorder()
			a.writeError(w, r, rt, tc.err)
			body := w.Body.String()
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, body)
			}
			want := fmt.Sprintf(`"status":"%d","code":"%s"`, tc.status, tc.code)
			if !strings.Contains(body, want) {
				t.Fatalf("body %s lacks %s", body, want)
			}
			if tc.pointer != "" && !strings.Contains(body, `"pointer":"`+tc.pointer+`"`) {
				t.Fatalf("body %s lacks pointer %s", body, tc.pointer)
			}
			if tc.parameter != "" && !strings.Contains(body, `"parameter":"`+tc.parameter+`"`) {
				t.Fatalf("body %s lacks parameter %s", body, tc.parameter)
			}
			if tc.pointer == "" && tc.parameter == "" && strings.Contains(body, `"source"`) {
				t.Fatalf("body %s has a source", body)
			}
			if got := w.Header().Get("WWW-Authenticate"); (tc.challenge == "") != (got == "") || !strings.Contains(got, tc.challenge) {
				t.Fatalf("WWW-Authenticate %q, want one containing %q", got, tc.challenge)
			}
			if got := w.Header().Get("Retry-After"); got != tc.retry {
				t.Fatalf("Retry-After %q, want %q", got, tc.retry)
			}
			if tc.status == 500 || tc.status == 503 {
				if strings.Contains(body, "10.0.0.7") {
					t.Fatalf("internal cause leaked: %s", body)
				}
				if strings.Contains(tc.err.Error(), "10.0.0.7") && !strings.Contains(logs.String(), "10.0.0.7") {
					t.Fatalf("internal cause not logged: %q", logs.String())
				}
			} else if logs.Len() > 0 {
				t.Fatalf("client error logged: %s", logs.String())
			}
		})
	}
}
