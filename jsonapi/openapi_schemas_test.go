package jsonapi

import (
	"reflect"
	"slices"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// This file generates the component schemas of openapi.json (see
// openapi_gen_test.go). Resource attributes are read from the presenter
// structs, so a renamed or retyped attribute changes the document.

type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func nullable(s obj) obj {
	out := obj{}
	for k, v := range s {
		out[k] = v
	}
	switch t := s["type"].(type) {
	case string:
		out["type"] = []any{t, "null"}
	case nil:
		return obj{"oneOf": []any{s, obj{"type": "null"}}}
	}
	return out
}

// resourceKind describes one resource type for the generator.
type resourceKind struct {
	typ       string // JSON:API type
	schema    string // component name
	presenter any
	spec      *bodySpec         // writable members; nil for read-only types
	required  []string          // attributes a create must carry
	extra     map[string]obj    // attribute schema refinements
	relTypes  map[string]string // relationship name → type
	// createOnly is set for types that are created but never changed
	// (device tokens): no NAMEUpdateRequest.
	createOnly bool
}

func resourceKinds() []resourceKind {
	dateTime := obj{"type": "string", "format": "date-time"}
	nullTime := obj{"type": []any{"string", "null"}, "format": "date-time"}
	uris := obj{"type": "array", "items": obj{"type": "string", "format": "uri-reference"}, "maxItems": 20}
	kinds := []resourceKind{
		{typ: typeUsers, schema: "User", presenter: userPresenter{}, relTypes: map[string]string{"customer": typeCustomers},
			extra: map[string]obj{"email": {"type": "string", "format": "email"}, "created_at": dateTime, "updated_at": dateTime}},
		{typ: typeCustomers, schema: "Customer", presenter: customerPresenter{},
			extra: map[string]obj{"created_at": dateTime, "updated_at": dateTime}},
		{typ: typeApplications, schema: "Application", presenter: applicationPresenter{}, spec: &applicationSpec,
			required: []string{"name", "grant_types"}, relTypes: map[string]string{"owner": typeUsers},
			extra: map[string]obj{
				"grant_types": {"type": "array", "items": obj{"type": "string", "enum": resource.Names(resource.GrantTypes())},
					"description": strings.Join(resource.Names(resource.OperatorGrants()), " and ") + " are enabled only by an operator (the CLI), never through this API; " +
						"password never for a public client."},
				"scopes":                     {"type": "array", "items": obj{"type": "string", "enum": resource.Scopes()}},
				"token_endpoint_auth_method": {"type": "string", "enum": resource.Names(resource.AuthMethods())},
				"pkce_enforcement": {"type": "string", "enum": resource.Names(resource.PKCELevels()),
					"description": "Defaults to s256_required. A public client (token_endpoint_auth_method none) must use PKCE (RFC 9700 §2.1.1): " +
						"optional is refused for it with 422 pointing here, also when a change makes the client public; " +
						"an application stored with optional before that rule reads as required, the value that applies."},
				"redirect_uris": uris, "post_logout_redirect_uris": uris,
				"client_secret": {"type": "string", "description": "The client secret, only in the answer that creates or rotates it."},
				"created_at":    dateTime, "updated_at": dateTime,
			}},
		{typ: typeDevices, schema: "Device", presenter: devicePresenter{}, spec: &deviceSpec,
			required: []string{"name", "imei"}, relTypes: map[string]string{"group": typeDeviceGroups},
			extra: map[string]obj{
				"imei":          {"type": "string", "pattern": "^[0-9]{15}$", "description": "15 digits with a valid Luhn check digit, unique within the customer."},
				"mac":           {"type": []any{"string", "null"}, "description": "Any of XX:XX:XX:XX:XX:XX, XX-XX-XX-XX-XX-XX, XXXX.XXXX.XXXX or 12 hexadecimal digits; answers are XX:XX:XX:XX:XX:XX in upper case."},
				"latitude":      {"type": []any{"number", "null"}, "minimum": -90, "maximum": 90},
				"longitude":     {"type": []any{"number", "null"}, "minimum": -180, "maximum": 180},
				"last_event_at": nullTime, "created_at": dateTime, "updated_at": dateTime,
				"attributes": {"type": "object", "maxProperties": resource.MaxAttributes,
					"propertyNames":        obj{"pattern": "^[A-Za-z0-9_.-]{1,64}$"},
					"additionalProperties": obj{"type": []any{"string", "number", "boolean"}},
					"description": "The customer's own keys: at most 64, each 1 to 64 characters of A-Z, a-z, 0-9, '_', '.', '-'; values strings, numbers or booleans; " +
						"at most 4,096 bytes as JSON. A PATCH replaces the whole object (null clears it). A bad key or value is 422 pointing at /data/attributes/attributes/ followed by the key."},
				"connected":       {"type": "boolean", "description": "Whether the device has a live MQTT session (on any replica); filter[connected] keeps the devices for which it is true or false."},
				"connected_at":    obj{"type": []any{"string", "null"}, "format": "date-time", "description": "When its current (or last) MQTT session began; null if it never connected."},
				"disconnected_at": obj{"type": []any{"string", "null"}, "format": "date-time", "description": "When its last MQTT session ended; null while connected or if it never connected."},
				"remote_address":  {"type": []any{"string", "null"}, "description": "HOST:PORT of the MQTT session."},
				"rx_bytes":        {"type": "integer", "minimum": 0, "description": "Bytes received from the device in its (last) MQTT session."},
				"tx_bytes":        {"type": "integer", "minimum": 0, "description": "Bytes sent to the device in its (last) MQTT session."},
				"last_seen_at":    obj{"type": []any{"string", "null"}, "format": "date-time", "description": "The later of last_event_at and the last MQTT packet."},
			}},
		{typ: typeDeviceGroups, schema: "DeviceGroup", presenter: groupPresenter{}, spec: &groupSpec,
			required: []string{"name"}, relTypes: map[string]string{"configuration": typeConfigurations},
			extra: map[string]obj{"created_at": dateTime, "updated_at": dateTime}},
		{typ: typeGeogroups, schema: "Geogroup", presenter: geogroupPresenter{}, spec: &geogroupSpec,
			required: []string{"name", "geometry"},
			extra:    map[string]obj{"geometry": ref("Geometry"), "created_at": dateTime, "updated_at": dateTime}},
		{typ: typeConfigurations, schema: "Configuration", presenter: configurationPresenter{}, spec: &configurationSpec,
			required: []string{"name"},
			extra: map[string]obj{
				"state":        {"type": "string", "enum": []any{resource.ConfigurationDraft, resource.ConfigurationPublished}},
				"settings":     ref("Settings"),
				"published_at": nullTime, "created_at": dateTime, "updated_at": dateTime,
			}},
	}
	kinds = append(kinds, grantResourceKinds()...)  // openapi_grants_test.go
	kinds = append(kinds, deviceResourceKinds()...) // openapi_resources_test.go
	return append(kinds, eventResourceKinds()...)   // openapi_events_test.go
}

// attributeSchemas returns the schema of every attribute of a presenter.
func (k resourceKind) attributeSchemas() obj {
	out := obj{}
	t := reflect.TypeOf(k.presenter)
	for i := range t.NumField() {
		tag := strings.Split(t.Field(i).Tag.Get("jsonapi"), ",")
		if len(tag) < 2 || tag[0] != "attr" {
			continue
		}
		s, ok := k.extra[tag[1]]
		if !ok {
			s = goSchema(t.Field(i).Type)
		}
		out[tag[1]] = s
	}
	return out
}

// goSchema maps a presenter field's Go type to a JSON Schema.
func goSchema(t reflect.Type) obj {
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(goSchema(t.Elem()))
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int:
		return obj{"type": "integer"}
	case reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice:
		return obj{"type": "array", "items": goSchema(t.Elem())}
	}
	return obj{"type": "object"}
}

