package graph

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/vikstrous/dataloadgen"

	"github.com/assetgate/assetgate/resource"
)

// TestLoaderBatches checks that the loaders read the keys asked for at
// once in one call, each key once, in the order of the keys, with nil for
// a key without an item.
func TestLoaderBatches(t *testing.T) {
	var mu sync.Mutex
	var calls [][]string
	findMany := func(_ context.Context, ids []string) ([]*resource.DeviceGroup, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, slices.Clone(ids))
		var out []*resource.DeviceGroup
		for _, id := range ids {
			if id != "missing" {
				out = append(out, &resource.DeviceGroup{ID: id, Name: "Group " + id})
			}
		}
		slices.Reverse(out) // any order
		return out, nil
	}
	loader := dataloadgen.NewLoader(byID(findMany, func(g *resource.DeviceGroup) string { return g.ID }), dataloadgen.WithWait(loaderWait))
	keys := []string{"a", "b", "missing", "a", "c"}
	var thunks []func() (*resource.DeviceGroup, error)
	for _, k := range keys {
		thunks = append(thunks, loader.LoadThunk(t.Context(), k))
	}
	for i, th := range thunks {
		g, err := th()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case keys[i] == "missing" && g != nil:
			t.Fatalf("missing key loaded %+v", g)
		case keys[i] != "missing" && (g == nil || g.ID != keys[i]):
			t.Fatalf("key %s loaded %+v", keys[i], g)
		}
	}
	if len(calls) != 1 || !slices.Equal(calls[0], []string{"a", "b", "missing", "c"}) {
		t.Fatalf("FindMany calls %v, want one with each key once", calls)
	}
}
