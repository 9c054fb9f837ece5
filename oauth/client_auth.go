package oauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// authenticateClient authenticates the client of a token endpoint request
// with exactly the method the application is registered with
// (token_endpoint_auth_method):
//
//   - client_secret_basic: HTTP Basic, client_id and secret form-encoded
//     (RFC 6749 §2.3.1), and no client_secret in the body;
//   - client_secret_post: client_id and client_secret in the body;
//   - none: client_id in the body and no secret anywhere (public clients).
//
// Secrets are compared as SHA-256 hashes in constant time; an application
// without a stored secret never authenticates with one, and a disabled
// application never authenticates at all. Every failure is invalid_client
// (401 with WWW-Authenticate), whatever its cause, so the response does not
// reveal which client ids exist. go-oauth2 instead compares the stored plain
// secret with != and accepts any secret when the stored one is empty
// (defect 7).
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (*resource.Application, error) {
	fail := errInvalidClient("Client authentication failed.")
	basicID, basicSecret, hasBasic := r.BasicAuth()
	if !hasBasic && r.Header.Get("Authorization") != "" {
		return nil, errInvalidRequest("Only HTTP Basic client authentication is supported in the Authorization header.")
	}
	postID, postSecret := form.Get("client_id"), form.Get("client_secret")
	_, hasPostSecret := form["client_secret"]

	var method resource.AuthMethod
	var clientID, secret string
	switch {
	case hasBasic && hasPostSecret:
		return nil, errInvalidRequest("Use one client authentication method, not several.")
	case hasBasic:
		id, err1 := url.QueryUnescape(basicID)
		sec, err2 := url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil {
			return nil, fail
		}
		if postID != "" && postID != id {
			return nil, errInvalidRequest("client_id in the body differs from the one in the Authorization header.")
		}
		method, clientID, secret = resource.AuthClientSecretBasic, id, sec
	case hasPostSecret:
		method, clientID, secret = resource.AuthClientSecretPost, postID, postSecret
	case postID != "":
		method, clientID = resource.AuthNone, postID
	default:
		return nil, fail
	}

	if !resource.ValidID(clientID) {
		return nil, fail
	}
	app, err := s.apps.Store.FindApplication(ctx, clientID)
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil, fail
	} else if err != nil {
		return nil, err
	}
	if !app.Enabled || app.TokenEndpointAuthMethod != method {
		return nil, fail
	}
	if method == resource.AuthNone {
		if !app.Public() || strings.TrimSpace(app.SecretHash) != "" {
			return nil, fail
		}
		return app, nil
	}
	if app.Public() || !resource.SecretMatches(app.SecretHash, secret) {
		return nil, fail
	}
	return app, nil
}

// readClientForm reads a form request and authenticates its client, as the
// token, revocation and device authorization endpoints all begin.
func (s *Server) readClientForm(w http.ResponseWriter, r *http.Request) (url.Values, *resource.Application, error) {
	form, err := readForm(w, r)
	if err != nil {
		return nil, nil, err
	}
	app, err := s.authenticateClient(r.Context(), r, form)
	if err != nil {
		return nil, nil, err
	}
	return form, app, nil
}
