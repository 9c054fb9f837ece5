package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	liberrors "github.com/go-oauth2/oauth2/v4/errors"

	"github.com/assetgate/assetgate/resource"
)

// OAuth error codes (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1).
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidClient           = "invalid_client"
	CodeInvalidGrant            = "invalid_grant"
	CodeUnauthorizedClient      = "unauthorized_client"
	CodeUnsupportedGrantType    = "unsupported_grant_type"
	CodeInvalidScope            = "invalid_scope"
	CodeAccessDenied            = "access_denied"
	CodeUnsupportedResponseType = "unsupported_response_type"
	CodeServerError             = "server_error"
	CodeTemporarilyUnavailable  = "temporarily_unavailable"
	// OpenID Connect Core 1.0 §3.1.2.6: errors of an authorization request
	// that cannot go on without the user.
	CodeLoginRequired          = "login_required"
	CodeConsentRequired        = "consent_required"
	CodeRequestNotSupported    = "request_not_supported"
	CodeRequestURINotSupported = "request_uri_not_supported"
)

// statusOf is the one table of HTTP statuses of OAuth errors at the token
// endpoint (RFC 6749 §5.2: 400, except invalid_client which is 401).
var statusOf = map[string]int{
	CodeInvalidRequest:          http.StatusBadRequest,
	CodeInvalidClient:           http.StatusUnauthorized,
	CodeInvalidGrant:            http.StatusBadRequest,
	CodeUnauthorizedClient:      http.StatusBadRequest,
	CodeUnsupportedGrantType:    http.StatusBadRequest,
	CodeInvalidScope:            http.StatusBadRequest,
	CodeAccessDenied:            http.StatusForbidden,
	CodeUnsupportedResponseType: http.StatusBadRequest,
	CodeServerError:             http.StatusInternalServerError,
	CodeTemporarilyUnavailable:  http.StatusServiceUnavailable,
	CodeLoginRequired:           http.StatusBadRequest,
	CodeConsentRequired:         http.StatusBadRequest,
	CodeRequestNotSupported:     http.StatusBadRequest,
	CodeRequestURINotSupported:  http.StatusBadRequest,
}

// Error is an OAuth error as the client sees it: one of the RFC 6749 codes,
// a description safe to show, and the HTTP status of its code.
type Error struct {
	Code        string
	Description string
	Status      int
	// RetryAfter, when set, is sent as a Retry-After header (throttling).
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Code + ": " + e.Description }

func newError(code, format string, args ...any) *Error {
	status, ok := statusOf[code]
	if !ok {
		code, status = CodeServerError, http.StatusInternalServerError
	}
	return &Error{Code: code, Description: fmt.Sprintf(format, args...), Status: status}
}

func errInvalidRequest(format string, args ...any) *Error {
	return newError(CodeInvalidRequest, format, args...)
}
func errInvalidClient(format string, args ...any) *Error {
	return newError(CodeInvalidClient, format, args...)
}
func errInvalidGrant(format string, args ...any) *Error {
	return newError(CodeInvalidGrant, format, args...)
}
func errUnauthorizedClient(format string, args ...any) *Error {
	return newError(CodeUnauthorizedClient, format, args...)
}
func errUnsupportedGrantType(format string, args ...any) *Error {
	return newError(CodeUnsupportedGrantType, format, args...)
}
func errInvalidScope(format string, args ...any) *Error {
	return newError(CodeInvalidScope, format, args...)
}
func errAccessDenied(format string, args ...any) *Error {
	return newError(CodeAccessDenied, format, args...)
}
func errUnsupportedResponseType(format string, args ...any) *Error {
	return newError(CodeUnsupportedResponseType, format, args...)
}
func errServer() *Error {
	return newError(CodeServerError, "The server could not handle the request.")
}

// errThrottled is the error of a login refused because of too many failed
// attempts: invalid_grant with HTTP 429 and Retry-After.
func errThrottled(retry time.Duration) *Error {
	e := errInvalidGrant("Too many failed logins; try again later.")
	e.Status, e.RetryAfter = http.StatusTooManyRequests, retry
	return e
}

// errUnavailable is the error of a request the server cannot serve right
// now (every password hashing slot busy, or a store that did not answer in
// time): temporarily_unavailable with HTTP 503 and Retry-After.
func errUnavailable(description string, retry time.Duration) *Error {
	e := newError(CodeTemporarilyUnavailable, "%s", description)
	e.RetryAfter = retry
	return e
}

// header returns the headers an error response carries besides the body:
// WWW-Authenticate for invalid_client (RFC 6749 §5.2), Retry-After when
// throttled.
func (e *Error) header() http.Header {
	h := http.Header{}
	if e.Code == CodeInvalidClient {
		h.Set("WWW-Authenticate", `Basic realm="assetgate", charset="UTF-8"`)
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(resource.RetryAfterSeconds(e.RetryAfter)))
	}
	return h
}

// body returns the JSON object of the error (RFC 6749 §5.2).
func (e *Error) body() map[string]any {
	b := map[string]any{"error": e.Code}
	if e.Description != "" {
		b["error_description"] = e.Description
	}
	return b
}

// asError turns any error into the *Error a client may see. An *Error is
// kept; a resource error becomes its closest OAuth error (EUnavailable, or
// a store's time-out, is temporarily_unavailable, logged as a warning);
// anything else is logged with its cause and becomes server_error.
func (s *Server) asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch resource.ErrorCode(err) {
	case resource.EUnauthenticated:
		return errInvalidGrant("%s", resource.ErrorMessage(err))
	case resource.ENotFound:
		return errInvalidGrant("The grant is invalid, expired or revoked.")
	case resource.EInvalid:
		return errInvalidRequest("%s", resource.ErrorMessage(err))
	case resource.ERateLimited:
		return errThrottled(resource.ErrorRetryAfter(err))
	case resource.EUnavailable:
		s.log.Warn("oauth: service unavailable", "err", err)
		return errUnavailable(resource.ErrorMessage(err), resource.ErrorRetryAfter(err))
	}
	s.log.Error("oauth: internal error", "err", err)
	return errServer()
}

// writeJSON is the one function that writes token endpoint responses,
// successful or not: JSON, never cached (RFC 6749 §5.1).
func writeJSON(w http.ResponseWriter, status int, header http.Header, body any) {
	h := w.Header()
	for k, v := range header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// writeError writes err as an OAuth error response.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	e := s.asError(err)
	writeJSON(w, e.Status, e.header(), e.body())
}

// libraryError maps one of go-oauth2's error values to an *Error with the
// status RFC 6749 gives it; go-oauth2 itself answers invalid_grant,
// unauthorized_client and unsupported_grant_type with 401 (defect 6).
func libraryError(err error, description string) *Error {
	if err == nil {
		return errServer()
	}
	code := err.Error()
	switch err {
	case liberrors.ErrInvalidAuthorizeCode, liberrors.ErrInvalidCodeChallenge, liberrors.ErrMissingCodeChallenge,
		liberrors.ErrMissingCodeVerifier, liberrors.ErrInvalidRefreshToken, liberrors.ErrExpiredRefreshToken:
		code, description = CodeInvalidGrant, ""
	case liberrors.ErrInvalidRedirectURI:
		code, description = CodeInvalidGrant, ""
	}
	if _, ok := statusOf[code]; !ok {
		return errServer()
	}
	if description == "" {
		description = liberrors.Descriptions[err]
	}
	return newError(code, "%s", description)
}
