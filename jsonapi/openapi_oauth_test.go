package jsonapi

import (
	"github.com/assetgate/assetgate/resource"
)

// filterDescription documents one list filter.
func filterDescription(name string) string {
	switch name {
	case resource.DeviceFilterSearch:
		return "Keep items whose name (devices: or IMEI or MAC) contains this text, case-insensitively."
	case resource.DeviceFilterIMEI:
		return "Keep the device with this IMEI."
	case resource.DeviceFilterMAC:
		return "Keep the device with this MAC address."
	case resource.DeviceFilterFault:
		return "Keep devices with (true) or without (false) a fault."
	case resource.DeviceFilterConnected:
		return "Keep the devices with (true) or without (false) a live MQTT session, as the connected attribute says."
	case resource.DeviceFilterGroup:
		return "Keep the devices of this device group; \"none\" keeps devices in no group."
	case resource.DeviceFilterLatitude, resource.DeviceFilterLongitude:
		return "The centre of a geo filter, in degrees; needs latitude, longitude and a radius."
	case resource.DeviceFilterRadiusLTE:
		return "Keep devices within this great-circle distance of the centre, in metres."
	case resource.DeviceFilterRadiusGTE:
		return "Keep devices at least this great-circle distance from the centre, in metres."
	case resource.DeviceFilterGeogroupInside:
		return "Keep the devices inside this geogroup (with geogroup_distance: or within that distance of its boundary). Devices without a position never match; an unknown geogroup is 404."
	case resource.DeviceFilterGeogroupOutside:
		return "Keep the devices with a position outside this geogroup (with geogroup_distance: farther than that from its boundary); an unknown geogroup is 404."
	case resource.DeviceFilterGeogroupDistance:
		return "With geogroup_inside or geogroup_outside: a great-circle distance from the geogroup's boundary, in metres (sphere of mean radius 6,371,008.8 m)."
	case resource.DeviceFilterAttributes:
		return "filter[attributes.KEY]=VALUE keeps the devices whose attribute KEY (the rest of the name, dots and all) is the string VALUE, " +
			"or the number VALUE when it is a JSON number (12 matches 12 and 12.0), or the boolean VALUE when it is true or false; " +
			"several attribute filters must all match."
	case resource.ConfigurationFilterName:
		return "Keep items with one of these exact names, comma-separated."
	case resource.ConfigurationFilterState:
		return "Keep configurations in this state."
	}
	return "Filter by " + name + "."
}

// filterSchema is the schema of one list filter's value.
func filterSchema(name string) obj {
	switch name {
	case resource.DeviceFilterFault, resource.DeviceFilterConnected:
		return obj{"type": "boolean"}
	case resource.DeviceFilterLatitude:
		return obj{"type": "number", "minimum": -90, "maximum": 90}
	case resource.DeviceFilterLongitude:
		return obj{"type": "number", "minimum": -180, "maximum": 180}
	case resource.DeviceFilterRadiusLTE, resource.DeviceFilterRadiusGTE:
		return obj{"type": "number", "minimum": 0}
	case resource.DeviceFilterGeogroupDistance:
		return obj{"type": "number", "minimum": 0, "maximum": resource.MaxCircleRadius}
	case resource.ConfigurationFilterState:
		return obj{"type": "string", "enum": []any{resource.ConfigurationDraft, resource.ConfigurationPublished}}
	case resource.DeviceFilterSearch:
		return obj{"type": "string", "maxLength": 200}
	}
	return obj{"type": "string", "minLength": 1}
}

