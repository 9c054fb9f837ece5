package resource

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Defaults of LoginThrottle.
const (
	// DefaultLoginWindow is the window of the per-address counters.
	DefaultLoginWindow = 15 * time.Minute
	// DefaultMaxFailuresPerAddr is how many failures one client address
	// may have in a window, over every account (password spraying).
	DefaultMaxFailuresPerAddr = 50
	// DefaultMaxFailuresPerAccount is how many failures from strangers
	// (addresses and browsers that never signed in to the account) lock
	// the account for strangers until DefaultAccountWindow ends: far past
	// what the per-pair delays let one address try.
	DefaultMaxFailuresPerAccount = 100
	DefaultAccountWindow         = time.Hour
	// DefaultFreeFailuresPerPair is how many failures one pair of account
	// and origin (address, or known browser) has before each further one
	// makes it wait: 1 s, then twice as long each time, up to
	// DefaultMaxLoginDelay. A pair's count is forgotten a day after its
	// first failure, and at once after a success.
	DefaultFreeFailuresPerPair = 3
	DefaultMaxLoginDelay       = 15 * time.Minute
	DefaultPairMemory          = 24 * time.Hour
	// DefaultKnownFor is how long an address that signed in to an account
	// stays known to it (each success starts it again).
	DefaultKnownFor = 90 * 24 * time.Hour
)

// LoginLimits are the tunable thresholds of a LoginThrottle (see its
// fields); a zero field keeps its default.
type LoginLimits struct {
	Window        time.Duration
	MaxPerAddr    int
	MaxPerAccount int
	AccountWindow time.Duration
	FreePerPair   int
	MaxDelay      time.Duration
	PairMemory    time.Duration
	KnownFor      time.Duration
}

// Apply sets the thresholds of t that l sets (its non-zero fields).
func (l LoginLimits) Apply(t *LoginThrottle) {
	set := func(dst *time.Duration, v time.Duration) {
		if v != 0 {
			*dst = v
		}
	}
	seti := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	set(&t.Window, l.Window)
	seti(&t.MaxPerAddr, l.MaxPerAddr)
	seti(&t.MaxPerAccount, l.MaxPerAccount)
	set(&t.AccountWindow, l.AccountWindow)
	seti(&t.FreePerPair, l.FreePerPair)
	set(&t.MaxDelay, l.MaxDelay)
	set(&t.PairMemory, l.PairMemory)
	set(&t.KnownFor, l.KnownFor)
}

// Counter names of LoginThrottle.PerAddr.
const (
	// CounterLogin counts logins by password or external token.
	CounterLogin = "login"
	// CounterDeviceCode counts user codes typed on the device page.
	CounterDeviceCode = "device-code"
)

// throttleKeyPrefix starts the ephemeral store keys of the counters.
const throttleKeyPrefix = "throttle:"

