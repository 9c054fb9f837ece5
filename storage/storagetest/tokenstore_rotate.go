package storagetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// The refresh token rotation part of the TokenStore contract suite.

func testRotateRefresh(t *testing.T, k tokenKit) {
	rotate := func(t *testing.T, f *resource.TokenFamily, old *resource.Token, clientID string, grace time.Duration) (next []*resource.Token, got *resource.Token, err error) {
		t.Helper()
		next = []*resource.Token{
			k.token(f, resource.TokenAccess, k.exp(f, time.Hour)),
			k.token(f, resource.TokenRefresh, k.exp(f, 2*time.Hour)),
		}
		got, err = k.s.RotateRefresh(t.Context(), f.ID, old.Hash, clientID, grace, next...)
		return next, got, err
	}
	t.Run("OK", func(t *testing.T) {
		f, access, refresh := k.grant(t, resource.NewID(), time.Now().Add(24*time.Hour))
		next, got, err := rotate(t, f, refresh, f.ClientID, 0)
		if err != nil {
			t.Fatal(err)
		}
		sameToken(t, got, refresh)
		k.gone(t, refresh)
		k.found(t, access)
		k.found(t, next[0])
		k.found(t, next[1])
		// The new refresh token rotates in turn.
		next2, _, err := rotate(t, f, next[1], f.ClientID, 0)
		if err != nil {
			t.Fatal(err)
		}
		k.list(t, f.ID, access, next[0], next2[0], next2[1])
	})
	t.Run("ErrOtherClient", func(t *testing.T) {
		f, _, refresh := k.grant(t, resource.NewID(), time.Now().Add(time.Hour))
		next, _, err := rotate(t, f, refresh, resource.NewID(), 0)
		mustHaveCode(t, err, resource.ENotFound)
		k.gone(t, next...)
		k.found(t, refresh) // not consumed
		if _, _, err := rotate(t, f, refresh, f.ClientID, 0); err != nil {
			t.Fatalf("rotate for the right client: %v", err)
		}
	})
	t.Run("ErrAccessToken", func(t *testing.T) {
		f, access, _ := k.grant(t, "", time.Now().Add(time.Hour))
		next, _, err := rotate(t, f, access, f.ClientID, 0)
		mustHaveCode(t, err, resource.ENotFound)
		k.gone(t, next...)
		k.found(t, access)
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		f, _, refresh := k.grant(t, "", time.Now().Add(time.Hour))
		next, _, err := rotate(t, f, k.token(f, resource.TokenRefresh, time.Time{}), f.ClientID, 0)
		mustHaveCode(t, err, resource.ENotFound)
		k.gone(t, next...)
		k.found(t, refresh)
	})
	t.Run("ErrReused", func(t *testing.T) {
		f, access, refresh := k.grant(t, resource.NewID(), time.Now().Add(time.Hour))
		next, _, err := rotate(t, f, refresh, f.ClientID, 0)
		if err != nil {
			t.Fatal(err)
		}
		replay, _, err := rotate(t, f, refresh, f.ClientID, 0)
		mustHaveCode(t, err, resource.EConflict)
		k.gone(t, access, refresh)
		k.gone(t, next...)
		k.gone(t, replay...)
		k.list(t, f.ID)
		// The family is gone: a further replay is merely unknown.
		_, _, err = rotate(t, f, refresh, f.ClientID, 0)
		mustHaveCode(t, err, resource.ENotFound)
	})
	t.Run("ErrReplayWithinGrace", func(t *testing.T) {
		f, access, refresh := k.grant(t, resource.NewID(), time.Now().Add(time.Hour))
		next, _, err := rotate(t, f, refresh, f.ClientID, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		replay, _, err := rotate(t, f, refresh, f.ClientID, time.Minute)
		mustHaveCode(t, err, resource.ENotFound)
		k.gone(t, replay...)
		k.found(t, access)
		k.found(t, next[0])
		k.found(t, next[1])
	})
	t.Run("ErrReplayOtherClient", func(t *testing.T) {
		f, access, refresh := k.grant(t, "", time.Now().Add(time.Hour))
		if _, _, err := rotate(t, f, refresh, f.ClientID, 0); err != nil {
			t.Fatal(err)
		}
		_, _, err := rotate(t, f, refresh, resource.NewID(), 0)
		mustHaveCode(t, err, resource.ENotFound)
		k.found(t, access)
	})
	t.Run("ErrRevokedFamily", func(t *testing.T) {
		f, _, refresh := k.grant(t, "", time.Now().Add(time.Hour))
		if err := k.s.RevokeFamily(t.Context(), f.ID); err != nil {
			t.Fatal(err)
		}
		next, _, err := rotate(t, f, refresh, f.ClientID, 0)
		mustHaveCode(t, err, resource.ENotFound)
		k.gone(t, next...)
		k.list(t, f.ID)
	})
}

// testRotateRefreshConcurrent checks that of 20 concurrent rotations of one
// refresh token exactly one succeeds, and only its tokens are stored.
func testRotateRefreshConcurrent(t *testing.T, k tokenKit) {
	f, _, refresh := k.grant(t, resource.NewID(), time.Now().Add(time.Hour))
	const n = 20
	next := make([]*resource.Token, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		next[i] = k.token(f, resource.TokenRefresh, k.exp(f, time.Hour))
		wg.Go(func() {
			<-start
			_, errs[i] = k.s.RotateRefresh(t.Context(), f.ID, refresh.Hash, f.ClientID, time.Minute, next[i])
		})
	}
	close(start)
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("rotations %d and %d both succeeded", won, i)
		case err == nil:
			won = i
		default:
			mustHaveCode(t, err, resource.ENotFound)
		}
	}
	if won < 0 {
		t.Fatal("no rotation succeeded")
	}
	for i, tok := range next {
		if i == won {
			k.found(t, tok)
		} else {
			k.gone(t, tok)
		}
	}
}

