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
