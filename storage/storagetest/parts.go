package storagetest

import "testing"

// RealPartMarker starts the line that LogRealPart logs. scripts/testsummary
// (the summary of make test) counts the tests that logged each part.
const RealPartMarker = "real part: "

// Names of the real parts that tests use, as the summary of make test
// reports them.
const (
	PartSQLite     = "SQLite"
	PartPostgreSQL = "PostgreSQL"
	PartRedis      = "Redis"
	PartChromium   = "Chromium"
)

// LogRealPart logs that the test uses a real part (a database server,
// Redis, a browser), in the one form the summary of make test counts.
// The helpers that hand out real parts call it; a test that starts one
// by itself calls it once the part answers.
func LogRealPart(tb testing.TB, part string) {
	tb.Helper()
	tb.Log(RealPartMarker + part)
}

// envPart names the real part a variable of RequireEnv points at, or ""
// for another variable.
func envPart(name string) string {
	switch name {
	case DatabaseURLEnv:
		return PartPostgreSQL
	case RedisURLEnv:
		return PartRedis
	}
	return ""
}
