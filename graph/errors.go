package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/assetgate/assetgate/resource"
)

// Error codes of extensions.code, one per resource error code and a few of
// the transport's own. Errors of GraphQL itself
// (parsing, validation, limits, persisted queries) keep gqlgen's codes.
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeNotFound        = "NOT_FOUND"
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeConflict        = "CONFLICT"
	CodeInternal        = "INTERNAL"
	// CodeBadRequest: a request gqlgen itself refused without a code of
	// its own (a persisted query's hash that does not match its text, an
	// APQ extension it cannot read).
	CodeBadRequest = "BAD_REQUEST"
	// CodeMethodNotAllowed: a mutation or subscription sent with GET
	// (HTTP 405, Allow: POST).
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	// CodeRateLimited: too many failed attempts (a wrong old password of
	// changePassword counts as a failed login of the account); retry
	// after extensions.retryAfter seconds.
	CodeRateLimited = "RATE_LIMITED"
	// CodeUnavailable: the server has no capacity for the request right
	// now; retry after extensions.retryAfter seconds.
	CodeUnavailable = "UNAVAILABLE"
	// CodeDeviceOffline and CodeGatewayTimeout are device resource calls'
	// outcomes: the device is not connected, or did not answer in time.
	CodeDeviceOffline  = "DEVICE_OFFLINE"
	CodeGatewayTimeout = "GATEWAY_TIMEOUT"
)

// internalMessage is all a client learns of an internal error.
const internalMessage = "Internal error."

// codeOf maps a resource error code to extensions.code: the one place
// where GraphQL decides how a service error looks. Unknown codes are
// internal.
func codeOf(resourceCode string) string {
	switch resourceCode {
	case resource.EUnauthenticated:
		return CodeUnauthenticated
	case resource.EForbidden:
		return CodeForbidden
	case resource.ENotFound:
		return CodeNotFound
	case resource.EInvalid:
		return CodeBadUserInput
	case resource.EConflict:
		return CodeConflict
	case resource.ERateLimited:
		return CodeRateLimited
	case resource.EUnavailable:
		return CodeUnavailable
	case resource.EDeviceOffline:
		return CodeDeviceOffline
	case resource.EGatewayTimeout:
		return CodeGatewayTimeout
	}
	return CodeInternal
}

// panicError is what a recovered panic becomes; it was logged already.
type panicError struct{}

func (panicError) Error() string { return "panic in a resolver" }

// presentError returns the error presenter: resource errors keep their
// message and get their code, a RetryAfter as extensions.retryAfter (whole
// seconds), and the input field they point at as extensions.field (a path
// into the field's arguments: "input.imei", "filter.radiusLte", "first").
// EUnavailable, and a time-out of a store (see resource.IsTimeout), is
// UNAVAILABLE, logged as a warning, and makes the HTTP response a 503 with
// Retry-After (see unavailableWriter). Anything else a resolver returns is
// internal: the client sees a generic message, the log sees the cause.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var re *resource.Error
		var pe panicError
		switch {
		case errors.As(err, &re):
			code := codeOf(re.Code)
			if code == CodeInternal {
				log.ErrorContext(ctx, "graphql: internal error", "err", err, "path", gqlErr.Path.String())
				return internalError(gqlErr)
			}
			if code == CodeUnavailable {
				return unavailableError(ctx, log, gqlErr, err)
			}
			out := &gqlerror.Error{Message: re.Message, Path: gqlErr.Path, Locations: gqlErr.Locations,
				Extensions: map[string]any{"code": code}}
			if re.Field != "" {
				out.Extensions["field"] = argumentPath(re.Field, graphql.GetFieldContext(ctx))
			}
			if re.RetryAfter > 0 {
				out.Extensions["retryAfter"] = resource.RetryAfterSeconds(re.RetryAfter)
			}
			return out
		case errors.As(err, &pe):
			return internalError(gqlErr)
		case gqlErr.Err == nil:
			// An error of GraphQL itself, made by gqlgen or an extension:
			// its message is meant for the client. Every error carries a
			// code.
			if _, ok := gqlErr.Extensions["code"]; !ok {
				if gqlErr.Extensions == nil {
					gqlErr.Extensions = map[string]any{}
				}
				gqlErr.Extensions["code"] = CodeBadRequest
			}
			return gqlErr
		case resource.ErrorCode(err) == resource.EUnavailable:
			return unavailableError(ctx, log, gqlErr, err)
		default:
			log.ErrorContext(ctx, "graphql: internal error", "err", err, "path", gqlErr.Path.String())
			return internalError(gqlErr)
		}
	}
}

