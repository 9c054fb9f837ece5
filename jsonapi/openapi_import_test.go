package jsonapi

import (
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// deviceImportOperation documents POST /devices/import.
func deviceImportOperation() opDoc {
	return opDoc{
		summary: "Create or update (by IMEI) many devices from a CSV or NDJSON file; one result per row.",
		status:  200, response: "DeviceImportResultDocument", errors: []int{400, 401, 403, 406, 413, 415, 500, 503},
		requestContent: obj{
			resource.ImportCSV: obj{"schema": obj{"type": "string",
				"description": "A header row naming the columns (name and imei required; any of " + strings.Join(resource.ImportColumns[2:], ", ") +
					"), then one device per row; attributes is a JSON object's text."}},
			resource.ImportNDJSON: obj{"schema": obj{"type": "string",
				"description": "One JSON object per line with the keys " + strings.Join(resource.ImportColumns, ", ") + "; attributes is an object."}},
		},
		params: []any{obj{"name": "dry_run", "in": "query", "required": false, "schema": obj{"type": "boolean"},
			"description": "true checks every row and reports what would be created or updated, writing nothing."}},
		note: "At most 50,000 rows (413 over it; 415 for another media type). Each row is created, updated when the customer has a device " +
			"with its IMEI (name, mac, position, group and attributes take the row's values, empty cells clear them; id, fault and events stay), " +
			"or refused with the reason (a bad value, a repeated IMEI, a group that is neither the id nor the exact name of one of the customer's groups). " +
			"Valid rows are written in chunks of 1,000, each in one transaction; a refused row never stops the others. " +
			"If the database fails mid-import, the chunks already committed are reported created or updated and every row from the failed chunk on is failed.",
	}
}

// deviceImportSchemas are the schemas of the import's answer.
func deviceImportSchemas() obj {
	return obj{
		"DeviceImportResult": obj{"type": "object", "required": []any{"type", "id", "attributes"}, "additionalProperties": false,
			"properties": obj{
				"type": obj{"const": "device-import-results"},
				"id":   obj{"type": "string", "description": "The row number, from 1 (a CSV header is not a row)."},
				"attributes": obj{"type": "object", "required": []any{"row", "status", "imei"}, "additionalProperties": false,
					"properties": obj{
						"row":    obj{"type": "integer", "minimum": 1},
						"status": obj{"type": "string", "enum": []any{resource.ImportCreated, resource.ImportUpdated, resource.ImportRefused, resource.ImportFailed}},
						"imei":   obj{"type": "string"},
						"reason": obj{"type": "string", "description": "Why the row was refused or failed."},
						"field":  obj{"type": "string", "description": "The column a refusal is about."},
					}},
				"relationships": obj{"type": "object", "additionalProperties": false, "properties": obj{
					"device": obj{"type": "object", "properties": obj{"data": linkageOf(typeDevices), "links": ref("Links")},
						"description": "The device created or updated (in a dry run: that would be updated, or the id it would get)."}}},
			}},
		"DeviceImportResultDocument": obj{"type": "object", "required": []any{"data", "meta"}, "additionalProperties": false,
			"properties": obj{
				"data":    obj{"type": "array", "items": ref("DeviceImportResult")},
				"links":   ref("Links"),
				"jsonapi": ref("JSONAPI"),
				"meta": obj{"type": "object", "required": []any{"dry_run", "rows", "created", "updated", "refused", "failed"},
					"properties": obj{
						"dry_run": obj{"type": "boolean"}, "rows": obj{"type": "integer"}, "created": obj{"type": "integer"},
						"updated": obj{"type": "integer"}, "refused": obj{"type": "integer"}, "failed": obj{"type": "integer"},
					}},
			}},
	}
}
