package oauth

import (
	"context"
	"errors"
	"net/http"

	oauth2 "github.com/go-oauth2/oauth2/v4"
	liberrors "github.com/go-oauth2/oauth2/v4/errors"
)

// The functions of this file are go-oauth2's extension points as this
// package fills them in (see newLibraryServer).

// clientInfo is the library's ClientInfoHandler. The client has already been
// authenticated by handleToken (client_auth.go), so it only names it; the
// library's own secret check (manage.Manager) never runs, as the manager is
// this package's.
func (s *Server) clientInfo(r *http.Request) (string, string, error) {
	tr := tokenRequestFromContext(r.Context())
	if tr == nil || tr.app == nil {
		return "", "", errInvalidClient("Client authentication failed.")
	}
	return tr.app.ID, "", nil
}

// clientScope is the library's ClientScopeHandler, called for the client
// credentials and password grants and for authorization requests. It
// decides the granted scope and writes it back into tgr.Scope: `app` and/or
// `basic` within the application's scopes for client credentials, `me` for
// every grant that acts for a user.
func (s *Server) clientScope(tgr *oauth2.TokenGenerateRequest) (bool, error) {
	tr := tokenRequestFromContext(tgr.Request.Context())
	if tr == nil {
		return false, errServer()
	}
	scope, err := grantedScope(tr.app, tr.grant, tgr.Scope)
	if err != nil {
		return false, err
	}
	tgr.Scope = scope
	return true, nil
}

// passwordAuthorization is the library's PasswordAuthorizationHandler: the
// user's e-mail and password, throttled per account and address.
func (s *Server) passwordAuthorization(ctx context.Context, _, username, password string) (string, error) {
	tr := tokenRequestFromContext(ctx)
	if tr == nil {
		return "", errServer()
	}
	u, err := s.login(ctx, tr.app, username, password, loginFrom{addr: tr.addr, client: tr.app.ID})
	if err != nil {
		return "", err
	}
	tr.user = u
	return u.ID, nil
}

// refreshingScope is the library's RefreshingScopeHandler: a refresh may
// keep or narrow the scope of the grant, never widen it. Without it
// go-oauth2 takes whatever scope the refresh request names (defect 2).
func (s *Server) refreshingScope(tgr *oauth2.TokenGenerateRequest, oldScope string) (bool, error) {
	if !scopeWithin(tgr.Scope, oldScope) {
		return false, errInvalidScope("A refresh may not widen the scope of the grant (%q).", oldScope)
	}
	return true, nil
}

// refreshTokenFromBody is the library's RefreshTokenResolveHandler: the
// refresh token comes from the body only.
func refreshTokenFromBody(r *http.Request) (string, error) {
	rt := r.PostForm.Get("refresh_token")
	if rt == "" {
		return "", errInvalidRequest("refresh_token is missing.")
	}
	return rt, nil
}

// extensionFields is the library's ExtensionFieldsHandler: it adds
// created_at (Unix seconds, when the access token was issued) to the token
// response, and the ID token of an OpenID Connect grant.
func extensionFields(ti oauth2.TokenInfo) map[string]any {
	m := map[string]any{"created_at": ti.GetAccessCreateAt().Unix()}
	if o, ok := ti.(*oidcTokenInfo); ok {
		m["id_token"] = o.idToken
	}
	return m
}

// internalError is the library's InternalErrorHandler, which it calls for
// every error that is not one of its own: this package's *Error values keep
// their code, description and status; anything else is logged and becomes
// server_error without details.
func (s *Server) internalError(err error) *liberrors.Response {
	e := s.asError(err)
	return &liberrors.Response{
		Error: errors.New(e.Code), Description: e.Description, StatusCode: e.Status, Header: e.header(),
	}
}

// responseError is the library's ResponseErrorHandler. It gives the
// library's own error values the status RFC 6749 §5.2 requires (the library
// answers invalid_grant, unauthorized_client and unsupported_grant_type with
// 401; defect 6) and invalid_client its WWW-Authenticate header.
func (s *Server) responseError(re *liberrors.Response) {
	if _, lib := liberrors.StatusCodes[re.Error]; !lib {
		return // one of ours, already right (internalError)
	}
	e := libraryError(re.Error, re.Description)
	re.Error = errors.New(e.Code)
	re.Description, re.StatusCode, re.Header = e.Description, e.Status, e.header()
}

// responseToken is the library's ResponseTokenHandler: every response of the
// token endpoint is written by writeJSON.
func (s *Server) responseToken(w http.ResponseWriter, data map[string]any, header http.Header, status ...int) error {
	code := http.StatusOK
	if len(status) > 0 && status[0] > 0 {
		code = status[0]
	}
	writeJSON(w, code, header, data)
	return nil
}