func identifier(typ string) obj {
	return obj{"type": "object", "required": []any{"type", "id"}, "additionalProperties": false,
		"properties": obj{"type": obj{"const": typ}, "id": obj{"type": "string", "minLength": 1}}}
}

func linkageOf(typ string) obj {
	return obj{"oneOf": []any{identifier(typ), obj{"type": "null"}}}
}

// schemas returns every component schema.
func schemas() obj {
	s := obj{
		"JSONAPI": obj{"type": "object", "properties": obj{"version": obj{"const": Version}}, "additionalProperties": false},
		"Link":    obj{"type": "string", "format": "uri-reference"},
		"Links": obj{"type": "object", "additionalProperties": false,
			"properties": obj{"self": ref("Link"), "related": ref("Link")}},
		"PageLinks": obj{"type": "object", "additionalProperties": false, "required": []any{"self", "first", "last", "prev", "next"},
			"properties": obj{"self": ref("Link"), "first": ref("Link"), "last": ref("Link"),
				"prev": obj{"type": []any{"string", "null"}}, "next": obj{"type": []any{"string", "null"}}}},
		"ListMeta": obj{"type": "object", "required": []any{"total"}, "additionalProperties": false,
			"properties": obj{"total": obj{"type": "integer", "minimum": 0}}},
		"ErrorSource": obj{"type": "object", "additionalProperties": false, "properties": obj{
			"pointer":   obj{"type": "string", "description": "A JSON Pointer into the request document."},
			"parameter": obj{"type": "string", "description": "The query parameter that caused the error."},
			"header":    obj{"type": "string", "description": "The request header that caused the error."}}},
		"ErrorObject": obj{"type": "object", "additionalProperties": false, "required": []any{"status", "code", "title"},
			"properties": obj{"status": obj{"type": "string", "pattern": "^[45][0-9][0-9]$"}, "code": obj{"type": "string"},
				"title": obj{"type": "string"}, "detail": obj{"type": "string"}, "source": ref("ErrorSource")}},
		"ErrorDocument": obj{"type": "object", "additionalProperties": false, "required": []any{"errors"},
			"properties": obj{"errors": obj{"type": "array", "minItems": 1, "items": ref("ErrorObject"),
				"description": "One object per problem: each invalid attribute of a request body has its own, with its source.pointer."},
				"jsonapi": ref("JSONAPI")}},
		"Settings": obj{"type": "object", "additionalProperties": false,
			"description": "Absent or null keys keep the device's default. In a PATCH the object is a JSON merge patch (RFC 7396): " +
				"keys left out keep their value, null removes a setting.",
			"properties": obj{
				resource.SettingReportingIntervalS:      obj{"type": []any{"integer", "null"}, "minimum": 10, "maximum": 86400},
				resource.SettingTemperatureLogIntervalS: obj{"type": []any{"integer", "null"}, "minimum": 10, "maximum": 86400},
				resource.SettingShockThresholdG:         obj{"type": []any{"number", "null"}, "minimum": 0.1, "maximum": 100}}},
		"Geometry": obj{"type": "object", "required": []any{"type", "coordinates"},
			"description": "GeoJSON (RFC 7946): a Polygon or MultiPolygon (holes allowed; rings closed, at least 4 positions, not crossing themselves or each other, " +
				"at most 10,000 positions in all), or a circle: a Point with a radius in metres. A ring may cross the antimeridian (an edge spanning more " +
				"than 180° of longitude takes the short way) or be split at ±180° into a MultiPolygon. An invalid geometry is 422 with a pointer into it.",
			"properties": obj{
				"type":        obj{"type": "string", "enum": []any{resource.GeometryPolygon, resource.GeometryMultiPolygon, resource.GeometryPoint}},
				"coordinates": obj{"type": "array"},
				"radius":      obj{"type": "number", "exclusiveMinimum": 0, "maximum": resource.MaxCircleRadius, "description": "Point only: the circle's radius in metres."},
				"bbox":        obj{"type": "array", "items": obj{"type": "number"}}}},
		"PasswordChangeRequest": obj{"type": "object", "required": []any{"data"}, "properties": obj{"data": obj{
			"type": "object", "required": []any{"type", "attributes"}, "additionalProperties": false,
			"properties": obj{"type": obj{"const": typeUsers}, "id": obj{"type": "string"},
				"attributes": obj{"type": "object", "additionalProperties": false,
					"required": []any{"old_password", "password", "password_confirmation"},
					"properties": obj{"old_password": obj{"type": "string"}, "password": obj{"type": "string"},
						"password_confirmation": obj{"type": "string"}}}}}}},
	}
	var included []any
	for _, k := range resourceKinds() {
		addResourceSchemas(s, k)
		if k.typ == typeDeviceGroups || k.typ == typeConfigurations || k.typ == typeCustomers {
			included = append(included, ref(k.schema))
		}
	}
	s["IncludedResource"] = obj{"oneOf": included}
	for name, typ := range map[string]string{"DeviceGroup": typeDeviceGroups, "Configuration": typeConfigurations} {
		s[name+"LinkageDocument"] = obj{"type": "object", "required": []any{"data", "links"}, "additionalProperties": false,
			"properties": obj{"data": linkageOf(typ), "links": ref("Links"), "jsonapi": ref("JSONAPI")}}
		s[name+"LinkageRequest"] = obj{"type": "object", "required": []any{"data"},
			"properties": obj{"data": linkageOf(typ), "meta": obj{"type": "object"}}}
	}
	s["DeviceGroupOrNullDocument"] = obj{"type": "object", "required": []any{"data"}, "additionalProperties": false,
		"properties": obj{"data": nullable(ref("DeviceGroup")), "included": obj{"type": "array", "items": ref("IncludedResource")},
			"links": ref("Links"), "jsonapi": ref("JSONAPI")}}
	for name, v := range eventSchemas() { // openapi_events_test.go
		s[name] = v
	}
	for name, v := range grantSchemas() { // openapi_grants_test.go
		s[name] = v
	}
	for name, v := range deviceResourceSchemas() { // openapi_resources_test.go
		s[name] = v
	}
	for name, v := range seriesSchemas() { // openapi_series_test.go
		s[name] = v
	}
	for name, v := range deviceImportSchemas() { // openapi_import_test.go
		s[name] = v
	}
	for name, v := range oauthSchemas() {
		s[name] = v
	}
	return s
}