// splitInvalid is the field middleware that answers every invalid input
// field of a resolver's resource.Errors as an error of its own, each
// presented by presentError (BAD_USER_INPUT with its extensions.field) at
// the field's path and location. A single *resource.Error passes as is.
func splitInvalid(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	var many resource.Errors
	if err == nil || !errors.As(err, &many) || len(many) < 2 {
		return res, err
	}
	var locs []gqlerror.Location
	if fc := graphql.GetFieldContext(ctx); fc != nil && fc.Field.Position != nil && fc.Field.Position.Line != 0 {
		locs = []gqlerror.Location{{Line: fc.Field.Position.Line, Column: fc.Field.Position.Column}}
	}
	list := make(gqlerror.List, len(many))
	for i, e := range many {
		list[i] = gqlerror.WrapPath(graphql.GetPath(ctx), e)
		list[i].Locations = locs
	}
	return res, list
}

// internalError is the client's view of an internal error at the place of
// gqlErr.
func internalError(gqlErr *gqlerror.Error) *gqlerror.Error {
	return &gqlerror.Error{Message: internalMessage, Path: gqlErr.Path, Locations: gqlErr.Locations,
		Extensions: map[string]any{"code": CodeInternal}}
}

// unavailableError is the client's view, at the place of gqlErr, of err:
// a store that did not answer in time. It marks the response as
// unavailable.
func unavailableError(ctx context.Context, log *slog.Logger, gqlErr *gqlerror.Error, err error) *gqlerror.Error {
	log.WarnContext(ctx, "graphql: service unavailable", "err", err, "path", gqlErr.Path.String())
	markUnavailable(ctx)
	return &gqlerror.Error{Message: resource.ErrorMessage(err), Path: gqlErr.Path, Locations: gqlErr.Locations,
		Extensions: map[string]any{"code": CodeUnavailable, "retryAfter": resource.RetryAfterSeconds(resource.ErrorRetryAfter(err))}}
}

// recoverPanic returns the recover function: a panic in a resolver is
// logged with its stack and becomes an INTERNAL error of that field.
func recoverPanic(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, v any) error {
		path := ""
		if fc := graphql.GetFieldContext(ctx); fc != nil {
			path = fc.Path().String()
		}
		log.ErrorContext(ctx, "graphql: panic", "panic", fmt.Sprint(v), "path", path, "stack", string(debug.Stack()))
		return panicError{}
	}
}

// argumentPath turns the field a resource error points at into a path
// into the arguments of the GraphQL field fc. The neutral path of a filter
// is the argument path already ("filter.radiusLte"); the sort is
// "orderBy", the page "first"; and a field of a mutation's input object is
// "input.<field>" ("settings.shock_threshold_g" is
// "input.settings.shockThresholdG").
func argumentPath(field string, fc *graphql.FieldContext) string {
	if _, ok := resource.IsAttributeFilterPath(field); ok {
		return resource.PathFilterPrefix + resource.DeviceFilterAttributes
	}
	switch {
	case strings.HasPrefix(field, resource.PathFilterPrefix):
		// A field whose filters are arguments of their own (series: type,
		// since, until) has the filter's name as the path.
		if member := strings.TrimPrefix(field, resource.PathFilterPrefix); fc != nil {
			if _, ok := fc.Args["filter"]; !ok {
				if _, ok := fc.Args[member]; ok {
					return member
				}
			}
		}
		return field
	case field == resource.PathSort:
		return "orderBy"
	case field == resource.PathPageNumber || field == resource.PathPageSize:
		return "first"
	}
	if fc != nil {
		if _, ok := fc.Args[field]; ok {
			return field
		}
		if _, ok := fc.Args["input"]; ok {
			// An attribute key is the customer's, verbatim.
			if strings.HasPrefix(field, "attributes.") {
				return "input." + field
			}
			parts := strings.Split(field, ".")
			for i, p := range parts {
				parts[i] = camel(p)
			}
			// Relationships are ids in GraphQL inputs.
			if parts[0] == "group" || parts[0] == "configuration" {
				parts[0] += "Id"
			}
			return "input." + strings.Join(parts, ".")
		}
	}
	return camel(field)
}

// camel turns snake_case into camelCase; "" stays "".
func camel(s string) string { return resource.CamelCase(s) }
