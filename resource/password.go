package resource

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters of new hashes: OWASP's recommended minimum (19 MiB,
// 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Bounds of the parameters a stored hash may ask for. A hash never costs
// more memory than the hashes this code makes, which is what a slot of
// PasswordHasher is sized for; time and lanes are bounded so that a
// corrupted or planted hash cannot hold a slot for long.
const (
	maxArgonTime    = 10
	maxArgonThreads = 4
	minArgonKeyLen  = 16
	maxArgonKeyLen  = 64
	minArgonSaltLen = 8
	maxArgonSaltLen = 64
)

// PasswordHashMemory is the memory, in bytes, that one password hash takes
// while it is computed.
const PasswordHashMemory = argonMemory << 10

// Defaults of NewPasswordHasher.
const (
	// DefaultPasswordHashMemoryBudget is the memory, in bytes, that the
	// default concurrency lets password hashing use at once. The garbage
	// of finished hashes makes a slot cost more resident memory than its
	// 19 MiB until the GC runs: a burst of logins measured a server peak
	// RSS of 133 MiB with 2 slots, 191 MiB with 3 and 289 MiB with 6.
	DefaultPasswordHashMemoryBudget = 64 << 20
	// DefaultPasswordHashWait is how long a request waits for a hashing
	// slot before it is refused with EUnavailable.
	DefaultPasswordHashWait = 2 * time.Second
)

// dummyPasswordHash is compared against when no user matches, so that a
// login for an unknown e-mail costs as much as one with a wrong password.
// It has the parameters of new hashes (a test checks it) and matches no
// password anyone knows.
const dummyPasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$9Fqx0w0ofxmhQq3x0K1t8g$AgqiIkmv5pODSdtFYEOM1vuPBsDXyX5Ymch4QdD7A2k"

// DefaultPasswordHashConcurrency is the number of password hashes computed
// at once by default: as many as DefaultPasswordHashMemoryBudget holds, and
// no more than GOMAXPROCS (one hash keeps one core busy), at least one.
func DefaultPasswordHashConcurrency() int {
	return max(1, min(runtime.GOMAXPROCS(0), DefaultPasswordHashMemoryBudget/PasswordHashMemory))
}

// PasswordHasher computes argon2id password hashes, at most a fixed number
// at once: each takes PasswordHashMemory, so an unbounded number of
// concurrent logins would take unbounded memory. A request that finds
// every slot busy waits up to a bound, then fails with EUnavailable. Build
// one with NewPasswordHasher; it is safe for concurrent use.
type PasswordHasher struct {
	slots       chan struct{}
	wait        time.Duration
	evaluations atomic.Int64
}

// NewPasswordHasher returns a hasher that computes at most concurrency
// hashes at once (DefaultPasswordHashConcurrency when not positive) and
// lets a request wait up to wait for a slot (DefaultPasswordHashWait when
// not positive).
func NewPasswordHasher(concurrency int, wait time.Duration) *PasswordHasher {
	if concurrency <= 0 {
		concurrency = DefaultPasswordHashConcurrency()
	}
	if wait <= 0 {
		wait = DefaultPasswordHashWait
	}
	return &PasswordHasher{slots: make(chan struct{}, concurrency), wait: wait}
}

// Concurrency returns how many hashes the hasher computes at once.
func (h *PasswordHasher) Concurrency() int { return cap(h.slots) }

// Evaluations returns how many argon2 hashes the hasher has computed, for
// tests and metrics.
func (h *PasswordHasher) Evaluations() int64 { return h.evaluations.Load() }

// Hash returns an argon2id hash of password in the PHC string format.
// EUnavailable when no slot frees up in time.
func (h *PasswordHasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	p := argonParams{memory: argonMemory, time: argonTime, threads: argonThreads, salt: salt, keyLen: argonKeyLen}
	key, err := h.compute(ctx, p, password)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Matches reports, in constant time, whether password matches an argon2id
// hash made by Hash. A malformed or empty hash, or one whose parameters
// exceed the bounds above, never matches and costs no hashing.
// EUnavailable when no slot frees up in time: the password was not
// checked.
func (h *PasswordHasher) Matches(ctx context.Context, hash, password string) (bool, error) {
	p, want, ok := parseArgonHash(hash)
	if !ok {
		return false, nil
	}
	got, err := h.compute(ctx, p, password)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// compute runs argon2id in a slot. Once it has a slot it finishes, whatever
// becomes of ctx: an evaluated password is always reported.
func (h *PasswordHasher) compute(ctx context.Context, p argonParams, password string) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-h.slots }()
	h.evaluations.Add(1)
	return argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, p.keyLen), nil
}

// acquire takes a slot, waiting up to h.wait.
func (h *PasswordHasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	return &Error{Code: EUnavailable, Message: "The server is busy checking passwords; try again shortly.", RetryAfter: h.wait}
}

// argonParams are the parameters of one argon2id computation.
type argonParams struct {
	memory, time uint32
	threads      uint8
	salt         []byte
	keyLen       uint32
}

// parseArgonHash reads an argon2id PHC string ("$argon2id$v=19$m=..,t=..,
// p=..$salt$key"), checking every parameter against its bounds.
func parseArgonHash(hash string) (argonParams, []byte, bool) {
	var p argonParams
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, false
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return p, nil, false
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		s, ok := strings.CutPrefix(fields[i], name)
		v, err := strconv.ParseUint(s, 10, 32)
		if !ok || err != nil {
			return p, nil, false
		}
		vals[i] = v
	}
	m, t, threads := vals[0], vals[1], vals[2]
	if threads < 1 || threads > maxArgonThreads || t < 1 || t > maxArgonTime || m < 8*threads || m > argonMemory {
		return p, nil, false
	}
	salt, err1 := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < minArgonSaltLen || len(salt) > maxArgonSaltLen ||
		len(key) < minArgonKeyLen || len(key) > maxArgonKeyLen {
		return p, nil, false
	}
	p = argonParams{memory: uint32(m), time: uint32(t), threads: uint8(threads), salt: salt, keyLen: uint32(len(key))}
	return p, key, true
}