// oauthPaths documents the OAuth 2.0 endpoints (served by package oauth).
func oauthPaths() obj {
	form := func(schema string) obj {
		return obj{"required": true, "content": obj{"application/x-www-form-urlencoded": obj{"schema": ref(schema)}}}
	}
	jsonResp := func(desc, schema string) obj {
		return obj{"description": desc, "content": obj{"application/json": obj{"schema": ref(schema)}}}
	}
	oauthErrors := func(resp obj, codes ...string) obj {
		for _, c := range codes {
			resp[c] = jsonResp("An OAuth error (RFC 6749 §5.2).", "OAuthError")
		}
		return resp
	}
	client := []any{obj{"clientBasic": []any{}}, obj{}}
	return obj{
		"/oauth/token": obj{"post": obj{
			"operationId": "oauthToken", "summary": "Issue tokens (RFC 6749 §3.2): authorization_code, client_credentials, password, refresh_token, device_code.",
			"security": client, "requestBody": form("TokenRequest"),
			"responses": oauthErrors(obj{"200": jsonResp("Tokens; Cache-Control: no-store.", "TokenResponse")}, "400", "401", "429", "500", "503"),
		}},
		"/oauth/revoke": obj{"post": obj{
			"operationId": "oauthRevoke", "summary": "Revoke a token (RFC 7009); revoking a refresh token revokes its grant.",
			"security": client, "requestBody": form("RevokeRequest"),
			"responses": oauthErrors(obj{"200": obj{"description": "Revoked, or the token was unknown."}}, "400", "401", "429", "500"),
		}},
		"/oauth/introspect": obj{"post": obj{
			"operationId": "oauthIntrospect", "summary": "Describe a token (RFC 7662).",
			"security": []any{obj{"clientBasic": []any{}}, obj{"bearer": []any{}}}, "requestBody": form("RevokeRequest"),
			"responses": oauthErrors(obj{"200": jsonResp("The token's state.", "IntrospectionResponse")}, "400", "401", "429", "500"),
		}},
		"/oauth/token/info": obj{"get": obj{
			"operationId": "oauthTokenInfo", "summary": "The caller's own access token (Doorkeeper format).",
			"security":  []any{obj{"bearer": []any{}}},
			"responses": oauthErrors(obj{"200": jsonResp("The token.", "TokenInfo")}, "400", "401", "500"),
		}},
		"/oauth/device_authorization": obj{"post": obj{
			"operationId": "oauthDeviceAuthorization", "summary": "Start a device authorization grant (RFC 8628 §3.1).",
			"security": client, "requestBody": form("DeviceAuthorizationRequest"),
			"responses": oauthErrors(obj{"200": jsonResp("The device and user codes.", "DeviceAuthorizationResponse")}, "400", "401", "429", "500"),
		}},
		"/oauth/authorize": authorizePaths(),
		"/device":          devicePagePaths(),
		"/.well-known/oauth-authorization-server": obj{"get": obj{
			"operationId": "oauthMetadata", "summary": "Authorization server metadata (RFC 8414).", "security": []any{},
			"responses": obj{"200": jsonResp("The metadata.", "AuthorizationServerMetadata")},
		}},
	}
}

// htmlResp is a response that is an HTML page of assetgate's.
func htmlResp(desc string) obj {
	return obj{"description": desc, "content": obj{"text/html": obj{"schema": obj{"type": "string"}}}}
}

// authorizePaths documents the authorization endpoint: HTML pages for a
// browser, answered with redirects to the client's redirect URI.
func authorizePaths() obj {
	redirect := obj{"description": "To the client's redirect URI with code (or the implicit grant's fragment), state and iss (RFC 9207), " +
		"or an RFC 6749 §4.1.2.1 error; errors found before the user has seen an application whose redirect URIs no operator vouched for " +
		"are shown on assetgate's own page instead (RFC 9700 §4.11.2).",
		"headers": obj{"Location": obj{"schema": obj{"type": "string", "format": "uri"}}}}
	page := func(id, summary string) obj {
		return obj{"operationId": id, "summary": summary, "security": []any{},
			"responses": obj{"200": htmlResp("The login or consent page."), "302": redirect,
				"400": htmlResp("The request cannot be redirected (unknown client, redirect_uri mismatch, or an untrusted client's early error)."),
				"429": htmlResp("Too many failed logins (Retry-After)."), "503": htmlResp("The service is temporarily unavailable (Retry-After).")}}
	}
	return obj{
		"get":    page("oauthAuthorize", "Authorization request (RFC 6749 §4.1.1, PKCE RFC 7636): shows the login page, then the consent page."),
		"post":   page("oauthAuthorizeSubmit", "The login and consent forms (with their CSRF token): log in, approve or deny."),
		"delete": page("oauthAuthorizeDeny", "Deny the authorization request (access_denied)."),
	}
}

