package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// TokenInfo returns the handler of "GET /oauth/token/info".
func (s *Server) TokenInfo() http.Handler { return http.HandlerFunc(s.handleTokenInfo) }

// tokenInfoResponse is Doorkeeper's token info, as Sensorberg documents it.
type tokenInfoResponse struct {
	// ResourceOwnerID is the user of a user token, null for an
	// application token.
	ResourceOwnerID *string         `json:"resource_owner_id"`
	Scope           []string        `json:"scope"`
	ExpiresIn       *int64          `json:"expires_in"`
	Application     tokenInfoClient `json:"application"`
	CreatedAt       int64           `json:"created_at"`
}

type tokenInfoClient struct {
	UID string `json:"uid"`
}

// handleTokenInfo describes the access token the request carries in its
// Authorization header: its user (resource_owner_id), scope (as an array),
// remaining lifetime in seconds (expires_in), application ({"uid":
// client_id}) and issue time (created_at, Unix seconds). A missing token is
// 401 with a bare Bearer challenge; an unknown, expired or revoked one 401
// with error="invalid_token" (RFC 6750 §3.1).
func (s *Server) handleTokenInfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := s.bearerAccessToken(ctx, r)
	if err != nil {
		s.writeBearerError(w, err)
		return
	}
	resp := tokenInfoResponse{
		Scope:       strings.Fields(t.Scope),
		Application: tokenInfoClient{UID: t.ClientID},
		CreatedAt:   t.IssuedAt.Unix(),
	}
	if t.UserID != "" {
		resp.ResourceOwnerID = &t.UserID
	}
	if !t.ExpiresAt.IsZero() {
		left := int64(t.ExpiresAt.Sub(s.now()).Seconds())
		resp.ExpiresIn = &left
	}
	if resp.Scope == nil {
		resp.Scope = []string{}
	}
	writeJSON(w, http.StatusOK, nil, resp)
}

// bearerAccessToken returns the live access token of the request's
// Authorization header (RFC 6750 §2.1; never a query parameter), or a
// *scopes.AuthError: ErrMissingToken without one, ErrInvalidRequest for a
// malformed header, ErrInvalidToken for a token that does not resolve.
func (s *Server) bearerAccessToken(ctx context.Context, r *http.Request) (*resource.Token, error) {
	tok, err := bearerCredentials(r)
	if err != nil {
		return nil, err
	}
	t, err := s.LookupAccessToken(ctx, tok)
	if resource.ErrorCode(err) == resource.EUnauthenticated {
		return nil, scopes.ErrInvalidToken
	} else if err != nil {
		return nil, err
	}
	return t, nil
}

// bearerCredentials returns the token of a request's one Authorization
// header with the Bearer scheme.
func bearerCredentials(r *http.Request) (string, error) {
	headers := r.Header.Values("Authorization")
	switch len(headers) {
	case 0:
		return "", scopes.ErrMissingToken
	case 1:
	default:
		return "", scopes.ErrInvalidRequest
	}
	scheme, tok, _ := strings.Cut(headers[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", scopes.ErrMissingToken
	}
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", scopes.ErrInvalidRequest
	}
	return tok, nil
}

// isBearerRequest reports whether the request authenticates with a bearer
// token (rather than client credentials).
func isBearerRequest(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Bearer")
}

// writeBearerError answers a request whose bearer token was refused: the
// status and WWW-Authenticate challenge of the *scopes.AuthError (RFC 6750
// §3), and its code and description as JSON. Any other error is internal:
// logged, and answered server_error.
func (s *Server) writeBearerError(w http.ResponseWriter, err error) {
	var ae *scopes.AuthError
	if !errors.As(err, &ae) {
		s.writeError(w, err)
		return
	}
	status, _ := scopes.Challenge(w, ae)
	body := map[string]any{"error_description": ae.Description}
	if ae.Code != "" {
		body["error"] = ae.Code
	}
	writeJSON(w, status, nil, body)
}