// addResourceSchemas adds NAME, NAMEDocument, NAMEListDocument and, for
// writable types, NAMECreateRequest and NAMEUpdateRequest.
func addResourceSchemas(s obj, k resourceKind) {
	relProps := obj{}
	for name, typ := range k.relTypes {
		relProps[name] = obj{"type": "object", "required": []any{"data"}, "additionalProperties": false,
			"properties": obj{"data": linkageOf(typ), "links": ref("Links")}}
	}
	resourceProps := obj{"type": obj{"const": k.typ}, "id": obj{"type": "string"},
		"attributes": obj{"type": "object", "additionalProperties": false, "properties": k.attributeSchemas()},
		"links":      obj{"type": "object", "required": []any{"self"}, "additionalProperties": false, "properties": obj{"self": ref("Link")}}}
	if len(relProps) > 0 {
		resourceProps["relationships"] = obj{"type": "object", "additionalProperties": false, "properties": relProps}
	}
	s[k.schema] = obj{"type": "object", "required": []any{"type", "id", "links"}, "additionalProperties": false, "properties": resourceProps}
	s[k.schema+"Document"] = obj{"type": "object", "required": []any{"data", "links"}, "additionalProperties": false,
		"properties": obj{"data": ref(k.schema), "included": obj{"type": "array", "items": ref("IncludedResource")},
			"links": ref("Links"), "jsonapi": ref("JSONAPI")}}
	s[k.schema+"ListDocument"] = obj{"type": "object", "required": []any{"data", "links", "meta"}, "additionalProperties": false,
		"properties": obj{"data": obj{"type": "array", "items": ref(k.schema)},
			"included": obj{"type": "array", "items": ref("IncludedResource")},
			"links":    ref("PageLinks"), "meta": ref("ListMeta"), "jsonapi": ref("JSONAPI")}}
	if k.spec == nil {
		return
	}
	all := k.attributeSchemas()
	writable := obj{}
	for _, name := range k.spec.attrs {
		writable[name] = nullable(all[name].(obj))
	}
	writableRels := obj{}
	for name, typ := range k.spec.rels {
		writableRels[name] = obj{"type": "object", "required": []any{"data"},
			"properties": obj{"data": linkageOf(typ), "meta": obj{"type": "object"}}}
	}
	for _, req := range []struct {
		suffix string
		create bool
	}{{"CreateRequest", true}, {"UpdateRequest", false}} {
		if !req.create && k.createOnly {
			continue
		}
		props := obj{"type": obj{"const": k.typ},
			"attributes": obj{"type": "object", "additionalProperties": false, "properties": writable},
			"meta":       obj{"type": "object"}}
		required := []any{"type"}
		if len(writableRels) > 0 {
			props["relationships"] = obj{"type": "object", "additionalProperties": false, "properties": writableRels}
		}
		if req.create {
			props["attributes"].(obj)["required"] = toAny(k.required)
			required = append(required, "attributes")
		} else {
			props["id"] = obj{"type": "string"}
			required = append(required, "id")
		}
		s[k.schema+req.suffix] = obj{"type": "object", "required": []any{"data"},
			"properties": obj{"data": obj{"type": "object", "required": required, "additionalProperties": false, "properties": props},
				"meta": obj{"type": "object"}, "jsonapi": obj{"type": "object"}}}
	}
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, v := range l {
		out[i] = v
	}
	return out
}

