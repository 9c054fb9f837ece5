package resource_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// clock is a settable time for the throttle.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func from(addr string) context.Context {
	return resource.NewContextWithClientAddr(context.Background(), addr)
}

// TestLoginPairDelay checks the growing delay of one pair of account and
// address: three free failures, then 1 s, 2 s, 4 s of waiting, during which
// the password is not even checked; another address is not slowed down;
// a success forgets the failures.
func TestLoginPairDelay(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		c := &clock{t: time.Now()}
		e.users.Throttle.Now = c.now
		email := e.a.user.Email
		attacker, user := from("198.51.100.66"), from("192.0.2.10")
		for range 4 {
			_, err := e.users.Authenticate(attacker, email, "guess")
			requireCode(t, err, resource.EUnauthenticated)
		}
		n := e.users.Hasher.Evaluations()
		_, err := e.users.Authenticate(attacker, email, testPassword)
		requireCode(t, err, resource.ERateLimited)
		if d := resource.ErrorRetryAfter(err); d != time.Second {
			t.Fatalf("RetryAfter %v after the 4th failure, want 1s", d)
		}
		if e.users.Hasher.Evaluations() != n {
			t.Fatal("a delayed attempt had its password checked")
		}
		// The user, from another address, is not slowed down.
		if _, err := e.users.Authenticate(user, email, testPassword); err != nil {
			t.Fatalf("the user's own address: %v", err)
		}
		c.add(time.Second)
		_, err = e.users.Authenticate(attacker, email, "guess")
		requireCode(t, err, resource.EUnauthenticated)
		_, err = e.users.Authenticate(attacker, email, "guess")
		requireCode(t, err, resource.ERateLimited)
		if d := resource.ErrorRetryAfter(err); d != 2*time.Second {
			t.Fatalf("RetryAfter %v after the 5th failure, want 2s", d)
		}
		c.add(2 * time.Second)
		_, err = e.users.Authenticate(attacker, email, "guess")
		requireCode(t, err, resource.EUnauthenticated)
		_, err = e.users.Authenticate(attacker, email, "guess")
		if d := resource.ErrorRetryAfter(err); d != 4*time.Second {
			t.Fatalf("RetryAfter %v after the 6th failure, want 4s", d)
		}
		// A success from the pair forgets its failures.
		c.add(4 * time.Second)
		if _, err := e.users.Authenticate(attacker, email, testPassword); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			_, err := e.users.Authenticate(attacker, email, "guess")
			requireCode(t, err, resource.EUnauthenticated)
		}
	})
}

// TestLoginAccountLockSparesKnownOrigins checks that strangers' failures
// lock an account only for strangers: an address that signed in before, a
// browser with the user's known-browser entry and the user's own password
// change go on.
func TestLoginAccountLockSparesKnownOrigins(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		var events []resource.LimitEvent
		var mu sync.Mutex
		th := e.users.Throttle
		th.MaxPerAccount = 4
		th.Observe = func(ev resource.LimitEvent) { mu.Lock(); events = append(events, ev); mu.Unlock() }
		email := e.a.user.Email
		home := from("192.0.2.10")
		if _, err := e.users.Authenticate(home, email, testPassword); err != nil {
			t.Fatal(err) // the user's address becomes known
		}
		for i := range 4 { // four stranger addresses, one failure each
			_, err := e.users.Authenticate(from("198.51.100."+string(rune('1'+i))), email, "guess")
			requireCode(t, err, resource.EUnauthenticated)
		}
		_, err := e.users.Authenticate(from("203.0.113.7"), email, testPassword)
		requireCode(t, err, resource.ERateLimited) // locked for strangers, even with the right password
		if _, err := e.users.Authenticate(home, email, testPassword); err != nil {
			t.Fatalf("known address while locked: %v", err)
		}
		browser := resource.NewContextWithLoginOrigin(from("203.0.113.8"),
			resource.LoginOrigin{Browsers: []resource.KnownBrowser{{UserID: e.a.user.ID, ID: "cookie-entry"}}})
		if _, err := e.users.Authenticate(browser, email, testPassword); err != nil {
			t.Fatalf("known browser while locked: %v", err)
		}
		// Another user's entry does not help.
		other := resource.NewContextWithLoginOrigin(from("203.0.113.9"),
			resource.LoginOrigin{Browsers: []resource.KnownBrowser{{UserID: e.b.user.ID, ID: "other-entry"}}})
		_, err = e.users.Authenticate(other, email, testPassword)
		requireCode(t, err, resource.ERateLimited)
		if err := e.users.ChangePassword(as(t, e.a.me()), testPassword, "brand new password", "brand new password"); err != nil {
			t.Fatalf("password change while locked: %v", err)
		}
		kinds := map[string]int{}
		for _, ev := range events {
			kinds[ev.Kind]++
		}
		if kinds["account_locked"] != 1 || kinds["login_refused_locked"] != 2 || kinds["login_failed"] != 4 {
			t.Fatalf("events %v", kinds)
		}
	})
}

// TestLoginSprayingThrottledPerAddress checks that one address trying one
// password on many accounts is refused past its failures over all of them.
func TestLoginSprayingThrottledPerAddress(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		e.users.Throttle.MaxPerAddr = 3
		sprayer := from("198.51.100.99")
		for i := range 3 {
			_, err := e.users.Authenticate(sprayer, "victim"+string(rune('a'+i))+"@example.com", "Summer2026!")
			requireCode(t, err, resource.EUnauthenticated)
		}
		_, err := e.users.Authenticate(sprayer, e.a.user.Email, testPassword)
		requireCode(t, err, resource.ERateLimited)
		if _, err := e.users.Authenticate(from("192.0.2.10"), e.a.user.Email, testPassword); err != nil {
			t.Fatalf("another address: %v", err)
		}
	})
}

// TestPasswordChangeDelayed checks that wrong old passwords of a password
// change make its holder wait like a pair, and that a stranger's failures
// at login do not count on it.
func TestPasswordChangeDelayed(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := as(t, e.a.me())
		for range 4 {
			_, err := e.users.Authenticate(from("198.51.100.5"), e.a.user.Email, "guess")
			requireCode(t, err, resource.EUnauthenticated)
		}
		for range 4 {
			requireCode(t, e.users.ChangePassword(ctx, "not the password", "brand new password", "brand new password"), resource.EForbidden)
		}
		n := e.users.Hasher.Evaluations()
		requireCode(t, e.users.ChangePassword(ctx, testPassword, "brand new password", "brand new password"), resource.ERateLimited)
		if e.users.Hasher.Evaluations() != n {
			t.Fatal("a delayed password change had its password checked")
		}
	})
}
