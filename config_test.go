package main

import (
	"strings"
	"testing"

	"github.com/assetgate/assetgate/internal/testsupport"
)

func TestBadConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name, variable, value string
	}{
		{"DatabaseScheme", "ASSETGATE_DATABASE_URL", "mysql://localhost/db"},
		{"DatabaseEmptySQLitePath", "ASSETGATE_DATABASE_URL", "sqlite:"},
		{"DatabasePostgresNoHost", "ASSETGATE_DATABASE_URL", "postgres:///nohost"},
		{"DatabaseBadURL", "ASSETGATE_DATABASE_URL", "postgres://a b:%zz@host/db"},
		{"RedisScheme", "ASSETGATE_REDIS_URL", "http://localhost:6379"},
		{"RedisBadPort", "ASSETGATE_REDIS_URL", "redis://localhost:notaport"},
		{"RedisSentinelNoMaster", "ASSETGATE_REDIS_URL", "redis+sentinel://localhost:26379"},
		{"Addr", "ASSETGATE_ADDR", "8080"},
		{"Issuer", "ASSETGATE_ISSUER", "localhost:8080"},
		{"SecretKeyShort", "ASSETGATE_SECRET_KEY", "too-short"},
		{"RefreshGrace", "ASSETGATE_REFRESH_GRACE", "soon"},
		{"DatabaseTimeout", "ASSETGATE_DATABASE_TIMEOUT", "soon"},
		{"DatabaseTimeoutZero", "ASSETGATE_DATABASE_TIMEOUT", "0s"},
		{"RedisTimeout", "ASSETGATE_REDIS_TIMEOUT", "1ms"},
		{"RedisTimeoutLong", "ASSETGATE_REDIS_TIMEOUT", "1h"},
		{"LogLevel", "ASSETGATE_LOG_LEVEL", "loud"},
		{"DebugAddr", "ASSETGATE_DEBUG_ADDR", "6060"},
		{"GraphQLIntrospection", "ASSETGATE_GRAPHQL_INTROSPECTION", "maybe"},
		{"PasswordHashConcurrency", "ASSETGATE_PASSWORD_HASH_CONCURRENCY", "many"},
		{"PasswordHashConcurrencyNegative", "ASSETGATE_PASSWORD_HASH_CONCURRENCY", "-2"},
		{"TrustedProxies", "ASSETGATE_TRUSTED_PROXIES", "10.0.0.0/33"},
		{"TrustedProxiesWord", "ASSETGATE_TRUSTED_PROXIES", "10.0.0.1, proxy.local"},
		{"RateLimitsName", "ASSETGATE_RATE_LIMITS", "tokens=5/1m"},
		{"RateLimitsQuota", "ASSETGATE_RATE_LIMITS", "token.client=5 per minute"},
		{"RateLimitsWindow", "ASSETGATE_RATE_LIMITS", "token.client=5/1ms"},
		{"RateLimitClientsID", "ASSETGATE_RATE_LIMIT_CLIENTS", "my-app token.client=5/1m"},
		{"RateLimitClientsEmpty", "ASSETGATE_RATE_LIMIT_CLIENTS", "5f0c1e2a-3b4c-4d5e-8f60-718293a4b5c6"},
		{"PasswordHashConcurrencyHuge", "ASSETGATE_PASSWORD_HASH_CONCURRENCY", "100000"},
		{"PasswordHashWait", "ASSETGATE_PASSWORD_HASH_WAIT", "a while"},
		{"PasswordHashWaitZero", "ASSETGATE_PASSWORD_HASH_WAIT", "0s"},
		{"LoginWindow", "ASSETGATE_LOGIN_WINDOW", "a quarter of an hour"},
		{"LoginWindowShort", "ASSETGATE_LOGIN_WINDOW", "1s"},
		{"LoginAccountWindowLong", "ASSETGATE_LOGIN_ACCOUNT_WINDOW", "720h"},
		{"LoginMaxDelayZero", "ASSETGATE_LOGIN_MAX_DELAY", "0s"},
		{"LoginPairMemoryBelowMaxDelay", "ASSETGATE_LOGIN_PAIR_MEMORY", "10m"},
		{"LoginKnownForShort", "ASSETGATE_LOGIN_KNOWN_FOR", "1m"},
		{"LoginMaxPerAddr", "ASSETGATE_LOGIN_MAX_FAILURES_PER_ADDR", "fifty"},
		{"LoginMaxPerAddrZero", "ASSETGATE_LOGIN_MAX_FAILURES_PER_ADDR", "0"},
		{"LoginFreePerPairNegative", "ASSETGATE_LOGIN_FREE_FAILURES_PER_PAIR", "-1"},
		{"LoginMaxPerAccountBelowFree", "ASSETGATE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3"},
		{"RetentionInterval", "ASSETGATE_RETENTION_INTERVAL", "hourly"},
		{"RetentionIntervalZero", "ASSETGATE_RETENTION_INTERVAL", "0s"},
		{"RetentionIntervalLong", "ASSETGATE_RETENTION_INTERVAL", "720h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testsupport.SQLiteEnv(t).With(tc.variable, tc.value)
			for _, cmd := range [][]string{{"serve"}, {"migrate"}} {
				r := runMain(t, env, cmd...)
				if r.code != 2 {
					t.Fatalf("%v: exit %d, want 2 (err %v)", cmd, r.code, r.err)
				}
				lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], tc.variable) {
					t.Fatalf("%v: stderr %q: want one line naming %s", cmd, r.stderr, tc.variable)
				}
				if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
					t.Fatalf("stack trace in stderr: %s", r.stderr)
				}
			}
		})
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	env := testsupport.SQLiteEnv(t).With("ASSETGATE_DATABASE_URL", "mysql://nope")
	good := testsupport.SQLiteEnv(t)["ASSETGATE_DATABASE_URL"]
	r := runMain(t, env, "migrate", "--database-url", good, "--json")
	if r.err != nil {
		t.Fatalf("flag did not override the environment: %v\\n%s", r.err, r.stderr)
	}
}

// TestMetricsAddrSetEmptyIsOff: ASSETGATE_METRICS_ADDR set to the empty
// string turns the metrics listener off; unset, it is the default.
func TestMetricsAddrSetEmptyIsOff(t *testing.T) {
	if got := getenvOf(lookupIn(map[string]string{"ASSETGATE_METRICS_ADDR": ""}), "ASSETGATE_METRICS_ADDR"); got != metricsOff {
		t.Fatalf("ASSETGATE_METRICS_ADDR set empty reads %q, want %q", got, metricsOff)
	}
	if got := getenvOf(lookupIn(map[string]string{}), "ASSETGATE_METRICS_ADDR"); got != "" {
		t.Fatalf("ASSETGATE_METRICS_ADDR unset reads %q, want empty (the default)", got)
	}
}

// lookupIn is os.LookupEnv on a map.
func lookupIn(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}
