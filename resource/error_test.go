package resource_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/assetgate/assetgate/resource"
)

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		code    string
		message string
	}{
		{"Nil", nil, "", ""},
		{"Error", resource.Errorf(resource.ENotFound, "gone"), resource.ENotFound, "gone"},
		{"Wrapped", fmt.Errorf("find: %w", resource.Errorf(resource.EConflict, "dup")), resource.EConflict, "dup"},
		{"Unavailable", resource.Errorf(resource.EUnavailable, "busy"), resource.EUnavailable, "busy"},
		{"Deadline", fmt.Errorf("query at 10.0.0.7: %w", context.DeadlineExceeded), resource.EUnavailable, "The service is temporarily unavailable; try again shortly."},
		{"NetTimeout", fmt.Errorf("read tcp 10.0.0.7: %w", os.ErrDeadlineExceeded), resource.EUnavailable, "The service is temporarily unavailable; try again shortly."},
		// A client that went away is not the service's unavailability.
		{"Canceled", fmt.Errorf("query: %w", context.Canceled), resource.EInternal, "Internal error."},
		{"Other", errors.New("disk at 10.0.0.7 full"), resource.EInternal, "Internal error."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resource.ErrorCode(tc.err); got != tc.code {
				t.Errorf("ErrorCode = %q, want %q", got, tc.code)
			}
			if got := resource.ErrorMessage(tc.err); got != tc.message {
				t.Errorf("ErrorMessage = %q, want %q", got, tc.message)
			}
		})
	}
}
