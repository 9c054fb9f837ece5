package graph_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/storage"
)

// TestLimits sends operations past each limit: each is refused before it
// runs (not one SQL statement), with its code; operations within the
// limits run.
func TestLimits(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{})
	me := e.me(e.a)
	refused := func(t *testing.T, query, code string) gqlError {
		t.Helper()
		before := e.queries.Load()
		r := e.query(t, me, query, nil)
		err := r.fails(t, code)
		if n := e.queries.Load() - before; n != 0 {
			t.Fatalf("a refused operation ran %d SQL statements", n)
		}
		if r.Data != nil {
			t.Fatalf("a refused operation has data %v", r.Data)
		}
		return err
	}

	t.Run("Complexity", func(t *testing.T) {
		err := refused(t, `{ devices(first: 100) { edges { node { group { devices(first: 100) { edges { node { id } } } } } } } }`,
			"COMPLEXITY_LIMIT_EXCEEDED")
		if !strings.Contains(err.Message, "exceeds the limit of 5000") {
			t.Fatalf("message %q", err.Message)
		}
		// The same shape with small pages is fine.
		e.query(t, me, `{ devices(first: 10) { edges { node { group { devices(first: 10) { edges { node { id } } } } } } } }`, nil).ok(t)
		// Lists cost by their first (or last), so a larger page costs more.
		e.query(t, me, `{ devices(last: 100) { edges { node { group { devices(last: 60) { edges { node { id } } } } } } } }`, nil).
			fails(t, "COMPLEXITY_LIMIT_EXCEEDED")
	})
	t.Run("Depth", func(t *testing.T) {
		inner := "id"
		for range 5 {
			inner = "group { devices(first: 1) { edges { node { " + inner + " } } } }"
		}
		err := refused(t, "{ devices(first: 1) { edges { node { "+inner+" } } } }", "DEPTH_LIMIT_EXCEEDED")
		if !strings.Contains(err.Message, "deeper than 12") {
			t.Fatalf("message %q", err.Message)
		}
		// Fragments count where they are spread.
		refused(t, `query { devices(first: 1) { ...D } } fragment D on DeviceConnection { edges { node { `+inner+` } } }`, "DEPTH_LIMIT_EXCEEDED")
		e.query(t, me, `{ devices(first: 1) { edges { node { group { devices(first: 1) { edges { node { id } } } } } } } }`, nil).ok(t)
	})
	t.Run("Fields", func(t *testing.T) {
		frag := "fragment U on User { " + strings.Repeat("id ", 300) + "}"
		refused(t, "{ me { ...U ...U } } "+frag, "FIELD_LIMIT_EXCEEDED")
		e.query(t, me, "{ me { ...U } } "+frag, nil).ok(t)
	})
	t.Run("Aliases", func(t *testing.T) {
		var b strings.Builder
		for i := range 31 {
			fmt.Fprintf(&b, "a%d: me { id } ", i)
		}
		refused(t, "{ "+b.String()+"}", "ALIAS_LIMIT_EXCEEDED")
	})
	t.Run("ParserTokens", func(t *testing.T) {
		refused(t, "{ me { "+strings.Repeat("id ", 6000)+"} }", "GRAPHQL_PARSE_FAILED")
	})
	t.Run("Introspection", func(t *testing.T) {
		// On by default: the schema can be read, and misspelt fields get
		// suggestions.
		d := e.query(t, me, `{ __schema { queryType { name } } }`, nil).ok(t)
		if get(d, "__schema.queryType.name") != "Query" {
			t.Fatalf("introspection = %v", d)
		}
		err := e.query(t, me, `{ mee { id } }`, nil).fails(t, "GRAPHQL_VALIDATION_FAILED")
		if !strings.Contains(err.Message, `Did you mean "me"?`) {
			t.Fatalf("no suggestion in %q", err.Message)
		}

		off := newEnv(t, storage.SQLite, options{cfg: func(c *graph.Config) { c.IntrospectionEnabled = false }})
		tok := off.me(off.a)
		off.query(t, tok, `{ __schema { queryType { name } } }`, nil).fails(t, "INTROSPECTION_DISABLED")
		off.query(t, tok, `query { ...Q } fragment Q on Query { __type(name: "Device") { name } }`, nil).fails(t, "INTROSPECTION_DISABLED")
		if d := off.query(t, tok, `{ __typename me { __typename } }`, nil).ok(t); get(d, "me.__typename") != "User" {
			t.Fatalf("__typename = %v", d)
		}
		err = off.query(t, tok, `{ mee { id } }`, nil).fails(t, "GRAPHQL_VALIDATION_FAILED")
		if strings.Contains(err.Message, "Did you mean") {
			t.Fatalf("a suggestion with introspection off: %q", err.Message)
		}
		// No GraphiQL either.
		req, _ := http.NewRequest(http.MethodGet, off.url, nil)
		req.Header.Set("Accept", "text/html")
		res, errDo := http.DefaultClient.Do(req)
		must(t, errDo)
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET text/html with introspection off = %d, want 401 (no page)", res.StatusCode)
		}
	})
	t.Run("Body", func(t *testing.T) {
		r := e.do(t, me, map[string]any{"query": "{ me { id } }", "variables": map[string]any{"pad": strings.Repeat("x", 2<<20)}})
		if r.status != http.StatusRequestEntityTooLarge || r.Data != nil {
			t.Fatalf("a 2 MiB body: status %d, data %v", r.status, r.Data)
		}
	})
}
