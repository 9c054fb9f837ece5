package main

import (
	"strings"
	"testing"

	"github.com/assetgate/assetgate/internal/testsupport"
)

// TestCLIUsage checks the argument handling of run(): a missing or unknown
// command, a missing or unknown flag are usage mistakes, exit code 2 with
// the reason on stderr.
func TestCLIUsage(t *testing.T) {
	env := testsupport.SQLiteEnv(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"NoCommand", nil, "no command"},
		{"UnknownCommand", []string{"frobnicate"}, "unknown command"},
		{"MissingFlag", []string{"customer", "create"}, "--name is required"},
		{"RetentionTooShort", []string{"customer", "create", "--name", "A", "--event-retention-days", "0"}, "--event-retention-days must be 1 to"},
		{"UpdateWithoutID", []string{"customer", "update", "--event-retention-days", "7"}, "the customer ID is required"},
		{"UpdateWithoutRetention", []string{"customer", "update", "0190a3c4-0000-7000-8000-000000000000"}, "--event-retention-days is required"},
		{"UnknownFlag", []string{"migrate", "--nope"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runMain(t, env, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("code %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}
