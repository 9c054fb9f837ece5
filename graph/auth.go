package graph

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/metrics"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// operations maps the values of the schema's Operation enum to the rows of
// the scopes table: an enum value is its operation upper-cased, with every
// character other than a letter or a digit as "_" (DEVICES_READ is
// "devices:read").
func operations() map[model.Operation]scopes.Operation {
	out := map[model.Operation]scopes.Operation{}
	for _, r := range scopes.Table() {
		out[model.Operation(enumName(r.Op))] = r.Op
	}
	return out
}

// enumName is the schema's name of a table operation.
func enumName(op scopes.Operation) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, string(op))
}

// authDirective returns the implementation of @auth(op:): the field
// resolves only when the principal of the request may perform op according
// to the scopes table; otherwise it is UNAUTHENTICATED or FORBIDDEN (naming
// the scopes that would allow it). The services check again.
func authDirective() func(ctx context.Context, obj any, next graphql.Resolver, op model.Operation) (any, error) {
	ops := operations()
	return func(ctx context.Context, _ any, next graphql.Resolver, op model.Operation) (any, error) {
		sop, ok := ops[op]
		if !ok {
			return nil, &resource.Error{Code: resource.EInternal, Message: "unknown operation " + string(op)}
		}
		p, ok := scopes.FromContext(ctx)
		if !ok {
			return nil, resource.Errorf(resource.EUnauthenticated, "authentication required")
		}
		if !scopes.Allowed(p, sop) {
			r, _ := scopes.Lookup(sop)
			return nil, resource.Errorf(resource.EForbidden, "the access token does not allow %s (needs scope %s)",
				r.Description, strings.Join(r.Scopes, " or "))
		}
		return next(ctx)
	}
}

// bearerOf returns the token of an Authorization value of the form
// "Bearer TOKEN" (the scheme in any case); ok is false otherwise.
func bearerOf(authorization string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// Close codes of graphql-transport-ws for a refused connection_init:
// graphql-ws clients do not reconnect after 4429, and 4403 is the
// protocol's Forbidden (a missing, invalid or revoked token).
const (
	closeForbidden       = 4403
	closeTooManyRequests = 4429
	closeInternalError   = 4500
)

// websocketInit authenticates a WebSocket connection with the token of its
// connection_init payload ({"Authorization": "Bearer TOKEN"}), resolved like
// a bearer header; the principal then holds for every operation of the
// connection. A principal that holds sockets' bound of connections already
// is refused. A refusal is logged at info and closes the socket with the
// protocol's close code (4403, 4429; 4500 when the token could not be
// resolved), not the normal closure that clients answer by reconnecting.
func websocketInit(resolve scopes.Resolver, sockets *resource.Caps, log *slog.Logger, m *metrics.Metrics) transport.WebsocketInitFunc {
	refuse := func(ctx context.Context, code int, reason string, err error) (context.Context, *transport.InitPayload, error) {
		ctx = transport.WithWebsocketCloseCode(transport.AppendCloseReason(ctx, reason), code)
		return ctx, nil, err
	}
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		token, ok := bearerOf(payload.Authorization())
		if !ok {
			log.InfoContext(ctx, "graphql: websocket refused: no bearer token in connection_init")
			m.WebSocketRefused("no_token")
			return refuse(ctx, closeForbidden, "Forbidden", scopes.ErrMissingToken)
		}
		p, err := resolve(ctx, token)
		if err == nil && p == nil {
			err = scopes.ErrInvalidToken
		}
		var ae *scopes.AuthError
		if err != nil && !errors.As(err, &ae) {
			log.ErrorContext(ctx, "graphql: resolving a websocket token", "err", err)
			m.WebSocketRefused("error")
			// Never show an internal cause.
			return refuse(ctx, closeInternalError, "Internal error", errors.New(internalMessage))
		}
		if err != nil {
			log.InfoContext(ctx, "graphql: websocket refused: invalid token")
			m.WebSocketRefused("invalid_token")
			return refuse(ctx, closeForbidden, "Forbidden", ae)
		}
		release, ok := sockets.Acquire(p)
		if !ok {
			log.InfoContext(ctx, "graphql: websocket refused: too many connections", "principal_kind", string(p.Kind))
			m.WebSocketRefused("too_many")
			m.GraphQLRejected(metrics.LimitSockets)
			return refuse(ctx, closeTooManyRequests, "Too many connections", errTooManySockets)
		}
		ctx = context.WithValue(ctx, wsTokenKey{}, token)
		closed := m.WebSocketOpened()
		ctx = context.WithValue(ctx, wsReleaseKey{}, func() { release(); closed() })
		return scopes.NewContext(ctx, p), nil, nil
	}
}

// errTooManySockets is what a client holding too many connections is told.
var errTooManySockets = errors.New("too many open connections for this token's owner")

// wsReleaseKey is the context key of the function that gives a WebSocket
// connection's place among its principal's back.
type wsReleaseKey struct{}

// releaseSocket is the WebSocket close function: the connection's place
// is given back.
func releaseSocket(ctx context.Context, _ int) {
	if release, ok := ctx.Value(wsReleaseKey{}).(func()); ok {
		release()
	}
}

// wsTokenKey is the context key of the bearer token of a WebSocket
// connection.
type wsTokenKey struct{}

// reauthenticate is the operation middleware that resolves the token of a
// WebSocket connection again for each operation, with the principal it
// resolves to now: a token revoked or expired since connection_init runs
// nothing more (UNAUTHENTICATED). HTTP requests were authenticated just
// before, and pass.
func reauthenticate(resolve scopes.Resolver, log *slog.Logger) func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		token, ok := ctx.Value(wsTokenKey{}).(string)
		if !ok {
			return next(ctx)
		}
		p, err := resolve(ctx, token)
		if err == nil && p != nil {
			return next(scopes.NewContext(ctx, p))
		}
		msg, code := scopes.ErrInvalidToken.Description, CodeUnauthenticated
		var ae *scopes.AuthError
		switch {
		case err == nil, errors.As(err, &ae):
		case resource.ErrorCode(err) == resource.EUnavailable:
			log.WarnContext(ctx, "graphql: token store unavailable", "err", err)
			msg, code = resource.ErrorMessage(err), CodeUnavailable
		default:
			log.ErrorContext(ctx, "graphql: resolving a websocket token", "err", err)
			msg, code = internalMessage, CodeInternal
		}
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{Message: msg, Extensions: map[string]any{"code": code}}}})
	}
}
