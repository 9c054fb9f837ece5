package jsonapi

import "github.com/assetgate/assetgate/resource"

// grantOperations documents the routes of the consents a user gave
// applications.
func grantOperations() map[string]opDoc {
	return map[string]opDoc{
		"GET /api/v1/users/me/grants": {summary: "List the consents the current user gave applications (the " +
			"authorization server does not ask again for the scopes of one).", query: queryOne, status: 200,
			response: "GrantListDocument", errors: []int{400, 401, 403, 406, 500}},
		"DELETE /api/v1/users/me/grants/{id}": {summary: "Withdraw the consent given the application {id} (a client id) " +
			"and revoke its tokens for the user at once; it must ask again.", status: 204, errors: []int{400, 401, 403, 404, 406, 500}},
	}
}

// grantResourceKinds is the grants resource type.
func grantResourceKinds() []resourceKind {
	dateTime := obj{"type": "string", "format": "date-time"}
	return []resourceKind{
		{typ: typeGrants, schema: "Grant", presenter: grantPresenter{},
			extra: map[string]obj{
				"scopes":     {"type": "array", "items": obj{"type": "string", "enum": toAny(resource.Scopes())}},
				"created_at": dateTime, "updated_at": dateTime,
			}},
	}
}

// grantSchemas are the list document of grants.
func grantSchemas() obj {
	return obj{
		"GrantListDocument": obj{"type": "object", "required": []any{"data", "links", "meta"}, "additionalProperties": false,
			"properties": obj{"data": obj{"type": "array", "items": ref("Grant")}, "links": ref("Links"), "meta": ref("ListMeta"),
				"jsonapi": ref("JSONAPI")}},
	}
}
