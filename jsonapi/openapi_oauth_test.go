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
	case resource.DeviceFilterGroup:
		return "Keep the devices of this device group; \"none\" keeps devices in no group."
	case resource.DeviceFilterLatitude, resource.DeviceFilterLongitude:
		return "The centre of a geo filter, in degrees; needs latitude, longitude and a radius."
	case resource.DeviceFilterRadiusLTE:
		return "Keep devices within this great-circle distance of the centre, in metres."
	case resource.DeviceFilterRadiusGTE:
		return "Keep devices at least this great-circle distance from the centre, in metres."
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
	case resource.DeviceFilterFault:
		return obj{"type": "boolean"}
	case resource.DeviceFilterLatitude:
		return obj{"type": "number", "minimum": -90, "maximum": 90}
	case resource.DeviceFilterLongitude:
		return obj{"type": "number", "minimum": -180, "maximum": 180}
	case resource.DeviceFilterRadiusLTE, resource.DeviceFilterRadiusGTE:
		return obj{"type": "number", "minimum": 0}
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
		"/.well-known/oauth-authorization-server": obj{"get": obj{
			"operationId": "oauthMetadata", "summary": "Authorization server metadata (RFC 8414).", "security": []any{},
			"responses": obj{"200": jsonResp("The metadata.", "AuthorizationServerMetadata")},
		}},
	}
}
