package resource_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
)

// TestLoginThrottle checks counting before checking: an attempt is
// counted by Reserve, refused past the limit (and then not counted), and
// given back by Release; windows are fixed and end at multiples of Window.
func TestLoginThrottle(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		now := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC) // 30 s into a window of a minute
		th := &resource.LoginThrottle{Store: storage.NewSQLEphemeralStore(db), Key: []byte("0123456789abcdef0123456789abcdef"),
			Window: time.Minute, AccountWindow: time.Minute, MaxPerAccount: 3, MaxPerAddr: 10, Now: func() time.Time { return now }}
		acct := th.PerAccount(" Eve@Example.com ")
		if acct != th.PerAccount("eve@example.com") || acct.Max != 3 {
			t.Fatalf("PerAccount = %+v: want the account of the trimmed, lower-cased e-mail, limit 3", acct)
		}
		t.Run("OK", func(t *testing.T) {
			var held []*resource.Attempt
			for range 3 {
				a, err := th.Reserve(t.Context(), acct, th.PerAddr(resource.CounterLogin, "192.0.2.1"))
				requireCode(t, err, "")
				held = append(held, a)
			}
			_, err := th.Reserve(t.Context(), acct, th.PerAddr(resource.CounterLogin, "192.0.2.1"))
			requireCode(t, err, resource.ERateLimited)
			if d := resource.ErrorRetryAfter(err); d != 30*time.Second {
				t.Fatalf("RetryAfter = %v, want the 30 s left of the window", d)
			}
			// Release gives one back; a second Release does nothing.
			must(t, held[0].Release(t.Context()))
			must(t, held[0].Release(t.Context()))
			_, err = th.Reserve(t.Context(), acct)
			requireCode(t, err, "")
			_, err = th.Reserve(t.Context(), acct)
			requireCode(t, err, resource.ERateLimited)
		})
		t.Run("RefusedNotCounted", func(t *testing.T) {
			// The refusal above gave back its address count, and so did
			// the released attempt: 2 counted of 10, so 8 more fit.
			addr := th.PerAddr(resource.CounterLogin, "192.0.2.1")
			for range 8 {
				_, err := th.Reserve(t.Context(), addr)
				requireCode(t, err, "")
			}
			_, err := th.Reserve(t.Context(), addr)
			requireCode(t, err, resource.ERateLimited)
		})
		t.Run("OtherCounters", func(t *testing.T) {
			_, err := th.Reserve(t.Context(), th.PerAccount("someone-else@example.com"), th.PerAddr(resource.CounterDeviceCode, "192.0.2.1"))
			requireCode(t, err, "")
		})
		t.Run("NextWindow", func(t *testing.T) {
			now = now.Add(30 * time.Second) // the next window starts
			_, err := th.Reserve(t.Context(), acct)
			requireCode(t, err, "")
		})
	})
}

// TestLoginThrottleConcurrent checks that of many concurrent attempts no
// more than the limit get through (the check-then-count race).
func TestLoginThrottleConcurrent(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		th := &resource.LoginThrottle{Store: storage.NewSQLEphemeralStore(db), Key: []byte("0123456789abcdef0123456789abcdef"), MaxPerAccount: 5}
		var passed, refused atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				_, err := th.Reserve(t.Context(), th.PerAccount("target@example.com"))
				switch resource.ErrorCode(err) {
				case "":
					passed.Add(1)
				case resource.ERateLimited:
					refused.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if passed.Load() != 5 || refused.Load() != 45 {
			t.Fatalf("%d passed, %d refused; want 5 and 45", passed.Load(), refused.Load())
		}
	})
}

// TestPasswordHasherBusy checks that a login or password change finding
// every hashing slot busy fails with EUnavailable, is not counted as a
// failure (it was never checked) and changes nothing.
func TestPasswordHasherBusy(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db, func(c *wire.Config) { c.PasswordHashConcurrency, c.PasswordHashWait = 1, 10*time.Millisecond })
		free := resource.OccupyPasswordHasher(e.users.Hasher)
		for range 10 {
			_, err := e.users.Authenticate(t.Context(), e.a.user.Email, testPassword)
			requireCode(t, err, resource.EUnavailable)
			if resource.ErrorRetryAfter(err) <= 0 {
				t.Fatal("EUnavailable without RetryAfter")
			}
		}
		requireCode(t, e.users.ChangePassword(as(t, e.a.me()), testPassword, "brand new password", "brand new password"), resource.EUnavailable)
		_, err := e.users.Create(t.Context(), e.a.customer.ID, "new-user@example.com", testPassword)
		requireCode(t, err, resource.EUnavailable)
		free()
		_, err = e.users.Authenticate(t.Context(), e.a.user.Email, testPassword)
		requireCode(t, err, "")
	})
}
