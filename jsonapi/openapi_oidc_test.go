package jsonapi

// oidcPaths documents the OpenID Connect endpoints (served by package
// oauth): discovery, the JWKS, userinfo and RP-initiated logout.
func oidcPaths() obj {
	str := obj{"type": "string"}
	jsonResp := func(desc string, schema obj) obj {
		return obj{"description": desc, "content": obj{"application/json": obj{"schema": schema}}}
	}
	bearerErr := func(desc string) obj {
		return obj{"description": desc + " WWW-Authenticate: Bearer with the RFC 6750 error.",
			"content": obj{"application/json": obj{"schema": ref("OAuthError")}}}
	}
	userinfo := func(id string) obj {
		return obj{"operationId": id, "summary": "The claims of the access token's user (OpenID Connect Core 1.0 §5.3): sub, " +
			"and with scope email: email, email_verified; with profile: preferred_username, updated_at. Needs scope openid.",
			"security": []any{obj{"bearer": []any{}}},
			"responses": obj{"200": jsonResp("The claims.", obj{"type": "object", "required": []any{"sub"}, "properties": obj{
				"sub": str, "email": str, "email_verified": obj{"type": "boolean"}, "preferred_username": str,
				"updated_at": obj{"type": "integer"}}}),
				"400": bearerErr("A malformed bearer token."), "401": bearerErr("No token, or an invalid one."),
				"403": bearerErr("The token was not granted openid (insufficient_scope)."), "500": bearerErr("Server error.")}}
	}
	logout := func(id, summary string) obj {
		return obj{"operationId": id, "summary": summary, "security": []any{},
			"parameters": []any{
				obj{"name": "id_token_hint", "in": "query", "schema": str, "description": "An ID token this server issued; without one the user confirms."},
				obj{"name": "client_id", "in": "query", "schema": str},
				obj{"name": "post_logout_redirect_uri", "in": "query", "schema": str, "description": "One of the application's post_logout_redirect_uris, exactly."},
				obj{"name": "state", "in": "query", "schema": str}},
			"responses": obj{"200": htmlResp("The confirmation page, or the logged-out page."),
				"302": obj{"description": "To post_logout_redirect_uri, with state.",
					"headers": obj{"Location": obj{"schema": obj{"type": "string", "format": "uri"}}}},
				"400": htmlResp("An invalid id_token_hint or an unregistered post_logout_redirect_uri: no redirect."),
				"403": htmlResp("The confirmation form expired (CSRF)."),
				"503": htmlResp("The service is temporarily unavailable (Retry-After).")}}
	}
	return obj{
		"/.well-known/openid-configuration": obj{"get": obj{
			"operationId": "oidcDiscovery", "summary": "OpenID Provider metadata (OpenID Connect Discovery 1.0): the RFC 8414 document.",
			"security":  []any{},
			"responses": obj{"200": obj{"description": "The metadata.", "content": obj{"application/json": obj{"schema": ref("AuthorizationServerMetadata")}}}},
		}},
		"/oauth/jwks": obj{"get": obj{
			"operationId": "oauthJWKS", "summary": "The public signing keys of ID tokens (RFC 7517 §5), cacheable (Cache-Control max-age).",
			"security": []any{},
			"responses": obj{"200": obj{"description": "The key set.", "content": obj{"application/jwk-set+json": obj{"schema": obj{
				"type": "object", "required": []any{"keys"}, "properties": obj{"keys": obj{"type": "array", "items": obj{"type": "object"}}}}}}},
				"500": jsonResp("Server error.", ref("OAuthError")), "503": jsonResp("Unavailable (Retry-After).", ref("OAuthError"))},
		}},
		"/oauth/userinfo": obj{"get": userinfo("oidcUserInfo"), "post": userinfo("oidcUserInfoPost")},
		"/oauth/logout": obj{
			"get":  logout("oidcLogout", "RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the login session on every replica."),
			"post": logout("oidcLogoutSubmit", "The logout confirmation form (with its CSRF token), or a logout request as a form."),
		},
	}
}
