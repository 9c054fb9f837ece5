package resource

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

// TestConnectionLossIsUnavailable: a store that refuses or drops the
// connection is EUnavailable (503 with Retry-After), as a time-out is;
// other errors stay internal.
func TestConnectionLossIsUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for name, err := range map[string]error{
		"refused dial":    fmt.Errorf("connect to redis: %w", refused),
		"reset":           fmt.Errorf("read: %w", syscall.ECONNRESET),
		"bad connection":  fmt.Errorf("query: %w", driver.ErrBadConn),
		"unexpected EOF":  fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF),
		"closed conn":     fmt.Errorf("write: %w", net.ErrClosed),
		"read op failure": &net.OpError{Op: "read", Net: "tcp", Err: errors.New("broken")},
	} {
		if got := ErrorCode(err); got != EUnavailable {
			t.Errorf("%s: ErrorCode = %s, want %s", name, got, EUnavailable)
		}
		if ErrorMessage(err) != unavailableMessage {
			t.Errorf("%s: message %q leaks or is not the unavailable one", name, ErrorMessage(err))
		}
	}
	if got := ErrorCode(errors.New("syntax error at or near")); got != EInternal {
		t.Errorf("a failed statement: %s, want %s", got, EInternal)
	}
}
