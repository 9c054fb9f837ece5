package storagetest

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// TestEphemeralStore runs the contract of resource.EphemeralStore against
// stores made by newStore. Subtests run in parallel, newStore is called once
// per subtest, and every subtest uses keys of its own.
func TestEphemeralStore(t *testing.T, newStore func(t *testing.T) resource.EphemeralStore) {
	run := func(name string, fn func(t *testing.T, s resource.EphemeralStore, key func() string)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newStore(t), func() string { return "test:" + resource.NewID() })
		})
	}
	run("Put", testEphemeralPut)
	run("Expiry", testEphemeralExpiry)
	run("Take", testEphemeralTake)
	run("TakeConcurrent", testEphemeralTakeConcurrent)
	run("Incr", testEphemeralIncr)
	run("Decr", testEphemeralDecr)
}

// mustHaveValue checks that key holds want.
func mustHaveValue(tb testing.TB, s resource.EphemeralStore, key string, want []byte) {
	tb.Helper()
	got, err := s.Get(tb.Context(), key)
	if err != nil {
		tb.Fatalf("Get(%s): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("Get(%s) = %q, want %q", key, got, want)
	}
}

func testEphemeralPut(t *testing.T, s resource.EphemeralStore, key func() string) {
	t.Run("OK", func(t *testing.T) {
		k := key()
		if err := s.Put(t.Context(), k, []byte("v1\x00\xff"), time.Minute); err != nil {
			t.Fatal(err)
		}
		mustHaveValue(t, s, k, []byte("v1\x00\xff"))
		mustHaveValue(t, s, k, []byte("v1\x00\xff")) // Get does not consume
	})
	t.Run("Overwrite", func(t *testing.T) {
		k := key()
		for _, v := range []string{"first", "second"} {
			if err := s.Put(t.Context(), k, []byte(v), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		mustHaveValue(t, s, k, []byte("second"))
	})
	t.Run("Empty", func(t *testing.T) {
		k := key()
		if err := s.Put(t.Context(), k, nil, time.Minute); err != nil {
			t.Fatal(err)
		}
		mustHaveValue(t, s, k, nil)
	})
	t.Run("Delete", func(t *testing.T) {
		k, other := key(), key()
		for _, kk := range []string{k, other} {
			if err := s.Put(t.Context(), kk, []byte("v"), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		_, err := s.Get(t.Context(), k)
		mustHaveCode(t, err, resource.ENotFound)
		mustHaveValue(t, s, other, []byte("v"))
		if err := s.Delete(t.Context(), k); err != nil {
			t.Fatalf("delete an absent key: %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.Get(t.Context(), key())
		mustHaveCode(t, err, resource.ENotFound)
	})
}

// testEphemeralExpiry checks the lifetimes of values and counters with a
// single wait.
func testEphemeralExpiry(t *testing.T, s resource.EphemeralStore, key func() string) {
	start := time.Now()
	short, long, counter := key(), key(), key()
	if err := s.Put(t.Context(), short, []byte("short"), shortLifetime); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), long, []byte("long"), time.Hour); err != nil {
		t.Fatal(err)
	}
	// The counter lives from its first increment: a later increment with a
	// longer ttl does not extend it.
	for i, ttl := range []time.Duration{shortLifetime, time.Hour} {
		n, err := s.Incr(t.Context(), counter, ttl)
		if err != nil || n != int64(i+1) {
			t.Fatalf("Incr = %d, %v; want %d", n, err, i+1)
		}
	}
	mustHaveValue(t, s, short, []byte("short"))

	time.Sleep(time.Until(start.Add(expiryWait)))

	_, err := s.Get(t.Context(), short)
	mustHaveCode(t, err, resource.ENotFound)
	_, err = s.Take(t.Context(), short)
	mustHaveCode(t, err, resource.ENotFound)
	mustHaveValue(t, s, long, []byte("long"))
	n, err := s.Incr(t.Context(), counter, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("Incr after expiry = %d, %v; want a new counter at 1", n, err)
	}
	// A value put again over an expired one lives again.
	if err := s.Put(t.Context(), short, []byte("again"), time.Minute); err != nil {
		t.Fatal(err)
	}
	mustHaveValue(t, s, short, []byte("again"))
}

func testEphemeralTake(t *testing.T, s resource.EphemeralStore, key func() string) {
	t.Run("OK", func(t *testing.T) {
		k := key()
		if err := s.Put(t.Context(), k, []byte("code"), time.Minute); err != nil {
			t.Fatal(err)
		}
		got, err := s.Take(t.Context(), k)
		if err != nil || string(got) != "code" {
			t.Fatalf("Take = %q, %v", got, err)
		}
		_, err = s.Take(t.Context(), k)
		mustHaveCode(t, err, resource.ENotFound)
		_, err = s.Get(t.Context(), k)
		mustHaveCode(t, err, resource.ENotFound)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.Take(t.Context(), key())
		mustHaveCode(t, err, resource.ENotFound)
	})
}

// testEphemeralTakeConcurrent checks that of 20 concurrent takes of a value
// exactly one gets it, for several values in a row.
func testEphemeralTakeConcurrent(t *testing.T, s resource.EphemeralStore, key func() string) {
	for range 5 {
		k := key()
		if err := s.Put(t.Context(), k, []byte("once"), time.Minute); err != nil {
			t.Fatal(err)
		}
		const n = 20
		errs := make([]error, n)
		vals := make([][]byte, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				vals[i], errs[i] = s.Take(t.Context(), k)
			})
		}
		close(start)
		wg.Wait()
		got := 0
		for i, err := range errs {
			if err == nil {
				got++
				if string(vals[i]) != "once" {
					t.Fatalf("Take = %q", vals[i])
				}
				continue
			}
			mustHaveCode(t, err, resource.ENotFound)
		}
		if got != 1 {
			t.Fatalf("%d takes got the value, want exactly 1", got)
		}
	}
}

func testEphemeralIncr(t *testing.T, s resource.EphemeralStore, key func() string) {
	t.Run("OK", func(t *testing.T) {
		k, other := key(), key()
		for want := int64(1); want <= 3; want++ {
			n, err := s.Incr(t.Context(), k, time.Minute)
			if err != nil || n != want {
				t.Fatalf("Incr = %d, %v; want %d", n, err, want)
			}
		}
		if n, err := s.Incr(t.Context(), other, time.Minute); err != nil || n != 1 {
			t.Fatalf("Incr of another key = %d, %v; want 1", n, err)
		}
		if err := s.Delete(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Incr(t.Context(), k, time.Minute); err != nil || n != 1 {
			t.Fatalf("Incr after Delete = %d, %v; want 1", n, err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		k := key()
		const n = 20
		got := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i], errs[i] = s.Incr(t.Context(), k, time.Minute) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(got)
		for i, v := range got {
			if v != int64(i+1) {
				t.Fatalf("concurrent Incr results %v, want 1..%d", got, n)
			}
		}
	})
}

func testEphemeralDecr(t *testing.T, s resource.EphemeralStore, key func() string) {
	t.Run("OK", func(t *testing.T) {
		k := key()
		for range 3 {
			if _, err := s.Incr(t.Context(), k, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Decr(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Incr(t.Context(), k, time.Minute); err != nil || n != 3 {
			t.Fatalf("Incr after Decr = %d, %v; want 3", n, err)
		}
	})
	t.Run("Absent", func(t *testing.T) {
		k := key()
		if err := s.Decr(t.Context(), k); err != nil {
			t.Fatalf("Decr of an absent counter: %v", err)
		}
		if n, err := s.Incr(t.Context(), k, time.Minute); err != nil || n != 1 {
			t.Fatalf("Incr after Decr of an absent counter = %d, %v; want 1", n, err)
		}
	})
	t.Run("KeepsLifetime", func(t *testing.T) {
		start := time.Now()
		k := key()
		for range 2 {
			if _, err := s.Incr(t.Context(), k, shortLifetime); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Decr(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(start.Add(expiryWait)))
		// Expired: Decr leaves it absent (no counter at -1 that lives
		// forever), and it starts again at 1.
		if err := s.Decr(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Incr(t.Context(), k, time.Minute); err != nil || n != 1 {
			t.Fatalf("Incr after expiry and Decr = %d, %v; want 1", n, err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		k := key()
		const n = 20
		if _, err := s.Incr(t.Context(), k, time.Minute); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2*n)
		for i := range n {
			wg.Go(func() { _, errs[i] = s.Incr(t.Context(), k, time.Minute) })
			wg.Go(func() { errs[n+i] = s.Decr(t.Context(), k) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.Incr(t.Context(), k, time.Minute); err != nil || got != 2 {
			t.Fatalf("Incr after %d concurrent increments and decrements = %d, %v; want 2", n, got, err)
		}
	})
}
