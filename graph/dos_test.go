package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/storage"
)

// fragmentBomb returns the document of the security report: fragment Fi
// spreads F(i+1) twice, levels deep, so the operation expands to
// 2^levels fields in 1 KB.
func fragmentBomb(levels int) string {
	var b strings.Builder
	b.WriteString("query{...F0}")
	for i := range levels {
		fmt.Fprintf(&b, " fragment F%d on Query{...F%d ...F%d}", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on Query{me{id}}", levels)
	return b.String()
}

// refusedFast sends a document with a client deadline, so a regression
// fails the test instead of holding the suite, and checks that it is
// refused with code, without data, and quickly. The bound is generous for
// a shared machine; BenchmarkRefuse shows the real cost.
func refusedFast(t *testing.T, e *env, token, method, query, code string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequestWithContext(ctx, method, e.url+"?query="+url.QueryEscape(query), nil)
	} else {
		body, _ := json.Marshal(map[string]string{"query": query})
		req, _ = http.NewRequestWithContext(ctx, method, e.url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	before := e.queries.Load()
	r := send(t, req)
	took := time.Since(start)
	r.fails(t, code)
	if r.Data != nil {
		t.Fatalf("a refused document has data %v", r.Data)
	}
	if n := e.queries.Load() - before; n != 0 {
		t.Fatalf("a refused document ran %d SQL statements", n)
	}
	if took > 500*time.Millisecond {
		t.Fatalf("refusing took %v", took)
	}
}

// TestDenialOfService sends the documents of the security report that held
// the server for seconds to minutes (fragment bombs, very wide selections,
// a large unused fragment): each is refused before validation and cost
// analysis, within milliseconds, by any token and over POST and GET.
func TestDenialOfService(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{})
	tokens := map[string]string{"me": e.me(e.a), "device": e.deviceToken(e.a, "device:read")}

	t.Run("FragmentBomb", func(t *testing.T) {
		for name, tok := range tokens {
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				t.Run(name+"/"+method, func(t *testing.T) {
					refusedFast(t, e, tok, method, fragmentBomb(30), "FIELD_LIMIT_EXCEEDED")
				})
			}
		}
		// Smaller bombs are refused the same way, by the field count
		// the fragments expand to.
		refusedFast(t, e, tokens["me"], http.MethodPost, fragmentBomb(10), "FIELD_LIMIT_EXCEEDED")
	})
	t.Run("FragmentBombInIntrospection", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{ __schema { types { ...T0 } } }")
		for i := range 30 {
			fmt.Fprintf(&b, " fragment T%d on __Type { ...T%d ...T%d }", i, i+1, i+1)
		}
		b.WriteString(" fragment T30 on __Type { name }")
		refusedFast(t, e, tokens["me"], http.MethodPost, b.String(), "FIELD_LIMIT_EXCEEDED")
	})
	t.Run("FragmentCycle", func(t *testing.T) {
		refusedFast(t, e, tokens["me"], http.MethodPost,
			"query { ...A } fragment A on Query { me { id } ...B } fragment B on Query { ...A }", "GRAPHQL_VALIDATION_FAILED")
	})
	t.Run("WideSelection", func(t *testing.T) {
		// Past the parser's token limit, the lexer refuses it.
		wide := "{ " + strings.Repeat("__typename ", 14000) + "}"
		refusedFast(t, e, tokens["me"], http.MethodPost, wide, "GRAPHQL_PARSE_FAILED")
		// Within it, the field count does, before validation.
		wide = "{ " + strings.Repeat("__typename ", 5000) + "}"
		refusedFast(t, e, tokens["me"], http.MethodPost, wide, "FIELD_LIMIT_EXCEEDED")
		// Whitespace that defeats the query cache costs no more.
		refusedFast(t, e, tokens["me"], http.MethodPost, wide+"  ", "FIELD_LIMIT_EXCEEDED")
		refusedFast(t, e, tokens["me"], http.MethodPost, "{ "+strings.Repeat("__typename\n", 600)+"}", "FIELD_LIMIT_EXCEEDED")
	})
	t.Run("UnusedFragment", func(t *testing.T) {
		// Validation walks every fragment, spread or not.
		refusedFast(t, e, tokens["me"], http.MethodPost,
			"{ me { id } } fragment U on Query { "+strings.Repeat("__typename ", 2600)+"}", "FIELD_LIMIT_EXCEEDED")
	})
	t.Run("WithinLimitsOK", func(t *testing.T) {
		d := e.query(t, tokens["me"], fragmentBomb(3), nil).ok(t)
		if get(d, "me.id") != e.a.user.ID {
			t.Fatalf("data %v", d)
		}
	})
}

// TestNoSuggestionsWithIntrospectionOff checks that, with introspection
// off, no validation error names a field, argument, enum value, input
// field or type the client did not write ("Did you mean ...").
func TestNoSuggestionsWithIntrospectionOff(t *testing.T) {
	for _, introspection := range []bool{true, false} {
		e := newEnv(t, storage.SQLite, options{cfg: func(c *graph.Config) { c.IntrospectionEnabled = introspection }})
		tok := e.me(e.a)
		for name, doc := range map[string]string{
			"Field":      `{ mee { id } }`,
			"Argument":   `{ devices(frist: 1) { totalCount } }`,
			"EnumValue":  `{ devices(first: 1, orderBy: [{field: NAMES}]) { totalCount } }`,
			"InputField": `{ devices(first: 1, filter: {serch: "x"}) { totalCount } }`,
			"Type":       `query { ...D } fragment D on Quer { __typename }`,
		} {
			t.Run(fmt.Sprintf("%s/introspection=%v", name, introspection), func(t *testing.T) {
				err := e.query(t, tok, doc, nil).fails(t, "GRAPHQL_VALIDATION_FAILED")
				has := strings.Contains(err.Message, "Did you mean")
				if has != introspection {
					t.Fatalf("introspection %v: message %q", introspection, err.Message)
				}
			})
		}
	}
}

// introspectionQuery is the shape of the query GraphiQL sends on start:
// every type with its fields, arguments, input fields, enum values and
// type references seven levels deep.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

// TestIntrospectionQueryWithinLimits checks that the shape limits leave
// GraphiQL's introspection query alone.
func TestIntrospectionQueryWithinLimits(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{})
	d := e.query(t, e.me(e.a), introspectionQuery, nil).ok(t)
	if get(d, "__schema.queryType.name") != "Query" {
		t.Fatalf("data %v", d)
	}
}
