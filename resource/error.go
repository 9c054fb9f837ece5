package resource

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Every error a service returns carries one of them; each
// transport maps a code to its own status in exactly one place.
const (
	ENotFound        = "NotFound"
	EInvalid         = "Invalid"
	EConflict        = "Conflict"
	EUnauthenticated = "Unauthenticated"
	EForbidden       = "Forbidden"
	EInternal        = "Internal"
	// ERateLimited refuses an attempt past a limit (too many failed
	// logins or password checks); Error.RetryAfter says when to retry.
	ERateLimited = "RateLimited"
	// EUnavailable refuses work the server has no capacity for right now
	// (every password hashing slot busy for too long); Error.RetryAfter
	// says when to retry.
	EUnavailable = "Unavailable"
)

// Error is an error meant for the client: Code says what kind it is, Message
// is safe to show, and Field names the offending input attribute (if any) so a
// transport can point at it (JSON:API source.pointer, GraphQL field path).
type Error struct {
	Code    string
	Message string
	Field   string
	// RetryAfter, when positive, is how long the client should wait
	// before trying again (ERateLimited, EUnavailable); transports send
	// it as a Retry-After header or its equivalent.
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns an EInvalid *Error that points at field.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: "" for nil, the code of a wrapped *Error,
// and EInternal for anything else.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err. Errors that are not an
// *Error are internal: their text is for the log only, so a generic message
// is returned instead.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorField returns the input field an *Error points at, or "".
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ErrorRetryAfter returns the RetryAfter of an *Error, or 0.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// RetryAfterSeconds returns d in whole seconds for a Retry-After header:
// rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
