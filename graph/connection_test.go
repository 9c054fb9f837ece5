package graph_test

import (
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestConnectionPaging pages through a list forwards and backwards with
// every size, and checks cursors, pageInfo and totalCount against the
// whole list.
func TestConnectionPaging(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		me := e.me(e.a)
		all := []string{e.a.device.ID}
		for i := range 11 {
			d := storagetest.NewDevice(e.a.customer.ID, time.Now().Add(time.Duration(i+1)*time.Second))
			storagetest.MustCreateDevice(t, e.stores.devices, d)
			all = append(all, d.ID)
		}
		const page = `query($first: Int, $after: String, $last: Int, $before: String) {
			devices(first: $first, after: $after, last: $last, before: $before) {
				totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`
		fetch := func(t *testing.T, vars map[string]any) map[string]any {
			t.Helper()
			c, _ := e.query(t, me, page, vars).ok(t)["devices"].(map[string]any)
			if c["totalCount"] != float64(len(all)) {
				t.Fatalf("totalCount %v, want %d", c["totalCount"], len(all))
			}
			return c
		}

		t.Run("Forward", func(t *testing.T) {
			for size := 1; size <= len(all)+1; size++ {
				var got []string
				vars := map[string]any{"first": size}
				for range len(all) + 2 {
					c := fetch(t, vars)
					got = append(got, nodeIDs(c)...)
					if get(c, "pageInfo.hasPreviousPage") != (len(got) > len(nodeIDs(c))) {
						t.Fatalf("size %d: hasPreviousPage %v after %d items", size, get(c, "pageInfo.hasPreviousPage"), len(got))
					}
					if get(c, "pageInfo.hasNextPage") != true {
						break
					}
					vars["after"] = get(c, "pageInfo.endCursor")
				}
				if !slices.Equal(got, all) {
					t.Fatalf("size %d: paged %v, want %v", size, got, all)
				}
			}
		})
		t.Run("Backward", func(t *testing.T) {
			for size := 1; size <= len(all)+1; size++ {
				var got []string
				vars := map[string]any{"last": size}
				for range len(all) + 2 {
					c := fetch(t, vars)
					got = append(nodeIDs(c), got...)
					if get(c, "pageInfo.hasPreviousPage") != true {
						break
					}
					vars["before"] = get(c, "pageInfo.startCursor")
				}
				if !slices.Equal(got, all) {
					t.Fatalf("size %d: paged %v, want %v", size, got, all)
				}
			}
		})
		t.Run("ChangingSizes", func(t *testing.T) {
			// A page size that changes between requests needs a window that
			// no page of the services covers exactly.
			c := fetch(t, map[string]any{"first": 3})
			c = fetch(t, map[string]any{"first": 7, "after": get(c, "pageInfo.endCursor")})
			if got := nodeIDs(c); !slices.Equal(got, all[3:10]) {
				t.Fatalf("got %v, want %v", got, all[3:10])
			}
			c = fetch(t, map[string]any{"first": 2, "after": get(c, "edges.0.cursor")})
			if got := nodeIDs(c); !slices.Equal(got, all[4:6]) {
				t.Fatalf("got %v, want %v", got, all[4:6])
			}
		})
		t.Run("Between", func(t *testing.T) {
			c := fetch(t, map[string]any{"first": 12})
			after, before := get(c, "edges.2.cursor"), get(c, "edges.8.cursor")
			c = fetch(t, map[string]any{"after": after, "before": before})
			if got := nodeIDs(c); !slices.Equal(got, all[3:8]) {
				t.Fatalf("got %v, want %v", got, all[3:8])
			}
			c = fetch(t, map[string]any{"after": after, "before": before, "last": 2})
			if got := nodeIDs(c); !slices.Equal(got, all[6:8]) {
				t.Fatalf("got %v, want %v", got, all[6:8])
			}
		})
		t.Run("FirstZero", func(t *testing.T) {
			c := fetch(t, map[string]any{"first": 0})
			if len(nodeIDs(c)) != 0 || get(c, "pageInfo.startCursor") != nil || get(c, "pageInfo.hasNextPage") != true {
				t.Fatalf("first 0: %v", c)
			}
		})
		t.Run("DefaultSize", func(t *testing.T) {
			if got := nodeIDs(fetch(t, nil)); !slices.Equal(got, all) {
				t.Fatalf("got %v", got)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			foreign := base64.RawURLEncoding.EncodeToString([]byte("id:" + resource.NewID()))
			for _, c := range []struct {
				vars  map[string]any
				field string
			}{
				{map[string]any{"first": resource.MaxPageSize + 1}, "first"},
				{map[string]any{"first": -1}, "first"},
				{map[string]any{"last": resource.MaxPageSize + 1}, "last"},
				{map[string]any{"after": "not a cursor"}, "after"},
				{map[string]any{"after": foreign}, "after"},
				{map[string]any{"before": base64.RawURLEncoding.EncodeToString([]byte("offset:-4"))}, "before"},
			} {
				r := e.query(t, me, page, c.vars)
				if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != c.field {
					t.Fatalf("%v: error %+v, want field %s", c.vars, err, c.field)
				}
			}
		})
	})
}
