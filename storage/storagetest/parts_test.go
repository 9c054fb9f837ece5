package storagetest

import (
	"fmt"
	"slices"
	"testing"
)

// logRecorder is a testing.TB that keeps what is logged.
type logRecorder struct {
	testing.TB
	logs []string
}

func (r *logRecorder) Helper()         {}
func (r *logRecorder) Log(args ...any) { r.logs = append(r.logs, fmt.Sprint(args...)) }

func TestRequireEnvLogsRealPart(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		want      []string
	}{
		{"PostgreSQL", DatabaseURLEnv, []string{"real part: PostgreSQL"}},
		{"Redis", RedisURLEnv, []string{"real part: Redis"}},
		{"OtherVariable", "ASSETGATE_TEST_SOMETHING_ELSE", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.env, "value")
			r := &logRecorder{TB: t}
			if v := RequireEnv(r, tc.env); v != "value" {
				t.Fatalf("RequireEnv = %q", v)
			}
			if !slices.Equal(r.logs, tc.want) {
				t.Fatalf("logged %q, want %q", r.logs, tc.want)
			}
		})
	}
	t.Run("SQLite", func(t *testing.T) {
		r := &logRecorder{TB: t}
		SQLiteURL(r)
		if !slices.Equal(r.logs, []string{"real part: SQLite"}) {
			t.Fatalf("logged %q", r.logs)
		}
	})
}
