package jsonapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// This file is the one place that turns an error into a status and a
// JSON:API error object. The rule for resource.EInvalid:
//
//   - a Field that names a query parameter (include, sort, fields[..],
//     filter[..], page[..]) is a malformed request: 400 with
//     source.parameter;
//   - any other Field is an attribute or relationship of the request body
//     that fails the domain's rules: 422 with source.pointer (a relationship
//     name points at /data/relationships/NAME, "a.b" at
//     /data/attributes/a/b);
//   - no Field: 422 without a source.
//
// A resource.Errors (several invalid attributes of one input) is one error
// object per attribute, each by the rule above, with their status when
// they agree and 400 when they do not.
//
// Bodies that cannot be read as the expected document at all (syntax, wrong
// types, unknown or read-only members) never reach a service: the decoder
// returns an *apiError with status 400 and a pointer. ENotFound is 404,
// EConflict 409, EUnauthenticated 401 with a Bearer challenge, EForbidden
// 403 (with an insufficient_scope challenge when the principal lacks a
// scope the route needs; with a pointer when Field is set, as for a wrong
// old_password), ERateLimited 429 with Retry-After. EUnavailable, and a
// time-out of a store (see resource.IsTimeout), is 503 with Retry-After,
// logged as a warning. Anything else is 500 with a generic detail; the
// cause goes to the log only.

// apiError is an error the transport itself raises (negotiation, query
// parsing, body decoding), already carrying its status and source.
type apiError struct {
	Status int
	Code   string
	Detail string
	// Pointer, Parameter and Header locate the problem; at most one is set.
	Pointer   *string
	Parameter string
	Header    string
}

// Error implements the error interface.
func (e *apiError) Error() string { return e.Code + ": " + e.Detail }

// badParameter returns a 400 error pointing at a query parameter.
func badParameter(param, detail string) error {
	return &apiError{Status: http.StatusBadRequest, Code: resource.EInvalid, Parameter: param, Detail: detail}
}

// badBody returns a 400 error pointing into the request document.
func badBody(pointer, detail string) error {
	return &apiError{Status: http.StatusBadRequest, Code: resource.EInvalid, Pointer: &pointer, Detail: detail}
}

// errorObject is a JSON:API error object: the library's, which has no
// source member, plus one.
type errorObject struct {
	jsonapi.ErrorObject
	Source *errorSource `json:"source,omitempty"`
}

// errorSource locates the cause of an error in the request.
type errorSource struct {
	Pointer   *string `json:"pointer,omitempty"`
	Parameter string  `json:"parameter,omitempty"`
	Header    string  `json:"header,omitempty"`
}

// errorDocument is a JSON:API document carrying errors.
type errorDocument struct {
	Errors  []errorObject  `json:"errors"`
	JSONAPI *jsonapiObject `json:"jsonapi,omitempty"`
}

// isQueryParameter reports whether a resource.Error field is the neutral
// path of a query part (resource.PathSort, "filter.radiusLte"...).
func isQueryParameter(field string) bool {
	return field == resource.PathInclude || field == resource.PathSort || field == resource.PathInterval ||
		strings.HasPrefix(field, resource.PathFilterPrefix) || strings.HasPrefix(field, "page.")
}

