package resource

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPasswordHasher(t *testing.T) {
	h := NewPasswordHasher(2, time.Minute)
	hash, err := h.Hash(t.Context(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, "correct horse") {
		t.Fatalf("hash %q", hash)
	}
	again, _ := h.Hash(t.Context(), "correct horse battery")
	if hash == again {
		t.Fatal("hashes are not salted")
	}
	// Parameters past the bounds are refused before any hashing: a hash
	// asking for 4 GiB, a thousand passes or 255 lanes cannot make a login
	// allocate or spin.
	bounded := func(params string) string {
		parts := strings.Split(hash, "$")
		parts[3] = params
		return strings.Join(parts, "$")
	}
	for _, tc := range []struct {
		name, hash, pw string
		want           bool
	}{
		{"OK", hash, "correct horse battery", true},
		{"ErrWrong", hash, "correct horse batterY", false},
		{"ErrEmptyHash", "", "", false},
		{"ErrMalformed", "$argon2id$v=19$m=1,t=1,p=1$!!$!!", "x", false},
		{"ErrOtherAlgorithm", strings.Replace(hash, "argon2id", "argon2i", 1), "correct horse battery", false},
		{"ErrOtherVersion", strings.Replace(hash, "v=19", "v=16", 1), "correct horse battery", false},
		{"ErrMemoryBound", bounded("m=4194304,t=2,p=1"), "correct horse battery", false},
		{"ErrMemoryOverflow", bounded("m=99999999999,t=2,p=1"), "correct horse battery", false},
		{"ErrTimeBound", bounded("m=19456,t=1000,p=1"), "correct horse battery", false},
		{"ErrZeroTime", bounded("m=19456,t=0,p=1"), "correct horse battery", false},
		{"ErrThreadBound", bounded("m=19456,t=2,p=255"), "correct horse battery", false},
		{"ErrZeroThreads", bounded("m=19456,t=2,p=0"), "correct horse battery", false},
		{"ErrParamOrder", bounded("t=2,m=19456,p=1"), "correct horse battery", false},
		{"ErrShortKey", strings.Join(append(strings.Split(hash, "$")[:5], "AAAA"), "$"), "x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Matches(t.Context(), tc.hash, tc.pw)
			if err != nil || got != tc.want {
				t.Fatalf("Matches = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestPasswordHasherBoundsMemory checks that a stored hash asking for more
// memory than new hashes use is refused without allocating it.
func TestPasswordHasherBoundsMemory(t *testing.T) {
	h := NewPasswordHasher(1, time.Minute)
	huge := "$argon2id$v=19$m=262144,t=1,p=1$9Fqx0w0ofxmhQq3x0K1t8g$AgqiIkmv5pODSdtFYEOM1vuPBsDXyX5Ymch4QdD7A2k"
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ok, err := h.Matches(t.Context(), huge, "x")
	runtime.ReadMemStats(&after)
	if ok || err != nil {
		t.Fatalf("Matches = %v, %v", ok, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("a hash asking for 256 MiB allocated %d bytes", n)
	}
	if h.Evaluations() != 0 {
		t.Fatalf("%d evaluations, want 0", h.Evaluations())
	}
}

func TestDummyPasswordHash(t *testing.T) {
	p, _, ok := parseArgonHash(dummyPasswordHash)
	if !ok || p.memory != argonMemory || p.time != argonTime || p.threads != argonThreads || p.keyLen != argonKeyLen {
		t.Fatalf("the dummy hash %+v does not have the parameters of new hashes: logins of unknown e-mails would be faster", p)
	}
}

// TestPasswordHasherSlots checks the bound on concurrent hashes: with every
// slot busy a request waits, then gets EUnavailable with RetryAfter and no
// hash is computed; a freed slot is taken by a waiting request.
func TestPasswordHasherSlots(t *testing.T) {
	h := NewPasswordHasher(2, 50*time.Millisecond)
	if h.Concurrency() != 2 {
		t.Fatalf("Concurrency = %d", h.Concurrency())
	}
	hash, err := h.Hash(t.Context(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	h.slots <- struct{}{}
	h.slots <- struct{}{}
	n := h.Evaluations()
	t.Run("ErrUnavailable", func(t *testing.T) {
		start := time.Now()
		_, err := h.Matches(t.Context(), hash, "correct horse battery")
		if ErrorCode(err) != EUnavailable || ErrorRetryAfter(err) <= 0 || time.Since(start) < 50*time.Millisecond {
			t.Fatalf("Matches with every slot busy = %v after %v", err, time.Since(start))
		}
		if _, err := h.Hash(t.Context(), "x"); ErrorCode(err) != EUnavailable {
			t.Fatalf("Hash with every slot busy = %v", err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := h.Matches(ctx, hash, "correct horse battery"); ErrorCode(err) != EUnavailable {
			t.Fatalf("Matches of a canceled request = %v", err)
		}
	})
	if h.Evaluations() != n {
		t.Fatal("a refused request computed a hash")
	}
	t.Run("OKFreed", func(t *testing.T) {
		slow := NewPasswordHasher(1, time.Minute)
		slow.slots <- struct{}{}
		var wg sync.WaitGroup
		var ok bool
		var err error
		wg.Go(func() { ok, err = slow.Matches(t.Context(), hash, "correct horse battery") })
		time.Sleep(20 * time.Millisecond)
		<-slow.slots
		wg.Wait()
		if !ok || err != nil {
			t.Fatalf("Matches after a slot freed = %v, %v", ok, err)
		}
	})
}

func TestDefaultPasswordHashConcurrency(t *testing.T) {
	n := DefaultPasswordHashConcurrency()
	if n < 1 || n > runtime.GOMAXPROCS(0) || n*PasswordHashMemory > DefaultPasswordHashMemoryBudget {
		t.Fatalf("default concurrency %d (GOMAXPROCS %d)", n, runtime.GOMAXPROCS(0))
	}
}