// LoginThrottle limits the attempts to guess a secret that a client types
// (a password, at login or when changing it, or a device user code): per
// account and per client address, at most a number of failures in each
// window of Window (fixed windows aligned to multiples of Window).
//
// It counts before it checks: Reserve adds the attempt to every counter
// at once, and refuses it when any counter is past its limit, so that
// concurrent attempts cannot all be checked against a count that none of
// them has raised yet. An attempt whose secret turns out right, or that
// was never checked, is given back with Attempt.Release; a wrong one stays
// counted. Hence no more than the limit of wrong guesses is ever evaluated
// in a window, however many arrive at once.
//
// The counters live in Store, shared by every replica. Replicas with
// clocks apart by d may each start a window up to d early.
type LoginThrottle struct {
	Store EphemeralStore
	// Key is the server key; accounts are named by the keyed hash of
	// their e-mail under it, never by the e-mail.
	Key []byte
	// Window is the length of a counting window; 0 is DefaultLoginWindow.
	Window time.Duration
	// MaxPerAccount is how many failures from strangers lock an account
	// for strangers within AccountWindow; MaxPerAddr how many failures one
	// client address may have in Window. 0 is the default.
	MaxPerAccount int
	MaxPerAddr    int
	AccountWindow time.Duration
	// FreePerPair, MaxDelay, PairMemory and KnownFor tune the per-pair
	// delays and the known addresses (see the defaults); 0 is the
	// default.
	FreePerPair int
	MaxDelay    time.Duration
	PairMemory  time.Duration
	KnownFor    time.Duration
	// Log receives a line per throttling step (never a password, nor the
	// e-mail typed: accounts are named by their keyed hash); nil discards
	// them.
	Log *slog.Logger
	// Observe, when set, is told of each throttling step (metrics).
	Observe func(LimitEvent)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Limit is one counter of an attempt and its limit.
type Limit struct {
	// Name identifies the counter, e.g. "login:addr:192.0.2.7".
	Name string
	// Max is how many attempts the counter allows in a window.
	Max int
	// Window is the counter's window; 0 is the throttle's Window.
	Window time.Duration
}

// Attempt is a reserved attempt: until it is released it counts as a
// failure.
type Attempt struct {
	store EphemeralStore
	keys  []string
	// counts are the counters' values after this attempt, in order.
	counts []int64
}

// Account returns the name of the account of an e-mail address as typed
// (trimmed and lower-cased): its keyed hash, which names it in counters and
// logs.
func (t *LoginThrottle) Account(email string) string {
	return KeyedHash(t.Key, strings.ToLower(strings.TrimSpace(email)))
}

// PerAccount returns the counter of the failures of strangers on the
// account of an e-mail: past it, the account is locked for strangers.
func (t *LoginThrottle) PerAccount(email string) Limit {
	return Limit{Name: CounterLogin + ":account:" + t.Account(email), Max: orDefault(t.MaxPerAccount, DefaultMaxFailuresPerAccount),
		Window: orDefaultDuration(t.AccountWindow, DefaultAccountWindow)}
}

// PerAddr returns the counter of a kind of attempt (CounterLogin,
// CounterDeviceCode) made from a client address (an IPv6 address counts
// under its /64, see AddrSubject).
func (t *LoginThrottle) PerAddr(counter, addr string) Limit {
	return Limit{Name: counter + ":addr:" + AddrSubject(addr), Max: orDefault(t.MaxPerAddr, DefaultMaxFailuresPerAddr)}
}

// Reserve counts an attempt under every limit and returns it. Past any
// limit, the attempt is given back at once and refused with ERateLimited,
// whose RetryAfter is the end of the window. Store errors are returned as
// they are, after giving back what was counted.
func (t *LoginThrottle) Reserve(ctx context.Context, limits ...Limit) (*Attempt, error) {
	at := t.now()
	a := &Attempt{store: t.Store}
	for _, l := range limits {
		window := orDefaultDuration(l.Window, orDefaultDuration(t.Window, DefaultLoginWindow))
		n := at.UnixNano() / int64(window)
		end := time.Unix(0, (n+1)*int64(window))
		key := throttleKeyPrefix + l.Name + ":" + strconv.FormatInt(n, 10)
		// The key lives a window from its first increment, so at least
		// until its window ends.
		count, err := t.Store.Incr(ctx, key, window)
		if err != nil {
			return nil, errors.Join(err, a.Release(ctx))
		}
		a.keys = append(a.keys, key)
		a.counts = append(a.counts, count)
		if count > int64(l.Max) {
			_ = a.Release(ctx) // a store error leaves it counted: the safe side
			return nil, &Error{Code: ERateLimited, Message: "Too many failed attempts; try again later.", RetryAfter: end.Sub(at)}
		}
	}
	return a, nil
}

// Release gives the attempt back: it no longer counts. Call it when the
// secret was right or was never checked; never after a wrong one. It runs
// even when ctx is canceled, and a second call does nothing. On a store
// error the attempt may stay counted, which errs on the safe side; callers
// may ignore the error.
func (a *Attempt) Release(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, k := range a.keys {
		errs = append(errs, a.store.Decr(ctx, k))
	}
	a.keys = nil
	return errors.Join(errs...)
}

func (t *LoginThrottle) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func orDefaultDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// clientAddrKey is the context key of the client's address.
type clientAddrKey struct{}

// NewContextWithClientAddr returns a context carrying the network address
// of the client a request comes from, for the throttle's per-address
// counters.
func NewContextWithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddrFromContext returns the client address of ctx, if any.
func ClientAddrFromContext(ctx context.Context) (string, bool) {
	addr, ok := ctx.Value(clientAddrKey{}).(string)
	return addr, ok && addr != ""
}
