package graph_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestNoNPlusOne counts the SQL statements of list queries with nested
// edges: the count must not grow with the number of items, and each edge
// costs one statement for the whole page.
func TestNoNPlusOne(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		// 50 devices more in 10 groups, each group with its own published
		// configuration.
		now := time.Now()
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
			{"Group", `devices(first: %d) { edges { node { group { id } } } }`, 1},
			{"GroupConfiguration", `devices(first: %d) { edges { node { group { configuration { id } } } } }`, 2},
			{"Fragments", `devices(first: %d) { ...C } } fragment C on DeviceConnection { edges { node { ... on Device { g: group { configuration { id } } } } }`, 2},
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
					base = small
				}
				t.Logf("%d statements", large)
				if large != base+s.extra {
					t.Fatalf("%d statements, want %d (the list) + %d", large, base, s.extra)
				}
			})
		}
		t.Run("GroupsWithConfigurations", func(t *testing.T) {
			plain := count(t, `{ deviceGroups(first: 11) { edges { node { id } } } }`)
			if n := count(t, `{ deviceGroups(first: 11) { edges { node { configuration { id name } } } } }`); n != plain+1 {
				t.Fatalf("%d statements, want %d + 1", n, plain)
			}
		})
	})
}