// oauthSchemas are the schemas of the OAuth endpoints, which answer plain
// JSON (RFC 6749, 7009, 7662, 8414, 8628).
func oauthSchemas() obj {
	str := obj{"type": "string"}
	grants := slices.DeleteFunc(resource.GrantTypes(), func(g resource.GrantType) bool { return g == resource.GrantImplicit })
	return obj{
		"OAuthError": obj{"type": "object", "required": []any{"error"}, "properties": obj{
			"error": str, "error_description": str, "error_uri": str}},
		"TokenRequest": obj{"type": "object", "required": []any{"grant_type"}, "properties": obj{
			"grant_type": obj{"type": "string", "enum": toAny(resource.Names(grants))}, "code": str, "redirect_uri": str, "code_verifier": str,
			"refresh_token": str, "username": str, "password": str, "scope": str, "device_code": str,
			"client_id": str, "client_secret": str}},
		"TokenResponse": obj{"type": "object", "required": []any{"access_token", "token_type", "expires_in", "scope", "created_at"},
			"properties": obj{"access_token": str, "token_type": obj{"const": "Bearer"}, "expires_in": obj{"type": "integer"},
				"refresh_token": str, "scope": str, "created_at": obj{"type": "integer"}}},
		"RevokeRequest": obj{"type": "object", "required": []any{"token"}, "properties": obj{
			"token": str, "token_type_hint": obj{"type": "string", "enum": []any{"access_token", "refresh_token"}},
			"client_id": str, "client_secret": str}},
		"IntrospectionResponse": obj{"type": "object", "required": []any{"active"}, "properties": obj{
			"active": obj{"type": "boolean"}, "scope": str, "client_id": str, "username": str, "token_type": str,
			"exp": obj{"type": "integer"}, "iat": obj{"type": "integer"}, "sub": str, "aud": str, "iss": str}},
		"TokenInfo": obj{"type": "object", "required": []any{"scope", "application", "created_at"}, "properties": obj{
			"resource_owner_id": obj{"type": []any{"string", "null"}}, "scope": obj{"type": "array", "items": str},
			"expires_in": obj{"type": []any{"integer", "null"}}, "application": obj{"type": "object",
				"properties": obj{"uid": str}}, "created_at": obj{"type": "integer"}}},
		"AuthorizationServerMetadata": obj{"type": "object", "required": []any{"issuer", "response_types_supported"}, "properties": obj{
			"issuer": str, "authorization_endpoint": str, "token_endpoint": str, "revocation_endpoint": str,
			"introspection_endpoint": str, "device_authorization_endpoint": str,
			"scopes_supported": obj{"type": "array", "items": str}, "response_types_supported": obj{"type": "array", "items": str},
			"grant_types_supported":                          obj{"type": "array", "items": str},
			"authorization_response_iss_parameter_supported": obj{"type": "boolean", "description": "true: every authorization response carries iss (RFC 9207)."},
			"jwks_uri": str, "userinfo_endpoint": str, "end_session_endpoint": str,
			"subject_types_supported": obj{"type": "array", "items": str}, "id_token_signing_alg_values_supported": obj{"type": "array", "items": str},
			"claims_supported": obj{"type": "array", "items": str}, "prompt_values_supported": obj{"type": "array", "items": str},
			"claims_parameter_supported": obj{"type": "boolean"}, "request_parameter_supported": obj{"type": "boolean"},
			"request_uri_parameter_supported": obj{"type": "boolean"}}},
		"DeviceAuthorizationRequest": obj{"type": "object", "properties": obj{"client_id": str, "client_secret": str, "scope": str}},
		"DeviceAuthorizationResponse": obj{"type": "object",
			"required": []any{"device_code", "user_code", "verification_uri", "expires_in", "interval"},
			"properties": obj{"device_code": str, "user_code": str, "verification_uri": str, "verification_uri_complete": str,
				"expires_in": obj{"type": "integer"}, "interval": obj{"type": "integer"}}},
	}
}