// devicePagePaths documents the page where a user enters a device's user
// code (RFC 8628 §3.3).
func devicePagePaths() obj {
	page := func(id, summary string) obj {
		return obj{"operationId": id, "summary": summary, "security": []any{},
			"responses": obj{"200": htmlResp("The user code, login or approval page."),
				"400": htmlResp("An unknown or expired user code, or a bad form."), "429": htmlResp("Too many wrong user codes (Retry-After)."),
				"503": htmlResp("The service is temporarily unavailable (Retry-After).")}}
	}
	return obj{
		"get":  page("devicePage", "The device verification page (verification_uri; ?user_code= prefills it)."),
		"post": page("devicePageSubmit", "The user code, login and approval forms."),
	}
}

// servicePaths documents the routes outside the JSON:API and OAuth ones:
// GraphQL and the health checks.
func servicePaths() obj {
	gqlResp := func(desc string) obj {
		return obj{"description": desc, "content": obj{"application/json": obj{"schema": obj{"type": "object",
			"properties": obj{"data": obj{"type": []any{"object", "null"}}, "errors": obj{"type": "array", "items": obj{"type": "object",
				"required": []any{"message"}, "properties": obj{"message": obj{"type": "string"},
					"extensions": obj{"type": "object", "properties": obj{"code": obj{"type": "string"}}}}}}}}}}}
	}
	gqlErrors := obj{
		"200": gqlResp("A GraphQL response: data and, per failed field, an error with extensions.code."),
		"401": gqlResp("No or an invalid bearer token (UNAUTHENTICATED)."),
		"405": gqlResp("A mutation or subscription sent with GET (METHOD_NOT_ALLOWED)."),
		"413": gqlResp("The request body is too large."),
		"422": gqlResp("A document that cannot be parsed or validated, or past a limit."),
		"503": gqlResp("A store did not answer in time (UNAVAILABLE, Retry-After)."),
	}
	graphql := obj{"summary": "GraphQL over HTTP (the same services as JSON:API); subscriptions over WebSocket (graphql-transport-ws) on GET with Upgrade.",
		"security": []any{obj{"bearer": []any{}}}, "responses": gqlErrors}
	get := obj{"operationId": "graphqlGet", "parameters": []any{
		obj{"name": "query", "in": "query", "schema": obj{"type": "string"}},
		obj{"name": "variables", "in": "query", "schema": obj{"type": "string"}},
		obj{"name": "extensions", "in": "query", "schema": obj{"type": "string"}, "description": "Automatic persisted queries."}}}
	post := obj{"operationId": "graphqlPost", "requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": obj{"type": "object",
		"properties": obj{"query": obj{"type": "string"}, "operationName": obj{"type": "string"}, "variables": obj{"type": "object"}, "extensions": obj{"type": "object"}}}}}}}
	for k, v := range graphql {
		get[k], post[k] = v, v
	}
	health := func(id, summary string, codes obj) obj {
		return obj{"get": obj{"operationId": id, "summary": summary, "security": []any{}, "responses": codes}}
	}
	status := obj{"description": "The status.", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}
	return obj{
		"/graphql": obj{"get": get, "post": post},
		"/healthz": health("healthz", "Answers while the process lives.", obj{"200": status}),
		"/readyz": health("readyz", "Whether the database (and Redis, when configured) answer.", obj{"200": status,
			"503": obj{"description": "A dependency is down (named in checks; Retry-After).", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}}),
	}
}
