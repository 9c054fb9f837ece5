package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// BenchmarkShapeLimits measures what the shape check costs a document: a
// refused fragment bomb (2^30 fields expanded, 1 KB written), a wide
// selection (5,000 fields, within the token limit), and an ordinary query the first time it is
// seen and when it is seen again.
func BenchmarkShapeLimits(b *testing.B) {
	var bomb strings.Builder
	bomb.WriteString("query{...F0}")
	for i := range 30 {
		fmt.Fprintf(&bomb, " fragment F%d on Query{...F%d ...F%d}", i, i+1, i+1)
	}
	bomb.WriteString(" fragment F30 on Query{me{id}}")
	ordinary := "{ devices(first: 25) { totalCount edges { node { id name imei createdAt group { id name } } } } }"
	for _, c := range []struct {
		name, query string
		refused     bool
		fresh       bool
	}{
		{"FragmentBomb", bomb.String(), true, true},
		{"Wide5000", "{ " + strings.Repeat("__typename ", 5000) + "}", true, true},
		{"OrdinaryFirstSeen", ordinary, false, true},
		{"OrdinarySeenAgain", ordinary, false, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := newShapeLimits(DefaultConfig())
			ctx := b.Context()
			n := 0
			for b.Loop() {
				q := c.query
				if c.fresh {
					// Trailing spaces make each document new to the cache.
					n++
					q += strings.Repeat(" ", n%4096)
				}
				err := l.MutateOperationParameters(ctx, &graphql.RawParams{Query: q})
				if (err != nil) != c.refused {
					b.Fatalf("refused = %v: %v", err != nil, err)
				}
			}
		})
	}
}
