package resource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/assetgate/assetgate/scopes"
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
	// logins or password checks, too many open streams); Error.RetryAfter
	// says when to retry.
	ERateLimited = "RateLimited"
	// EUnavailable is a request the service cannot serve right now but
	// may later: every password hashing slot stayed busy too long, or a
	// store did not answer within its deadline. Transports answer 503 with
	// Retry-After (Error.RetryAfter, or UnavailableRetryAfter).
	EUnavailable = "Unavailable"
)

// UnavailableRetryAfter is how long a transport asks a client to wait
// (Retry-After) before it repeats a request refused with EUnavailable.
const UnavailableRetryAfter = 2 * time.Second

// unavailableMessage is what a client is told of a store's time-out.
const unavailableMessage = "The service is temporarily unavailable; try again shortly."

// Error is an error meant for the client: Code says what kind it is, Message
// is safe to show, and Field names the offending input attribute (if any) so a
// transport can point at it (JSON:API source.pointer, GraphQL field path).
type Error struct {
	Code    string
	Message string
	Field   string
	// Operation, on an EForbidden error, is the operation the principal
	// may not perform (a transport names its scope in a challenge); ""
	// when the error does not say.
	Operation scopes.Operation
	// RetryAfter, when positive, is how long the client should wait
	// before trying again (ERateLimited, EUnavailable); transports send
	// it as a Retry-After header or its equivalent.
	RetryAfter time.Duration
	// Limits, on an ERateLimited error of a rate limit, are the state of
	// the quotas the request was counted on, for the RateLimit and
	// RateLimit-Policy headers (see RateHeaders).
	Limits []RateDecision
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errors is every invalid attribute of one input, each an EInvalid *Error
// with its Field, in the order the input was checked. Transports answer
// every one of them; a caller that shows one error (the CLI, OAuth) sees
// the first: errors.As finds it, and ErrorCode, ErrorMessage and
// ErrorField report it. Services never return an Errors of one element:
// a single invalid attribute is that *Error.
type Errors []*Error

// Error implements the error interface: the errors, one per line.
func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the errors, for errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// invalids collects the EInvalid errors of one input's checks.
type invalids struct{ errs Errors }

// add records err when it is EInvalid (an *Error or an Errors) and
// returns nil; any other error (a store's, ENotFound...) is returned for
// the caller to stop with.
func (v *invalids) add(err error) error {
	var es Errors
	var e *Error
	switch {
	case err == nil:
	case errors.As(err, &es) && len(es) > 0:
		v.errs = append(v.errs, es...)
	case errors.As(err, &e) && e.Code == EInvalid:
		v.errs = append(v.errs, e)
	default:
		return err
	}
	return nil
}

// err returns what was collected: nil, the one *Error, or Errors.
func (v *invalids) err() error {
	switch len(v.errs) {
	case 0:
		return nil
	case 1:
		return v.errs[0]
	}
	return v.errs
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns an EInvalid *Error that points at field.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// at returns e pointing at field.
func (e *Error) at(field string) *Error {
	e.Field = field
	return e
}

// ErrorCode returns the code of err: "" for nil, the code of a wrapped *Error,
// EUnavailable for a time-out (see IsTimeout), and EInternal for anything
// else.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if IsTimeout(err) || IsConnectionLost(err) {
		return EUnavailable
	}
	return EInternal
}

// IsConnectionLost reports whether err says a store could not be reached
// or dropped the connection: a refused or reset connection, a dial that
// failed, a connection closed under a statement or a command (EOF: store
// calls do not read streams that end). Like a
// time-out, the request may succeed when repeated once the store is back,
// so it is EUnavailable (503 with Retry-After), not an internal error.
func IsConnectionLost(err error) bool {
	for _, target := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, driver.ErrBadConn, sql.ErrConnDone, io.EOF, io.ErrUnexpectedEOF, net.ErrClosed} {
		if errors.Is(err, target) {
			return true
		}
	}
	var op *net.OpError
	return errors.As(err, &op) && (op.Op == "dial" || op.Op == "read" || op.Op == "write")
}

// IsTimeout reports whether err is, or wraps, a time-out: the deadline of a
// context (context.DeadlineExceeded) or a network time-out (a net.Error
// whose Timeout method says so). Stores bound every call with a deadline
// (ASSETGATE_DATABASE_TIMEOUT, ASSETGATE_REDIS_TIMEOUT), so a time-out
// coming out of one means the store did not answer in time: the request
// may succeed when repeated. A client that went away is a cancellation
// (context.Canceled), not a time-out.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ErrorMessage returns the client-safe message of err. Errors that are not an
// *Error are internal: their text is for the log only, so a generic message
// is returned instead (one that says to try again for a time-out).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if IsTimeout(err) || IsConnectionLost(err) {
		return unavailableMessage
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

// ErrorRetryAfter returns how long the client should wait before it tries
// again: the RetryAfter of an *Error, UnavailableRetryAfter for any other
// EUnavailable error (a store's time-out), or 0.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter
	}
	if ErrorCode(err) == EUnavailable {
		return UnavailableRetryAfter
	}
	return 0
}

// RetryAfterSeconds returns d in whole seconds for a Retry-After header:
// rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
