package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/assetgate/assetgate/internal/testsupport"
)

// TestGraphQLConfiguration checks the two GraphQL settings end to end:
// introspection off, and the trusted documents mode.
func TestGraphQLConfiguration(t *testing.T) {
	const introspect = `{ __schema { queryType { name } } }`
	t.Run("IntrospectionOff", func(t *testing.T) {
		ts := startServer(t, testsupport.SQLiteEnv(t).With("ASSETGATE_GRAPHQL_INTROSPECTION", "false"), "--demo", "--json")
		token := demoAppToken(t, ts)
		got := sendGraphQL(t, ts.URL, token, introspect)
		if got["data"] != nil || got["errors"] == nil {
			t.Fatalf("introspection answered while off: %v", got)
		}
		if got := sendGraphQL(t, ts.URL, token, `{ devices(first: 1) { totalCount } }`); got["errors"] != nil {
			t.Fatalf("an ordinary query failed: %v", got)
		}
	})
	t.Run("TrustedDocuments", func(t *testing.T) {
		dir := t.TempDir()
		const trusted = `{ devices(first: 1) { totalCount } }`
		if err := os.WriteFile(filepath.Join(dir, "devices.graphql"), []byte(trusted), 0o644); err != nil {
			t.Fatal(err)
		}
		ts := startServer(t, testsupport.SQLiteEnv(t).With("ASSETGATE_GRAPHQL_TRUSTED_DOCUMENTS", dir), "--demo", "--json")
		token := demoAppToken(t, ts)
		if got := sendGraphQL(t, ts.URL, token, trusted); got["errors"] != nil {
			t.Fatalf("the trusted document failed: %v", got)
		}
		if got := sendGraphQL(t, ts.URL, token, `{ devices(first: 2) { totalCount } }`); got["errors"] == nil {
			t.Fatalf("an untrusted document ran: %v", got)
		}
	})
	t.Run("ErrEmptyTrustedFolder", func(t *testing.T) {
		r := runCLI(t, testsupport.SQLiteEnv(t).With("ASSETGATE_GRAPHQL_TRUSTED_DOCUMENTS", t.TempDir()), "", "serve")
		if r.code != 2 {
			t.Fatalf("exit %d, want 2: %s", r.code, r.stderr)
		}
	})
}

// demoAppToken returns an app token of the demo backend application.
func demoAppToken(t *testing.T, ts *testServer) string {
	t.Helper()
	demo := parseDemo(t, ts)
	tok := postForm(t, ts.URL+"/oauth/token", demo.ClientID+":"+demo.ClientSecret,
		map[string][]string{"grant_type": {"client_credentials"}, "scope": {"app basic"}}, http.StatusOK)
	return tok["access_token"].(string)
}
