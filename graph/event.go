package graph

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/metrics"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// eventConnection reads the page of events the arguments select through
// list (the customer's events, or a device's).
func eventConnection(ctx context.Context, a pageArgs, q resource.ListQuery[resource.EventListFilter],
	list func(context.Context, resource.ListQuery[resource.EventListFilter]) (*resource.EventList, error)) (*model.EventConnection, error) {
	items, start, total, err := fetchPage(ctx, a, func(ctx context.Context, page resource.Page) ([]*resource.Event, int, error) {
		q.Page = page
		l, err := list(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		return l.Events, l.Total, nil
	})
	if err != nil {
		return nil, err
	}
	return &model.EventConnection{
		Edges: edges(items, start, func(c string, n *resource.Event) *model.EventEdge {
			return &model.EventEdge{Cursor: c, Node: n}
		}),
		PageInfo: pageInfo(start, len(items), total), TotalCount: total,
	}, nil
}

// payloadOf presents the validated payload of an event.
func payloadOf(e *resource.Event) *model.EventPayload {
	num := func(key string) *float64 {
		if v, ok := e.Payload[key].(float64); ok {
			return &v
		}
		return nil
	}
	p := &model.EventPayload{
		Latitude: num(resource.PayloadLatitude), Longitude: num(resource.PayloadLongitude), Celsius: num(resource.PayloadCelsius),
		G: num(resource.PayloadG), Percent: num(resource.PayloadPercent),
	}
	if v, ok := e.Payload[resource.PayloadFault].(bool); ok {
		p.Fault = &v
	}
	if v, ok := e.Payload[resource.PayloadTransition].(string); ok {
		t := model.GeofenceTransition(strings.ToUpper(v))
		p.Transition = &t
	}
	if v, ok := e.Payload[resource.PayloadGeogroupID].(string); ok {
		p.GeogroupID = &v
	}
	return p
}

// eventInput decodes the input of recordEvent: the set, non-null payload
// values under their payload keys.
func eventInput(in model.RecordEventInput) resource.EventInput {
	payload := map[string]any{}
	for key, v := range map[string]graphql.Omittable[*float64]{
		resource.PayloadLatitude: in.Payload.Latitude, resource.PayloadLongitude: in.Payload.Longitude,
		resource.PayloadCelsius: in.Payload.Celsius, resource.PayloadG: in.Payload.G, resource.PayloadPercent: in.Payload.Percent,
	} {
		if x := v.Value(); x != nil {
			payload[key] = *x
		}
	}
	if f := in.Payload.Fault.Value(); f != nil {
		payload[resource.PayloadFault] = *f
	}
	return resource.EventInput{Type: resource.EventType(strings.ToLower(string(in.Type))), OccurredAt: value(in.OccurredAt), Payload: payload}
}

// permissions maps the schema's device permissions to the token
// permissions (DEVICE_READ is "device:read"); nil stays nil (every
// permission).
func permissions(in []model.DevicePermission) []string {
	if in == nil {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, p := range in {
		for _, perm := range scopes.AllPermissions() {
			if enumName(scopes.Operation(perm)) == string(p) {
				out = append(out, perm)
			}
		}
	}
	return out
}

// permissionsOf presents the permissions of a device token; a permission
// for one resource (resources:call:NAME) has no enum value and is left
// out.
func permissionsOf(t *resource.DeviceToken) []model.DevicePermission {
	out := make([]model.DevicePermission, 0, len(t.Permissions))
	for _, p := range t.Permissions {
		if slices.Contains(scopes.AllPermissions(), p) {
			out = append(out, model.DevicePermission(enumName(scopes.Operation(p))))
		}
	}
	return out
}

// tokenInput decodes the input of createDeviceToken.
func tokenInput(in model.CreateDeviceTokenInput) resource.DeviceTokenInput {
	return resource.DeviceTokenInput{Name: in.Name, Permissions: permissions(in.Permissions.Value()), ExpiresAt: in.ExpiresAt.Value()}
}

// follow relays the live events of a device (of the customer when
// deviceID is nil) to the subscription's channel, after the stored ones
// following after (an event id, "" for none), and the device's connection
// changes when connections is set, until the client leaves, the stream
// ends, or the connection's token no longer resolves (it is checked every
// recheck): then the channel closes, and the client receives "complete".
func (r *Resolver) follow(ctx context.Context, deviceID *string, after string, connections bool) (<-chan *resource.Event, error) {
	var st *resource.EventStream
	var err error
	if deviceID == nil {
		st, err = r.deps.Events.FollowCustomer(ctx, after)
	} else {
		st, err = r.deps.Events.Follow(ctx, *deviceID, after)
	}
	if resource.ErrorCode(err) == resource.ERateLimited {
		r.deps.Metrics.GraphQLRejected(metrics.LimitStreams)
	}
	if resource.ErrorField(err) == "last_event_id" {
		return nil, resource.Invalidf("after", "after must be an event id")
	}
	if err != nil {
		return nil, err
	}
	out := make(chan *resource.Event)
	token, _ := ctx.Value(wsTokenKey{}).(string)
	ended := r.deps.Metrics.StreamOpened(metrics.TransportWebSocket)
	go func() {
		defer close(out)
		defer st.Close()
		defer ended()
		tick := time.NewTicker(r.cfg.SubscriptionRecheck)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if p, err := r.deps.Principal(ctx, token); err != nil || p == nil {
					return
				}
			case e, ok := <-st.Events():
				if !ok {
					return
				}
				if e.Connection != nil && !connections {
					continue
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// connectionOf presents the connection change of a CONNECTION item (nil
// for an event).
func connectionOf(e *resource.Event) *model.ConnectionChange {
	c := e.Connection
	if c == nil {
		return nil
	}
	out := &model.ConnectionChange{Connected: c.Connected}
	if c.Reason != "" {
		reason := model.DisconnectReason(strings.ToUpper(c.Reason))
		if reason.IsValid() {
			out.Reason = &reason
		}
	}
	if c.RemoteAddress != "" {
		out.RemoteAddress = &c.RemoteAddress
	}
	return out
}

// countIngest counts an event recorded (or replayed) or refused by
// recordEvent.
func (r *Resolver) countIngest(replayed bool, err error) {
	switch {
	case err != nil:
		r.deps.Metrics.EventsIngested(metrics.TransportGraphQL, metrics.IngestRejected, 1)
	case replayed:
		r.deps.Metrics.EventsIngested(metrics.TransportGraphQL, metrics.IngestReplayed, 1)
	default:
		r.deps.Metrics.EventsIngested(metrics.TransportGraphQL, metrics.IngestAccepted, 1)
	}
}

// eventTypeOf returns the schema's type of an event: the resource type
// upper-cased.
func eventTypeOf(e *resource.Event) model.EventType {
	return model.EventType(strings.ToUpper(string(e.Type)))
}
