package resource_test

import (
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
)

// TestFollowCap opens streams up to the bound for one principal: the next
// one is refused with ERateLimited and a Retry-After, another principal
// is not affected, and a closed stream gives its place back.
func TestFollowCap(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db, func(c *wire.Config) { c.MaxStreamsPerPrincipal = 3 })
		appPrincipal := e.a.app(scopes.App)
		app := as(t, appPrincipal)
		d := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, time.Now()))
		var open []*resource.EventStream
		for range 3 {
			st, err := e.events.Follow(app, d.ID, "")
			must(t, err)
			open = append(open, st)
		}
		_, err := e.events.Follow(app, d.ID, "")
		if resource.ErrorCode(err) != resource.ERateLimited || resource.ErrorRetryAfter(err) <= 0 {
			t.Fatalf("a fourth stream: %v, want RateLimited with a retry", err)
		}
		if n := e.events.Streams.Refused(); n != 1 {
			t.Fatalf("refusals counted = %d, want 1", n)
		}
		// Another token of the same application is the same principal.
		other := *appPrincipal
		other.FamilyID = resource.NewFamilyID()
		if _, err := e.events.Follow(as(t, &other), d.ID, ""); resource.ErrorCode(err) != resource.ERateLimited {
			t.Fatalf("another token of the application: %v", err)
		}
		// A user is another principal.
		st, err := e.events.Follow(as(t, e.a.me()), d.ID, "")
		must(t, err)
		st.Close()
		// Closing gives the place back, once the stream has ended.
		open[0].Close()
		waitFor(t, func() bool { return e.events.Streams.Open() == 2 })
		st, err = e.events.Follow(app, d.ID, "")
		must(t, err)
		open = append(open[1:], st)
		for _, st := range open {
			st.Close()
		}
		waitFor(t, func() bool { return e.events.Streams.Open() == 0 })
	})
}

// TestCapsConcurrent acquires from many goroutines at once: no more than
// the bound succeed.
func TestCapsConcurrent(t *testing.T) {
	c := resource.NewCaps(5)
	p := &scopes.Principal{Kind: scopes.KindDevice, DeviceID: "d1"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 100 {
		wg.Go(func() {
			if _, ok := c.Acquire(p); ok {
				mu.Lock()
				got++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if got != 5 || c.Refused() != 95 || c.Open() != 5 {
		t.Fatalf("acquired %d, refused %d, open %d; want 5, 95, 5", got, c.Refused(), c.Open())
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}
