package graph_test

import "testing"

// TestMeStatements checks that `me` reads the customer only when the query
// asks for it: { me { id email } } is the hot query of mobile apps.
func TestMeStatements(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		tok := e.me(e.a)
		count := func(query string) (int64, map[string]any) {
			before := e.queries.Load()
			data := e.query(t, tok, query, nil).ok(t)
			return e.queries.Load() - before, data
		}
		plain, data := count(`{ me { id email } }`)
		if get(data, "me.id") != e.a.user.ID || plain != 1 {
			t.Fatalf("{ me { id email } }: %d statements, data %v; want 1 statement", plain, data)
		}
		withCustomer, data := count(`{ me { id ... on User { c: customer { name } } } }`)
		if get(data, "me.c.name") != e.a.customer.Name || withCustomer != 2 {
			t.Fatalf("me with customer: %d statements, data %v; want 2", withCustomer, data)
		}
	})
}
