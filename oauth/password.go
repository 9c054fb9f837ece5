package oauth

import (
	"context"

	oauth2 "github.com/go-oauth2/oauth2/v4"

	"github.com/assetgate/assetgate/resource"
)

// externalTokenGrant is the password grant in Sensorberg's form: an
// external_authentication_token instead of username and password. go-oauth2
// requires username and password, so this package dispatches it itself and
// lets the library write the response.
func (s *Server) externalTokenGrant(ctx context.Context, tr *tokenRequest) (oauth2.TokenInfo, error) {
	if tr.form.Has("username") || tr.form.Has("password") {
		return nil, errInvalidRequest("Send external_authentication_token or username and password, not both.")
	}
	token := tr.form.Get("external_authentication_token")
	if token == "" {
		return nil, errInvalidRequest("external_authentication_token is empty.")
	}
	u, err := s.loginExternal(ctx, tr.app, token, tr.addr)
	if err != nil {
		return nil, err
	}
	scope, err := grantedScope(tr.app, resource.GrantPassword, tr.form.Get("scope"))
	if err != nil {
		return nil, err
	}
	is, err := s.issueFamily(ctx, tr.app, u, scope, "", true)
	if err != nil {
		return nil, err
	}
	if err := s.afterUserGrant(ctx, tr.app, u, is, oidcLogin{AuthTime: is.accessTok.IssuedAt}, true); err != nil {
		return nil, err
	}
	return tokenInfo(is), nil
}
