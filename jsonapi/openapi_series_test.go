package jsonapi

import (
	"strconv"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// This file documents the telemetry series routes for the generator of
// openapi.json.

// seriesOperations documents GET /devices/{id}/series and GET
// /device-groups/{id}/series.
func seriesOperations() map[string]opDoc {
	get := []int{400, 401, 403, 404, 406, 500}
	note := "One series-points object per bucket that holds events (empty buckets are left out), oldest first. " +
		"Buckets are aligned to the interval in UTC (a 1h bucket starts on the hour, 1d at 00:00 UTC); the first and last may cover " +
		"only part of the range. Each point has its start, its count and, per payload number of the type, min, max, avg and last " +
		"(the value of the bucket's newest event by occurred_at, then id); status points carry the count only. A range may span at most " +
		strconv.Itoa(resource.MaxSeriesBuckets) + " buckets (400 pointing at interval otherwise)."
	return map[string]opDoc{
		"GET /api/v1/devices/{id}/series": {summary: "A device's telemetry series: its events of one type in buckets of an interval.",
			query: querySeries, status: 200, response: "SeriesPointListDocument", errors: get, note: note},
		"GET /api/v1/device-groups/{id}/series": {summary: "The telemetry series of the devices of a group, all in the same buckets.",
			query: querySeries, status: 200, response: "SeriesPointListDocument", errors: get, note: note},
	}
}

// seriesParameters are the query parameters of the series routes after
// fields[TYPE].
func seriesParameters() []any {
	q := func(name, desc string, schema obj) obj {
		return obj{"name": name, "in": "query", "required": name == "filter[type]", "description": desc, "schema": schema}
	}
	return []any{
		q("filter["+resource.SeriesFilterType+"]", "The event type (required).",
			obj{"type": "string", "enum": toAny(resource.Names(resource.EventTypes()))}),
		q("filter["+resource.SeriesFilterSince+"]", "Keep events that occurred at or after this RFC 3339 time; default: until minus "+
			strings.TrimSuffix(resource.DefaultSeriesRange.String(), "0m0s")+".", obj{"type": "string", "format": "date-time"}),
		q("filter["+resource.SeriesFilterUntil+"]", "Keep events that occurred before this RFC 3339 time; default: now.",
			obj{"type": "string", "format": "date-time"}),
		q(resource.PathInterval, "The bucket width (default "+string(resource.DefaultSeriesInterval)+").",
			obj{"type": "string", "enum": toAny(resource.Names(resource.SeriesIntervals()))}),
	}
}

// seriesSchemas are the schemas of a series answer. A point has no links
// of its own (no URL names one bucket).
func seriesSchemas() obj {
	stats := obj{"type": "object", "required": []any{"min", "max", "avg", "last"}, "additionalProperties": false,
		"properties": obj{"min": obj{"type": "number"}, "max": obj{"type": "number"}, "avg": obj{"type": "number"},
			"last": obj{"type": "number", "description": "The value of the bucket's newest event (by occurred_at, then id)."}}}
	attrs := obj{
		"start": obj{"type": "string", "format": "date-time", "description": "The bucket's first instant (UTC); it ends one interval later."},
		"count": obj{"type": "integer", "minimum": 1},
	}
	for _, typ := range resource.EventTypes() {
		for _, f := range resource.SeriesFields(typ) {
			attrs[f] = ref("SeriesStats")
		}
	}
	return obj{
		"SeriesStats": stats,
		"SeriesPoint": obj{"type": "object", "required": []any{"type", "id", "attributes"}, "additionalProperties": false,
			"properties": obj{"type": obj{"const": typeSeriesPoints},
				"id":         obj{"type": "string", "description": "SUBJECT:TYPE:INTERVAL:START, the subject the device's or the group's id."},
				"attributes": obj{"type": "object", "additionalProperties": false, "properties": attrs}}},
		"SeriesPointListDocument": obj{"type": "object", "required": []any{"data", "links", "meta"}, "additionalProperties": false,
			"properties": obj{"data": obj{"type": "array", "items": ref("SeriesPoint")}, "links": ref("Links"), "meta": ref("ListMeta"),
				"jsonapi": ref("JSONAPI")}},
	}
}
