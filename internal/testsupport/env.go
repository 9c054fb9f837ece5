package testsupport

import (
	"path/filepath"
	"testing"

	"github.com/assetgate/assetgate/storage/storagetest"
)

// Env is a set of ASSETGATE_* environment variables for one run of the
// program: the end-to-end tests give it to the built binary, the root's
// tests to run() in-process.
type Env map[string]string

// Get returns the value of name, "" when it is not set (the getenv the
// program's configuration reads).
func (e Env) Get(name string) string { return e[name] }

// With returns a copy of e with more variables set, given as name, value
// pairs.
func (e Env) With(kv ...string) Env {
	out := Env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// BaseEnv returns an environment with a temporary key file, no database
// and no Redis, listening on a free loopback port, logging warnings only.
func BaseEnv(t *testing.T) Env {
	t.Helper()
	return Env{
		"ASSETGATE_ADDR":            "127.0.0.1:0",
		"ASSETGATE_SECRET_KEY_FILE": filepath.Join(t.TempDir(), "secret.key"),
		"ASSETGATE_LOG_LEVEL":       "warn",
		// Tests that scrape metrics give a free port of their own.
		"ASSETGATE_METRICS_ADDR": "off",
	}
}

// SQLiteEnv returns BaseEnv with a temporary SQLite file.
func SQLiteEnv(t *testing.T) Env {
	t.Helper()
	return BaseEnv(t).With("ASSETGATE_DATABASE_URL", storagetest.SQLiteURL(t))
}

// PostgresEnv returns BaseEnv with a throw-away PostgreSQL database
// (skipped without ASSETGATE_TEST_DATABASE_URL, failed in CI).
func PostgresEnv(t *testing.T) Env {
	t.Helper()
	return BaseEnv(t).With("ASSETGATE_DATABASE_URL", storagetest.PostgresURL(t))
}
