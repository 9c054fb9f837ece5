package jsonapi

import (
	"bytes"
	"encoding/json"
	"flag"
	nethttp "net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

var update = flag.Bool("update", false, "rewrite openapi.json from the generator")

// TestOpenAPIDocument generates the OpenAPI document and fails when the
// embedded openapi.json differs (run with -update to rewrite it), when
// kin-openapi finds it invalid, or when a route is served but not
// described or described but not served.
func TestOpenAPIDocument(t *testing.T) {
	a := New(Deps{})
	doc := generateOpenAPI(t, a)
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, '\n')
	if *update {
		if err := os.WriteFile("openapi.json", raw, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if !bytes.Equal(raw, OpenAPIDocument()) {
		t.Fatal("openapi.json is stale: run go test ./jsonapi -run TestOpenAPIDocument -update")
	}
	loaded, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := loaded.Validate(t.Context()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	described := map[string]bool{}
	for path, item := range loaded.Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, rt := range a.RouteTable() {
		served[rt.Pattern] = true
	}
	served[openAPIPattern] = true
	served[streamPattern] = true
	served[customerStreamPattern] = true
	for p := range served {
		if !described[p] {
			t.Errorf("%s is served but not in openapi.json", p)
		}
	}
	for p := range described {
		if strings.Contains(p, BasePath) && !served[p] {
			t.Errorf("%s is in openapi.json but not served", p)
		}
	}
}

// opDoc is what the generator needs to know about one operation beyond
// its route.
type opDoc struct {
	summary  string
	query    queryKind
	spec     *resource.QuerySpec // list filters, sorts, includes
	includes []string            // include paths of one-resource answers
	request  string              // request body schema, "" for none
	status   int                 // success status
	response string              // success schema, "" for no content
	errors   []int
	note     string // more description, after who may call it
	// requestContent, when set, is the request body's content (media
	// types other than JSON:API's), used instead of request.
	requestContent obj
	// params are query parameters of the route's own.
	params []any
}

// operations documents every route; the test fails for a route without
// an entry.
func operations() map[string]opDoc {
	dev, grp, conf, app := resource.DeviceQuerySpec(), resource.DeviceGroupQuerySpec(), resource.ConfigurationQuerySpec(), resource.ApplicationQuerySpec()
	geo := resource.GeogroupQuerySpec()
	get, list := []int{400, 401, 403, 404, 406, 500}, []int{400, 401, 403, 406, 500}
	write := []int{400, 401, 403, 404, 406, 409, 413, 415, 422, 500}
	del := []int{400, 401, 403, 404, 406, 409, 500}
	ops := map[string]opDoc{
		"GET /api/v1/users/me":           {summary: "The current user, with its customer included by default.", query: queryOne, includes: []string{"customer"}, status: 200, response: "UserDocument", errors: get},
		"GET /api/v1/users/me/customer":  {summary: "The current user's customer.", query: queryOne, status: 200, response: "CustomerDocument", errors: get},
		"POST /api/v1/users/me/password": {summary: "Change the current user's password; revokes the user's other grants.", request: "PasswordChangeRequest", status: 204, errors: append(slices.Clone(write), 429, 503)},

		"GET /api/v1/applications":              {summary: "List the customer's OAuth applications.", query: queryList, spec: &app, status: 200, response: "ApplicationListDocument", errors: list},
		"POST /api/v1/applications":             {summary: "Register an application; the client secret is in this answer only.", query: queryOne, request: "ApplicationCreateRequest", status: 201, response: "ApplicationDocument", errors: write, note: applicationCreateNote()},
		"GET /api/v1/applications/{id}":         {summary: "Read an application.", query: queryOne, status: 200, response: "ApplicationDocument", errors: get},
		"PATCH /api/v1/applications/{id}":       {summary: "Change an application; null resets a setting to its default.", query: queryOne, request: "ApplicationUpdateRequest", status: 200, response: "ApplicationDocument", errors: write, note: applicationUpdateNote()},
		"DELETE /api/v1/applications/{id}":      {summary: "Delete an application and revoke every token issued to it.", status: 204, errors: del},
		"POST /api/v1/applications/{id}/secret": {summary: "Rotate the client secret; the new one is in this answer only.", query: queryOne, status: 200, response: "ApplicationDocument", errors: []int{400, 401, 403, 404, 406, 422, 500}},

		"GET /api/v1/devices":                            {summary: "List devices (a device token sees only its own).", query: queryList, spec: &dev, status: 200, response: "DeviceListDocument", errors: list},
		"POST /api/v1/devices":                           {summary: "Create a device.", query: queryOne, includes: dev.Includes, request: "DeviceCreateRequest", status: 201, response: "DeviceDocument", errors: write},
		"GET /api/v1/devices/{id}":                       {summary: "Read a device.", query: queryOne, includes: dev.Includes, status: 200, response: "DeviceDocument", errors: get},
		"PATCH /api/v1/devices/{id}":                     {summary: "Change a device; omitted members stay, null clears.", query: queryOne, includes: dev.Includes, request: "DeviceUpdateRequest", status: 200, response: "DeviceDocument", errors: write},
		"DELETE /api/v1/devices/{id}":                    {summary: "Delete a device.", status: 204, errors: del},
		"POST /api/v1/devices/import":                    deviceImportOperation(), // openapi_import_test.go
		"GET /api/v1/devices/{id}/relationships/group":   {summary: "The device's group relationship.", status: 200, response: "DeviceGroupLinkageDocument", errors: get},
		"PATCH /api/v1/devices/{id}/relationships/group": {summary: "Put the device in a group, or in none (null).", request: "DeviceGroupLinkageRequest", status: 200, response: "DeviceGroupLinkageDocument", errors: write},
		"GET /api/v1/devices/{id}/group":                 {summary: "The device's group; null data when it is in none.", query: queryOne, includes: grp.Includes, status: 200, response: "DeviceGroupOrNullDocument", errors: get},

		"GET /api/v1/geogroups":                                        {summary: "List geogroups.", query: queryList, spec: &geo, status: 200, response: "GeogroupListDocument", errors: list},
		"POST /api/v1/geogroups":                                       {summary: "Create a geogroup.", query: queryOne, request: "GeogroupCreateRequest", status: 201, response: "GeogroupDocument", errors: write},
		"GET /api/v1/geogroups/{id}":                                   {summary: "Read a geogroup.", query: queryOne, status: 200, response: "GeogroupDocument", errors: get},
		"PATCH /api/v1/geogroups/{id}":                                 {summary: "Change a geogroup.", query: queryOne, request: "GeogroupUpdateRequest", status: 200, response: "GeogroupDocument", errors: write},
		"DELETE /api/v1/geogroups/{id}":                                {summary: "Delete a geogroup.", status: 204, errors: del},
		"GET /api/v1/device-groups":                                    {summary: "List device groups.", query: queryList, spec: &grp, status: 200, response: "DeviceGroupListDocument", errors: list},
		"POST /api/v1/device-groups":                                   {summary: "Create a device group.", query: queryOne, includes: grp.Includes, request: "DeviceGroupCreateRequest", status: 201, response: "DeviceGroupDocument", errors: write},
		"GET /api/v1/device-groups/{id}":                               {summary: "Read a device group.", query: queryOne, includes: grp.Includes, status: 200, response: "DeviceGroupDocument", errors: get},
		"PATCH /api/v1/device-groups/{id}":                             {summary: "Change a device group.", query: queryOne, includes: grp.Includes, request: "DeviceGroupUpdateRequest", status: 200, response: "DeviceGroupDocument", errors: write},
		"DELETE /api/v1/device-groups/{id}":                            {summary: "Delete a device group; its devices are left in no group.", status: 204, errors: del},
		"GET /api/v1/device-groups/{id}/relationships/configuration":   {summary: "The group's configuration relationship.", status: 200, response: "ConfigurationLinkageDocument", errors: get},
		"PATCH /api/v1/device-groups/{id}/relationships/configuration": {summary: "Assign a published configuration, or none (null).", request: "ConfigurationLinkageRequest", status: 200, response: "ConfigurationLinkageDocument", errors: write},

		"GET /api/v1/configurations":               {summary: "List configurations.", query: queryList, spec: &conf, status: 200, response: "ConfigurationListDocument", errors: list},
		"POST /api/v1/configurations":              {summary: "Create a draft configuration.", query: queryOne, request: "ConfigurationCreateRequest", status: 201, response: "ConfigurationDocument", errors: write},
		"GET /api/v1/configurations/{id}":          {summary: "Read a configuration.", query: queryOne, status: 200, response: "ConfigurationDocument", errors: get},
		"PATCH /api/v1/configurations/{id}":        {summary: "Change a draft (published ones are read-only: 409).", query: queryOne, request: "ConfigurationUpdateRequest", status: 200, response: "ConfigurationDocument", errors: write, note: configurationUpdateNote},
		"DELETE /api/v1/configurations/{id}":       {summary: "Delete a draft that no group uses.", status: 204, errors: del},
		"POST /api/v1/configurations/{id}/publish": {summary: "Publish a draft (one way).", query: queryOne, status: 200, response: "ConfigurationDocument", errors: []int{400, 401, 403, 404, 406, 409, 500}},
	}
	for pattern, od := range grantOperations() { // openapi_grants_test.go
		ops[pattern] = od
	}
	for pattern, od := range eventOperations() { // openapi_events_test.go
		ops[pattern] = od
	}
	for pattern, od := range deviceResourceOperations() { // openapi_resources_test.go
		ops[pattern] = od
	}
	for pattern, od := range seriesOperations() { // openapi_series_test.go
		ops[pattern] = od
	}
	return ops
}

// configurationUpdateNote says how PATCH treats settings.
const configurationUpdateNote = "settings is a JSON merge patch (RFC 7396) of the draft's settings: a key left out keeps its value, " +
	"a key with null removes that setting (the device is back to its default), a key with a value sets it; " +
	"settings: null removes every setting. Each value is checked as on create (422 pointing at /data/attributes/settings/ followed by the key)."

// operatorGrants names resource.OperatorGrants for the descriptions.
func operatorGrants() string { return strings.Join(resource.Names(resource.OperatorGrants()), " or ") }

// applicationCreateNote says what registering through the API cannot do:
// enable an operator's grant, or have its redirect URIs vouched for.
func applicationCreateNote() string {
	return "grant_types may not include " + operatorGrants() + ": only an operator enables those (assetgate app create --grant), " +
		"and password never for a public client (token_endpoint_auth_method none); either is refused with 422 pointing at grant_types. " +
		"No operator vouches for redirect URIs registered here: errors of an authorization request found before the user has seen " +
		"the application are shown on assetgate's own page, not redirected to the client."
}

// applicationUpdateNote says what changing through the API cannot do.
func applicationUpdateNote() string {
	return "grant_types cannot gain " + operatorGrants() + " (422 pointing at grant_types; only an operator enables them), " +
		"but an application an operator gave them keeps them. Adding a redirect URI ends an operator's vouching for the " +
		"redirect URIs: errors of authorization requests found before the user has seen the application are then shown on " +
		"assetgate's own page."
}

// generateOpenAPI builds the whole document.
func generateOpenAPI(t *testing.T, a *API) obj {
	paths := obj{}
	ops := operations()
	for _, rt := range a.routes {
		pattern := rt.pattern()
		od, ok := ops[pattern]
		if !ok {
			t.Fatalf("%s has no entry in operations()", pattern)
		}
		addOperation(paths, rt.path, strings.ToLower(rt.method), restOperation(a, rt, od))
	}
	addEventDocs(paths) // openapi_events_test.go: the event stream, headers
	addOperation(paths, "/openapi.json", "get", obj{"operationId": "getOpenAPI", "summary": "This document.", "security": []any{},
		"responses": obj{"200": obj{"description": "The OpenAPI document.", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}}})
	prefixed := obj{}
	for p, item := range paths {
		prefixed[BasePath+p] = item
	}
	for p, item := range oauthPaths() {
		prefixed[p] = item
	}
	for p, item := range oidcPaths() { // openapi_oidc_test.go
		prefixed[p] = item
	}
	for p, item := range servicePaths() {
		prefixed[p] = item
	}
	doc := obj{
		"openapi": "3.1.0",
		"info": obj{"title": "assetgate", "version": "1.0.0",
			"description": "The JSON:API 1.1 resource API (application/vnd.api+json), the OAuth 2.0 endpoints, GraphQL and the health checks of assetgate."},
		// Relative to the address the document was fetched from: the
		// service's issuer.
		"servers": []any{obj{"url": "/", "description": "this assetgate server (its issuer)"}},
		"paths":   prefixed,
		"components": obj{"schemas": schemas(), "parameters": sharedParameters(a), "responses": errorResponses(), "securitySchemes": obj{
			"bearer":      obj{"type": "http", "scheme": "bearer", "description": "An access token (scope me, app or basic) or a device token."},
			"clientBasic": obj{"type": "http", "scheme": "basic", "description": "client_id and client_secret (client_secret_basic)."}}},
	}
	pruneUnusedSchemas(doc)
	return doc
}

// pruneUnusedSchemas drops the component schemas that nothing in doc
// refers to, directly or through other schemas: the generator makes every
// document shape of every type, and a type without a list route has no
// list document to show.
func pruneUnusedSchemas(doc obj) {
	schemas := doc["components"].(obj)["schemas"].(obj)
	const prefix = "#/components/schemas/"
	used := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case obj:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" && strings.HasPrefix(ref, prefix) {
					name := strings.TrimPrefix(ref, prefix)
					if !used[name] {
						used[name] = true
						walk(schemas[name])
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for k, v := range doc {
		if k != "components" {
			walk(v)
		}
	}
	for k, v := range doc["components"].(obj) {
		if k != "schemas" {
			walk(v)
		}
	}
	for name := range schemas {
		if !used[name] {
			delete(schemas, name)
		}
	}
}

func addOperation(paths obj, path, method string, op obj) {
	item, _ := paths[path].(obj)
	if item == nil {
		item = obj{}
		paths[path] = item
	}
	item[method] = op
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// restOperation documents one JSON:API route.
func restOperation(a *API, rt *route, od opDoc) obj {
	var ops []string
	for _, op := range rt.ops {
		r, _ := scopes.Lookup(op)
		ops = append(ops, r.Description+" ("+strings.Join(allowedBy(r), ", ")+")")
	}
	op := obj{
		"operationId": operationID(rt),
		"summary":     od.summary,
		"description": strings.TrimSpace("Needs: " + strings.Join(ops, "; ") + ". " + od.note),
		"security":    []any{obj{"bearer": []any{}}},
		"parameters":  parameters(a, rt, od),
		"responses":   responses(rt, od),
	}
	if od.request != "" {
		op["requestBody"] = obj{"required": true, "content": obj{MediaType: obj{"schema": ref(od.request)}}}
	}
	if od.requestContent != nil {
		op["requestBody"] = obj{"required": true, "content": od.requestContent}
	}
	return op
}

// allowedBy names who may perform an operation, from the scopes table.
func allowedBy(r scopes.Rule) []string {
	who := slices.Clone(r.Scopes)
	if r.Permission != "" {
		who = append(who, "device token with "+r.Permission)
	}
	return who
}

func operationID(rt *route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for part := range strings.SplitSeq(strings.Trim(rt.path, "/"), "/") {
		part = strings.Trim(part, "{}")
		for w := range strings.SplitSeq(part, "-") {
			if w != "" {
				b.WriteString(strings.ToUpper(w[:1]) + w[1:])
			}
		}
	}
	return b.String()
}

func parameters(a *API, rt *route, od opDoc) []any {
	var out []any
	for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
		out = append(out, obj{"name": m[1], "in": "path", "required": true, "schema": obj{"type": "string"}})
	}
	q := func(name, desc string, schema obj) {
		out = append(out, obj{"name": name, "in": "query", "required": false, "description": desc, "schema": schema})
	}
	if od.query >= queryOne {
		includes := od.includes
		if od.query == querySeries {
			includes = nil
		}
		if od.spec != nil {
			includes = od.spec.Includes
		}
		if len(includes) > 0 {
			q("include", "Related resources to include, comma-separated: "+strings.Join(includes, ", ")+".",
				obj{"type": "string", "pattern": listPattern(includes, false)})
		}
		for _, typ := range sortedKeys(a.members) {
			out = append(out, obj{"$ref": "#/components/parameters/fields-" + typ})
		}
	}
	if od.query == queryList {
		spec := od.spec
		if len(spec.Sorts) > 0 {
			q("sort", "Sort fields, comma-separated, '-' for descending: "+strings.Join(spec.Sorts, ", ")+".",
				obj{"type": "string", "pattern": listPattern(spec.Sorts, true)})
		}
		out = append(out, obj{"$ref": "#/components/parameters/page-number"}, obj{"$ref": "#/components/parameters/page-size"})
		for _, f := range spec.Filters {
			name := f
			if f == resource.DeviceFilterAttributes {
				name += ".KEY" // a family: one parameter per attribute key
			}
			q("filter["+name+"]", filterDescription(f), filterSchema(f))
		}
	}
	if od.query == querySeries {
		out = append(out, seriesParameters()...) // openapi_series_test.go
	}
	out = append(out, od.params...)
	if out == nil {
		return []any{}
	}
	return out
}

// sharedParameters are the query parameters every list or resource
// answer shares, referenced from the operations.
func sharedParameters(a *API) obj {
	out := obj{
		"page-number": obj{"name": "page[number]", "in": "query", "description": "The page, from 1.",
			"schema": obj{"type": "integer", "minimum": 1}},
		"page-size": obj{"name": "page[size]", "in": "query",
			"description": "Items per page (default " + strconv.Itoa(resource.DefaultPageSize) + ").",
			"schema":      obj{"type": "integer", "minimum": 1, "maximum": resource.MaxPageSize}},
	}
	for typ, members := range a.members {
		out["fields-"+typ] = obj{"name": "fields[" + typ + "]", "in": "query",
			"description": "Sparse fieldset: the attributes and relationships of " + typ + " to present; empty for none.",
			"schema":      obj{"type": "string", "pattern": "^(" + strings.TrimSuffix(strings.TrimPrefix(listPattern(members, false), "^"), "$") + ")?$"}}
	}
	return out
}

// listPattern is a regular expression of a comma list of names.
func listPattern(names []string, desc bool) string {
	alt := make([]string, len(names))
	for i, n := range names {
		alt[i] = regexp.QuoteMeta(n)
	}
	item := "(" + strings.Join(alt, "|") + ")"
	if desc {
		item = "-?" + item
	}
	return "^" + item + "(," + item + ")*$"
}

func responses(rt *route, od opDoc) obj {
	out := obj{}
	success := obj{"description": nethttp.StatusText(od.status)}
	if od.response != "" {
		success["content"] = obj{MediaType: obj{"schema": ref(od.response)}}
	}
	if od.status == 201 {
		success["headers"] = obj{"Location": obj{"description": "The URL of the new resource.", "schema": obj{"type": "string"}}}
	}
	out[strconv.Itoa(od.status)] = success
	for _, code := range od.errors {
		out[strconv.Itoa(code)] = obj{"$ref": "#/components/responses/Error" + strconv.Itoa(code)}
	}
	return out
}

// errorResponses are the JSON:API error answers, one per status.
func errorResponses() obj {
	out := obj{}
	for _, code := range []int{400, 401, 403, 404, 406, 409, 413, 415, 422, 429, 500, 503, 504} {
		e := obj{"description": nethttp.StatusText(code), "content": obj{MediaType: obj{"schema": ref("ErrorDocument")}}}
		switch code {
		case 401, 403:
			e["headers"] = obj{"WWW-Authenticate": obj{"description": "The RFC 6750 challenge.", "schema": obj{"type": "string"}}}
		case 429, 503:
			e["headers"] = obj{"Retry-After": obj{"description": "Seconds to wait before trying again.", "schema": obj{"type": "integer"}}}
		}
		out["Error"+strconv.Itoa(code)] = e
	}
	return out
}
