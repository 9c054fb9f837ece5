package graph_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestNoNPlusOne counts the SQL statements of list queries with nested
// edges: the count must not grow with the number of items, and each edge
// costs one statement for the whole page (the groups none: they are read
// with the page).
func TestNoNPlusOne(t *testing.T) {
	// Each device may have up to MaxDeviceTokens tokens, so the tokens of
	// 50 devices cost more than the default complexity limit: raised
	// here, as this test counts statements, not cost.
	raised := options{cfg: func(c *graph.Config) { c.ComplexityLimit = 4 * graph.DefaultConfig().ComplexityLimit }}
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect, raised)
			// 50 devices more in 10 groups, each group with its own published
			// configuration; device n has n%3 events and n%2 tokens.
			now := time.Now()
			deviceTokens := e.graph.Stores.DeviceTokens
			want := map[string][2]int{} // device id: events, tokens
			for g := range 10 {
				conf := storagetest.NewConfiguration(e.a.customer.ID, now)
				conf.State, conf.PublishedAt = resource.ConfigurationPublished, &now
				storagetest.MustCreateConfiguration(t, e.stores.configs, conf)
				group := storagetest.NewDeviceGroup(e.a.customer.ID, now)
				group.ConfigurationID = conf.ID
				storagetest.MustCreateDeviceGroup(t, e.stores.groups, group)
				for i := range 5 {
					d := storagetest.NewDevice(e.a.customer.ID, now.Add(time.Duration(g*5+i+1)*time.Millisecond))
					d.GroupID = group.ID
					storagetest.MustCreateDevice(t, e.stores.devices, d)
					n := g*5 + i
					for range n % 3 {
						storagetest.MustCreateEvents(t, e.stores.events, storagetest.NewEvent(e.a.customer.ID, d.ID, resource.EventShock, now.Add(-time.Minute)))
					}
					for range n % 2 {
						if err := deviceTokens.CreateDeviceToken(t.Context(), storagetest.NewDeviceToken(e.a.customer.ID, d.ID, now)); err != nil {
							t.Fatal(err)
						}
					}
					want[d.ID] = [2]int{n % 3, n % 2}
				}
			}
			tok := e.me(e.a)
			count := func(t *testing.T, query string) int64 {
				t.Helper()
				before := e.queries.Load()
				e.query(t, tok, query, nil).ok(t)
				return e.queries.Load() - before
			}
			shapes := []struct {
				name, query string
				extra       int64 // statements beyond those of the plain list
			}{
				{"Plain", `devices(first: %d) { edges { node { id } } }`, 0},
				// The groups come with the page (the group loader is primed
				// with them).
				{"Group", `devices(first: %d) { edges { node { group { id } } } }`, 0},
				{"GroupConfiguration", `devices(first: %d) { edges { node { group { configuration { id } } } } }`, 1},
				{"Fragments", `devices(first: %d) { ...C } } fragment C on DeviceConnection { edges { node { ... on Device { g: group { configuration { id } } } } }`, 1},
				// A fleet page with groups, configurations and stats (the
				// stats and their connection rows), then with the tokens too.
				{"Stats", `devices(first: %d) { edges { node { group { configuration { id } } stats { totalEvents } } } }`, 3},
				{"StatsTokens", `devices(first: %d) { edges { node { group { configuration { id } } stats { totalEvents } tokens { id } } } }`, 4},
			}
			var base int64
			for _, s := range shapes {
				t.Run(s.name, func(t *testing.T) {
					small := count(t, "{ "+fmt.Sprintf(s.query, 5)+" }")
					large := count(t, "{ "+fmt.Sprintf(s.query, 50)+" }")
					if small != large {
						t.Fatalf("5 devices cost %d statements, 50 cost %d", small, large)
					}
					if s.name == "Plain" {
						// The page and its count are one statement; the
						// connection rows of the page's devices (the MQTT
						// state of the device attributes) a second.
						if base = small; base != 2 {
							t.Fatalf("a plain list costs %d statements, want 2", base)
						}
					}
					t.Logf("%d statements", large)
					if large != base+s.extra {
						t.Fatalf("%d statements, want %d (the list) + %d", large, base, s.extra)
					}
				})
			}
			t.Run("StatsTokensValues", func(t *testing.T) {
				d := e.query(t, tok, `{ devices(first: 60) { edges { node { id stats { totalEvents } tokens { id } } } } }`, nil).ok(t)
				edges, _ := get(d, "devices.edges").([]any)
				seen := 0
				for _, edge := range edges {
					id, _ := get(edge, "node.id").(string)
					w, ok := want[id]
					if !ok {
						continue
					}
					seen++
					total, _ := get(edge, "node.stats.totalEvents").(float64)
					tokens, _ := get(edge, "node.tokens").([]any)
					if int(total) != w[0] || len(tokens) != w[1] {
						t.Fatalf("device %s: %v events, %d tokens; want %d, %d", id, total, len(tokens), w[0], w[1])
					}
				}
				if seen != len(want) {
					t.Fatalf("saw %d of the %d devices", seen, len(want))
				}
			})
			t.Run("GroupsWithConfigurations", func(t *testing.T) {
				plain := count(t, `{ deviceGroups(first: 11) { edges { node { id } } } }`)
				if n := count(t, `{ deviceGroups(first: 11) { edges { node { configuration { id name } } } } }`); n != plain+1 {
					t.Fatalf("%d statements, want %d + 1", n, plain)
				}
			})
		})
	}
}
