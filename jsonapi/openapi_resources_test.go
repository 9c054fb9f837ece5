package jsonapi

import (
	"github.com/assetgate/assetgate/resource"
)

// This file documents the routes of device resources and their calls for
// the generator of openapi.json.

func deviceResourceOperations() map[string]opDoc {
	get := []int{400, 401, 403, 404, 406, 500}
	return map[string]opDoc{
		"GET /api/v1/devices/{id}/resources": {summary: "What the device announced over MQTT (retained on " +
			"devices/{id}/resources), and whether it is connected.", query: queryOne, status: 200,
			response: "DeviceResourcesDocument", errors: get},
		"POST /api/v1/devices/{id}/resources/{name}": {summary: "Call a resource of a connected device (published on " +
			"devices/{id}/resources/{name}/call) and wait for its reply up to timeout seconds (default 10, at most 60). " +
			"409 DeviceOffline when it is not connected, 404 for a resource it did not announce, 400 pointing into in when in " +
			"does not match the announced schema, 504 when it does not answer. Every call is audited.",
			query: queryOne, request: "ResourceCallRequest", status: 200, response: "ResourceCallDocument",
			errors: []int{400, 401, 403, 404, 406, 409, 413, 415, 500, 504}},
		"GET /api/v1/devices/{id}/resource-calls": {summary: "The latest audited calls of a device's resources, newest first.",
			query: queryOne, status: 200, response: "ResourceCallListDocument", errors: get},
	}
}

func deviceResourceKinds() []resourceKind {
	device := map[string]string{"device": typeDevices}
	kind := obj{"type": "string", "enum": []any{string(resource.ResourceInput), string(resource.ResourceOutput),
		string(resource.ResourceIO), string(resource.ResourceCallback)}}
	return []resourceKind{
		{typ: typeDeviceResources, schema: "DeviceResources", presenter: deviceResourcesPresenter{}, relTypes: device,
			extra: map[string]obj{
				"connected": {"type": "boolean"},
				"resources": {"type": "array", "items": obj{"type": "object", "required": []any{"name", "kind"},
					"properties": obj{"name": obj{"type": "string"}, "kind": kind,
						"in": obj{"type": "object", "description": "The JSON Schema that in must match."}}}},
			}},
		{typ: typeResourceCalls, schema: "ResourceCall", presenter: resourceCallPresenter{}, relTypes: device,
			extra: map[string]obj{
				"resource":    {"type": "string"},
				"out":         {"description": "The device's answer (output and io resources; null otherwise). Only in the answer of a call."},
				"caller":      {"type": "string", "description": "user:ID, application:CLIENT_ID or device_token:ID"},
				"started_at":  {"type": "string", "format": "date-time"},
				"duration_ms": {"type": "number", "minimum": 0},
				"outcome":     {"type": "string", "description": "ok, or the error code the call ended with"},
			}},
	}
}

func deviceResourceSchemas() obj {
	return obj{
		"ResourceCallRequest": obj{"type": "object", "required": []any{"data"}, "properties": obj{
			"data": obj{"type": "object", "required": []any{"type"}, "additionalProperties": false, "properties": obj{
				"type": obj{"const": typeResourceCalls}, "meta": obj{"type": "object"},
				"attributes": obj{"type": "object", "additionalProperties": false, "properties": obj{
					"in":      obj{"description": "The input of input and io resources; absent for output and callback ones."},
					"timeout": obj{"type": "number", "exclusiveMinimum": 0, "maximum": resource.MaxCallTimeout.Seconds()},
				}}}},
			"meta": obj{"type": "object"}, "jsonapi": obj{"type": "object"}}},
	}
}