// testRotateRefreshRacesRevocation races rotations against revocations of
// the family (directly, by client and by user): whichever wins, no token of
// the family may survive.
func testRotateRefreshRacesRevocation(t *testing.T, k tokenKit) {
	revokers := map[string]func(f *resource.TokenFamily) error{
		"Family": func(f *resource.TokenFamily) error { return k.s.RevokeFamily(t.Context(), f.ID) },
		"Client": func(f *resource.TokenFamily) error { return k.s.RevokeClient(t.Context(), f.ClientID) },
		"User":   func(f *resource.TokenFamily) error { return k.s.RevokeUser(t.Context(), f.UserID, "") },
	}
	for name, revoke := range revokers {
		t.Run(name, func(t *testing.T) {
			for range 15 {
				f, access, refresh := k.grant(t, resource.NewID(), time.Now().Add(time.Hour))
				next := []*resource.Token{
					k.token(f, resource.TokenAccess, k.exp(f, time.Hour)),
					k.token(f, resource.TokenRefresh, k.exp(f, time.Hour)),
				}
				var rotateErr, revokeErr error
				var wg sync.WaitGroup
				wg.Go(func() {
					_, rotateErr = k.s.RotateRefresh(t.Context(), f.ID, refresh.Hash, f.ClientID, 0, next...)
				})
				wg.Go(func() { revokeErr = revoke(f) })
				wg.Wait()
				if revokeErr != nil {
					t.Fatalf("revoke: %v", revokeErr)
				}
				var rerr *resource.Error
				if rotateErr != nil && !(errors.As(rotateErr, &rerr) && rerr.Code == resource.ENotFound) {
					t.Fatalf("rotate: %v", rotateErr)
				}
				k.gone(t, access, refresh)
				k.gone(t, next...)
				k.list(t, f.ID)
			}
		})
	}
}
