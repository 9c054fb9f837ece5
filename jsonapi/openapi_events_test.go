package jsonapi

import (
	"strconv"
	"strings"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// This file documents the routes of events, device statistics, device
// tokens and the event stream for the generator of openapi.json.

// eventOperations documents the event and device token routes.
func eventOperations() map[string]opDoc {
	events, deviceEvents := resource.EventQuerySpec(), resource.DeviceEventQuerySpec()
	get, list := []int{400, 401, 403, 404, 406, 500}, []int{400, 401, 403, 406, 500}
	write := []int{400, 401, 403, 404, 406, 409, 413, 415, 422, 500}
	return map[string]opDoc{
		"GET /api/v1/events": {summary: "List the customer's events, newest first (a device token sees only its own device's).",
			query: queryList, spec: &events, status: 200, response: "EventListDocument", errors: list},
		"GET /api/v1/events/{id}": {summary: "Read an event.", query: queryOne, status: 200, response: "EventDocument", errors: get},
		"GET /api/v1/devices/{id}/events": {summary: "List a device's events, newest first.",
			query: queryList, spec: &deviceEvents, status: 200, response: "EventListDocument", errors: get},
		"POST /api/v1/devices/{id}/events": {summary: "Ingest an event (data: a resource object) or a batch, all or nothing " +
			"(data: an array of up to " + strconv.Itoa(resource.MaxBatchEvents) + "). The device's last_event_at, position " +
			"(location) and fault (status) follow in the same transaction. With an Idempotency-Key, a retry of the same request " +
			"answers the original events again (201, Idempotent-Replayed: true) and another request under the key is 409. " +
			"Errors in a batch point at the item: /data/INDEX/attributes/....",
			query: queryOne, request: "EventIngestRequest", status: 201, response: "EventIngestDocument", errors: write},
		"GET /api/v1/devices/{id}/stats": {summary: "A device's last event time, events in the last 24 hours, total events, " +
			"last position and fault.", query: queryOne, status: 200, response: "DeviceStatsDocument", errors: get},
		"GET /api/v1/devices/{id}/tokens": {summary: "List a device's live tokens (never their secrets).",
			query: queryOne, status: 200, response: "DeviceTokenListDocument", errors: get},
		"POST /api/v1/devices/{id}/tokens": {summary: "Issue a device token; the token is in this answer only.",
			query: queryOne, request: "DeviceTokenCreateRequest", status: 201, response: "DeviceTokenDocument", errors: write},
		"GET /api/v1/devices/{id}/tokens/{token_id}": {summary: "Read one live token of a device (never its secret); " +
			"an expired or revoked token is 404. A token cannot be changed: revoke it and issue another.",
			query: queryOne, status: 200, response: "DeviceTokenDocument", errors: get},
		"DELETE /api/v1/devices/{id}/tokens/{token_id}": {summary: "Revoke a device token at once, on every replica.",
			status: 204, errors: []int{400, 401, 403, 404, 406, 500}},
	}
}

// eventResourceKinds are the resource types of events, statistics and
// device tokens.
func eventResourceKinds() []resourceKind {
	dateTime := obj{"type": "string", "format": "date-time"}
	nullTime := obj{"type": []any{"string", "null"}, "format": "date-time"}
	device := map[string]string{"device": typeDevices}
	return []resourceKind{
		{typ: typeEvents, schema: "Event", presenter: eventPresenter{}, relTypes: device,
			extra: map[string]obj{
				"event_type":  {"type": "string", "enum": toAny(resource.Names(resource.EventTypes()))},
				"occurred_at": dateTime, "received_at": dateTime, "payload": ref("EventPayload"),
			}},
		{typ: typeDeviceStats, schema: "DeviceStats", presenter: deviceStatsPresenter{}, relTypes: device,
			extra: map[string]obj{
				"last_event_at":   nullTime,
				"events_last_24h": {"type": "integer", "minimum": 0}, "total_events": {"type": "integer", "minimum": 0},
				"latitude":     {"type": []any{"number", "null"}, "minimum": -90, "maximum": 90},
				"longitude":    {"type": []any{"number", "null"}, "minimum": -180, "maximum": 180},
				"connected":    {"type": "boolean", "description": "Whether the device has a live MQTT session (on any replica)."},
				"connected_at": nullTime, "disconnected_at": nullTime,
				"remote_address": {"type": []any{"string", "null"}, "description": "HOST:PORT of the MQTT session."},
				"rx_bytes":       {"type": "integer", "minimum": 0, "description": "Bytes received from the device in its MQTT session."},
				"tx_bytes":       {"type": "integer", "minimum": 0, "description": "Bytes sent to the device in its MQTT session."},
				"last_seen_at":   obj{"type": []any{"string", "null"}, "format": "date-time", "description": "The later of last_event_at and the last MQTT packet."},
			}},
		{typ: typeDeviceTokens, schema: "DeviceToken", presenter: deviceTokenPresenter{}, spec: &deviceTokenSpec,
			required: []string{"name"}, relTypes: device, createOnly: true,
			extra: map[string]obj{
				"permissions": {"type": "array", "items": obj{"type": "string", "enum": toAny(scopes.AllPermissions())},
					"description": "A subset of the device token permissions; all of them when omitted."},
				"created_at": dateTime, "expires_at": nullTime,
				"token": {"type": "string", "pattern": "^" + resource.DeviceTokenPrefix + "[A-Za-z0-9_-]{65}$",
					"description": "The token, only in the answer that creates it."},
			}},
	}
}

// eventSchemas are the schemas of ingest requests and answers, payloads
// and the device token list.
func eventSchemas() obj {
	num := func(lo, hi float64, unit string) obj {
		return obj{"type": "number", "minimum": lo, "maximum": hi, "description": unit}
	}
	object := obj{"type": "object", "required": []any{"type", "attributes"}, "additionalProperties": false,
		"properties": obj{"type": obj{"const": typeEvents}, "meta": obj{"type": "object"},
			"attributes": obj{"type": "object", "required": []any{"event_type", "payload"}, "additionalProperties": false,
				"properties": obj{"event_type": obj{"type": "string", "enum": toAny(resource.Names(resource.IngestEventTypes())),
					"description": "geofence events are recorded by assetgate itself and refused here (422)."},
					"occurred_at": obj{"type": []any{"string", "null"}, "format": "date-time",
						"description": "When the device observed the event; the time of ingest when omitted."},
					"payload": ref("EventPayload")}}}}
	return obj{
		"EventPayload": obj{"type": "object", "additionalProperties": false,
			"description": "location: latitude and longitude; temperature: celsius; shock: g; battery: percent; status: fault; " +
				"geofence (recorded by assetgate, never posted): transition and geogroup_id. " +
				"Every member of the event's type is required and no other is allowed.",
			"properties": obj{
				resource.PayloadLatitude: num(-90, 90, "degrees"), resource.PayloadLongitude: num(-180, 180, "degrees"),
				resource.PayloadCelsius: num(resource.MinCelsius, resource.MaxCelsius, "degrees Celsius"),
				resource.PayloadG:       num(0, resource.MaxShockG, "acceleration in g"),
				resource.PayloadPercent: num(0, 100, "battery charge in percent"),
				resource.PayloadFault:   obj{"type": "boolean"},
				resource.PayloadTransition: obj{"type": "string", "enum": []any{resource.GeofenceEntered, resource.GeofenceLeft},
					"description": "geofence: whether the location event moved the device into or out of the geogroup"},
				resource.PayloadGeogroupID: obj{"type": "string", "description": "geofence: the id of the geogroup crossed"}}},
		"EventObject": object,
		"EventIngestRequest": obj{"type": "object", "required": []any{"data"}, "properties": obj{
			"data": obj{"oneOf": []any{ref("EventObject"),
				obj{"type": "array", "minItems": 1, "maxItems": resource.MaxBatchEvents, "items": ref("EventObject")}}},
			"meta": obj{"type": "object"}, "jsonapi": obj{"type": "object"}}},
		"EventBatchDocument": obj{"type": "object", "required": []any{"data", "links", "meta"}, "additionalProperties": false,
			"properties": obj{"data": obj{"type": "array", "items": ref("Event")}, "links": ref("Links"), "meta": ref("ListMeta"),
				"jsonapi": ref("JSONAPI")}},
		"EventIngestDocument": obj{"oneOf": []any{ref("EventDocument"), ref("EventBatchDocument")}},
		"DeviceTokenListDocument": obj{"type": "object", "required": []any{"data", "links", "meta"}, "additionalProperties": false,
			"properties": obj{"data": obj{"type": "array", "items": ref("DeviceToken")}, "links": ref("Links"), "meta": ref("ListMeta"),
				"jsonapi": ref("JSONAPI")}},
	}
}

// addEventDocs adds what the generic generator cannot say: the event
// stream operation, the idempotency headers of event ingest, and the
// meaning of the event filters.
func addEventDocs(paths obj) {
	rule, _ := scopes.Lookup(scopes.OpEventsRead)
	sse := func(idLine string) obj {
		return obj{"description": "A Server-Sent Events stream. " + idLine + " A connect or disconnect of a device's MQTT " +
			"session is an event named connection, without an id:, whose data is an object with device_id, connected, " +
			"reason (client, takeover, revoked, timeout or shutdown; null on connect), remote_address and at; it is live " +
			"only (never stored nor replayed). A comment line (: heartbeat) comes every " + DefaultStreamHeartbeat.String() +
			". The stream's first block sets the resume point (an id: line without data). It ends with an event named end " +
			"whose data is an object with a reason (slow_consumer, fanout_interrupted, shutdown, token_revoked or internal_error) " +
			"and a message.",
			"content": obj{"text/event-stream": obj{"schema": obj{"type": "string"}}}}
	}
	responses := func(codes []int, ok obj) obj {
		out := obj{"200": ok}
		for _, code := range codes {
			out[strconv.Itoa(code)] = obj{"$ref": "#/components/responses/Error" + strconv.Itoa(code)}
		}
		return out
	}
	tokenParam := obj{"name": scopes.QueryParam, "in": "query", "required": false, "schema": obj{"type": "string"},
		"description": "The bearer token, for clients that cannot send an Authorization header."}
	needs := "Needs: " + rule.Description + " (" + strings.Join(allowedBy(rule), ", ") + "). The token may also come in the " +
		"authorization query parameter (these routes only), for EventSource clients; it is checked again at every heartbeat."
	addOperation(paths, streamPath, "get", obj{
		"operationId": "getDevicesIdEventsStream",
		"summary":     "Follow a device's events live (Server-Sent Events), resuming after Last-Event-ID without loss or duplicates.",
		"description": needs,
		"security":    []any{obj{"bearer": []any{}}},
		"parameters": []any{
			obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string"}},
			tokenParam,
			obj{"name": LastEventIDHeader, "in": "header", "required": false, "schema": obj{"type": "string", "format": "uuid"},
				"description": "Resume after this event: the stored events that followed it come first."},
		},
		"responses": responses([]int{400, 401, 403, 404, 406, 500},
			sse("Each event has the event's id as its id: and a data: line with the events resource object.")),
	})
	addOperation(paths, customerStreamPath, "get", obj{
		"operationId": "getEventsStream",
		"summary":     "Follow every event of the customer live (Server-Sent Events); a device token follows its own device's.",
		"description": needs + " Two devices' event ids are not ordered by commit: an event's id: is the greatest event id " +
			"sent so far, so resuming with it repeats nothing; the events with an id above it are then replayed from the " +
			"store, in id order, before the live ones. While the stream is open, every event of the customer arrives once, " +
			"each device's in id order; across a reconnect, an event whose id is below the resume point but that committed " +
			"after the client received it (the ingest's commit window, or the clock skew of replicas) is not replayed.",
		"security": []any{obj{"bearer": []any{}}},
		"parameters": []any{
			tokenParam,
			obj{"name": LastEventIDHeader, "in": "header", "required": false, "schema": obj{"type": "string", "format": "uuid"},
				"description": "Resume after this point: the stored events of the customer with a greater id come first, by id."},
		},
		"responses": responses([]int{400, 401, 403, 406, 500},
			sse("Each event has as its id: the greatest event id sent so far, and a data: line with the events resource object.")),
	})
	post := paths["/devices/{id}/events"].(obj)["post"].(obj)
	post["parameters"] = append(post["parameters"].([]any), obj{"name": IdempotencyKeyHeader, "in": "header", "required": false,
		"schema":      obj{"type": "string", "minLength": 1, "maxLength": resource.MaxIdempotencyKeyLen, "pattern": "^[!-~]+$"},
		"description": "Makes retries safe: the same request under the same key is stored once."})
	created := post["responses"].(obj)["201"].(obj)
	created["headers"].(obj)[ReplayedHeader] = obj{"description": "true when the answer replays an earlier request with the same key.",
		"schema": obj{"type": "string", "enum": []any{"true"}}}
	descriptions := map[string]string{
		"filter[device]": "Keep the events of these devices, comma-separated ids.",
		"filter[type]":   "Keep events of these types, comma-separated: " + strings.Join(resource.Names(resource.EventTypes()), ", ") + ".",
		"filter[since]":  "Keep events that occurred at or after this RFC 3339 time.",
		"filter[until]":  "Keep events that occurred before this RFC 3339 time.",
	}
	for _, path := range []string{"/events", "/devices/{id}/events"} {
		for _, p := range paths[path].(obj)["get"].(obj)["parameters"].([]any) {
			param, _ := p.(obj)
			name, _ := param["name"].(string)
			if d, ok := descriptions[name]; ok {
				param["description"] = d
			}
		}
	}
}