// queryParameter renders the neutral path of a query part as the query
// parameter that carries it: "filter.radiusLte" is filter[radius_lte],
// "page.size" page[size].
func queryParameter(field string) string {
	if key, ok := resource.IsAttributeFilterPath(field); ok {
		return "filter[" + resource.DeviceFilterAttributes + "." + key + "]"
	}
	family, member, ok := strings.Cut(field, ".")
	if !ok {
		return field
	}
	var b strings.Builder
	for _, r := range member {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return family + "[" + b.String() + "]"
}

// mapped is what the mapper makes of an error.
type mapped struct {
	status int
	object errorObject
	// more are the objects after object, for a resource.Errors: one per
	// invalid attribute.
	more       []errorObject
	challenge  error         // an *scopes.AuthError for WWW-Authenticate, or nil
	internal   bool          // the cause must be logged
	retryAfter time.Duration // sent as Retry-After when positive
	// unavailable is a 503: the cause is logged as a warning.
	unavailable bool
}

// mapError turns err into a status, an error object and a challenge. rt
// says how body fields map to pointers and which operations the route
// performs (for insufficient_scope).
func mapError(r *http.Request, rt *route, err error) mapped {
	var ae *apiError
	var authErr *scopes.AuthError
	var re *resource.Error
	var tooLarge *http.MaxBytesError
	var many resource.Errors
	switch {
	case errors.As(err, &ae):
		m := mapped{status: ae.Status}
		m.object = newErrorObject(ae.Status, ae.Code, ae.Detail)
		if ae.Pointer != nil || ae.Parameter != "" || ae.Header != "" {
			m.object.Source = &errorSource{Pointer: ae.Pointer, Parameter: ae.Parameter, Header: ae.Header}
		}
		return m
	case errors.As(err, &authErr):
		code := authErr.Code
		if code == "" {
			code = resource.EUnauthenticated
		}
		return mapped{status: authErr.Status, object: newErrorObject(authErr.Status, code, authErr.Description), challenge: authErr}
	case errors.As(err, &tooLarge):
		return mapped{status: http.StatusRequestEntityTooLarge,
			object: newErrorObject(http.StatusRequestEntityTooLarge, resource.EInvalid, "the request body is too large")}
	case errors.As(err, &many) && len(many) > 1:
		return mapResourceErrors(r, rt, many)
	case errors.As(err, &re):
		return mapResourceError(r, rt, re, err)
	case resource.ErrorCode(err) == resource.EUnavailable:
		return unavailableError(err)
	}
	return internalError()
}

// mapResourceError maps a service error by its code (see the rule above).
func mapResourceError(r *http.Request, rt *route, re *resource.Error, err error) mapped {
	var m mapped
	switch re.Code {
	case resource.EInvalid:
		m.status = http.StatusUnprocessableEntity
		if isQueryParameter(re.Field) {
			m.status = http.StatusBadRequest
		}
	case resource.ENotFound:
		m.status = http.StatusNotFound
	case resource.EConflict:
		m.status = http.StatusConflict
	case resource.EUnauthenticated:
		m.status = http.StatusUnauthorized
		m.challenge = scopes.ErrMissingToken
		if _, ok := scopes.FromContext(r.Context()); ok {
			m.challenge = scopes.ErrInvalidToken
		}
	case resource.EForbidden:
		m.status = http.StatusForbidden
		if re.Field == "" {
			m.challenge = missingScope(r, rt, err)
		}
	case resource.ERateLimited:
		m.status, m.retryAfter = http.StatusTooManyRequests, re.RetryAfter
	case resource.EDeviceOffline:
		m.status = http.StatusConflict
	case resource.EGatewayTimeout:
		m.status = http.StatusGatewayTimeout
	case resource.EUnavailable:
		return unavailableError(err)
	default:
		return internalError()
	}
	m.object = newErrorObject(m.status, re.Code, re.Message)
	switch {
	case re.Field == "":
	case isQueryParameter(re.Field):
		m.object.Source = &errorSource{Parameter: queryParameter(re.Field)}
	case rt != nil && rt.pointer != nil:
		if p, ok := rt.pointer(re.Field); ok {
			m.object.Source = &errorSource{Pointer: &p}
		}
	}
	return m
}

// mapResourceErrors maps every invalid attribute of a resource.Errors to
// its own error object, each as mapResourceError would on its own. The
// status is theirs when they agree (422 for attributes, 400 for query
// parameters) and 400 when they do not, the most general one (JSON:API).
func mapResourceErrors(r *http.Request, rt *route, es resource.Errors) mapped {
	m := mapResourceError(r, rt, es[0], es[0])
	for _, e := range es[1:] {
		o := mapResourceError(r, rt, e, e)
		if o.status != m.status {
			m.status = http.StatusBadRequest
		}
		m.more = append(m.more, o.object)
	}
	return m
}

// missingScope returns the insufficient_scope challenge for the first
// operation of the route, or else the operation the service says it was
// refused (resource.Error.Operation: a device list with include=group also
// reads groups), that the principal may not perform, or nil.
func missingScope(r *http.Request, rt *route, err error) error {
	var ops []scopes.Operation
	if rt != nil {
		ops = append(ops, rt.ops...)
	}
	var re *resource.Error
	if errors.As(err, &re) && re.Operation != "" {
		ops = append(ops, re.Operation)
	}
	p, _ := scopes.FromContext(r.Context())
	for _, op := range ops {
		if !scopes.Allowed(p, op) {
			return scopes.InsufficientScope(op)
		}
	}
	return nil
}

// unavailableError is the 503 of a request the service cannot serve now.
func unavailableError(err error) mapped {
	return mapped{status: http.StatusServiceUnavailable, unavailable: true, retryAfter: resource.ErrorRetryAfter(err),
		object: newErrorObject(http.StatusServiceUnavailable, resource.EUnavailable, resource.ErrorMessage(err))}
}

func internalError() mapped {
	return mapped{status: http.StatusInternalServerError, internal: true,
		object: newErrorObject(http.StatusInternalServerError, resource.EInternal, "The server could not complete the request.")}
}

func newErrorObject(status int, code, detail string) errorObject {
	return errorObject{ErrorObject: jsonapi.ErrorObject{
		Status: strconv.Itoa(status), Code: code, Title: http.StatusText(status), Detail: detail,
	}}
}

// writeError writes err as a JSON:API error document; internal causes go
// to the log, never to the client.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, rt *route, err error) {
	m := mapError(r, rt, err)
	switch {
	case m.internal:
		a.log.ErrorContext(r.Context(), "jsonapi: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case m.unavailable:
		a.log.WarnContext(r.Context(), "jsonapi: service unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if m.challenge != nil {
		scopes.Challenge(w, m.challenge)
	}
	if m.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(resource.RetryAfterSeconds(m.retryAfter)))
	}
	a.deps.Metrics.JSONAPIError(m.object.Code)
	writeDocument(w, m.status, &errorDocument{Errors: append([]errorObject{m.object}, m.more...), JSONAPI: version()})
}

// unauthorized renders a refusal of the bearer middleware (its onError):
// an *scopes.AuthError becomes a JSON:API error with its status and
// WWW-Authenticate challenge; a token store that did not answer in time
// is 503 with Retry-After; any other error is an internal failure of the
// token look-up, logged and answered with 500.
func (a *API) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	a.writeError(w, r, nil, err)
}

// writeDocument writes v as a JSON:API response.
func writeDocument(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // links keep their '&'
	err := enc.Encode(v)
	body := buf.Bytes()
	if err != nil {
		// Presenters only hold JSON-safe values; reaching this is a bug.
		status = http.StatusInternalServerError
		body = []byte(`{"errors":[{"status":"500","code":"Internal","title":"Internal Server Error"}]}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", MediaType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
