// Package testsupport holds the helpers that tests of several packages
// share and that belong to no layer: a log buffer safe for concurrent
// writers, the skip-or-fail rule for missing tools, a headless Chromium,
// and name conversions. Only tests import it.
package testsupport

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers:
// tests give it to a logger and read what was logged.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// RequireTool skips the test when the program at path (a file name looked
// up in PATH, or an absolute path) is missing, and fails it instead when
// CI=true: CI must run every test. hint says how to install it.
func RequireTool(tb testing.TB, path, hint string) {
	tb.Helper()
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is missing: CI must run this test (%s)", path, hint)
		}
		tb.Skipf("%s is missing (%s)", path, hint)
	}
}

// SnakeCase turns camelCase into snake_case ("deviceId" is "device_id"):
// the tests compare GraphQL names with the JSON:API and resource names.
func SnakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
