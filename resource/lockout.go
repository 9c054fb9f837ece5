package resource

import (
	"context"
	"log/slog"
	"strconv"
	"time"
)

// KnownBrowser is a browser that signed in to a user before, as the
// signed cookie it carries says (the OAuth pages set and verify it).
type KnownBrowser struct {
	UserID string
	// ID names the browser (from its cookie) in the throttle's counters.
	ID string
}

// LoginOrigin says where a password check comes from, besides its client
// address (NewContextWithClientAddr).
type LoginOrigin struct {
	// Client is the application of a password grant: its attempts are
	// counted per account, client and address. "" on the login pages.
	Client string
	// Browsers are the known-browser entries the request's cookie
	// carries, verified.
	Browsers []KnownBrowser
	// Self names the account's own holder checking its password (a
	// password change with the user's token): counted on its own pair,
	// never locked out by strangers' failures.
	Self string
}

type loginOriginKey struct{}

// NewContextWithLoginOrigin returns a context carrying o for the password
// checks made with it.
func NewContextWithLoginOrigin(ctx context.Context, o LoginOrigin) context.Context {
	return context.WithValue(ctx, loginOriginKey{}, o)
}

func loginOriginFrom(ctx context.Context) LoginOrigin {
	o, _ := ctx.Value(loginOriginKey{}).(LoginOrigin)
	return o
}

// LoginGate is one password check of an account let through the throttle:
// tell it how the check went with Failed, Succeeded or Unchecked.
//
// The throttle works on three levels:
//
//   - per pair of account and origin (the client address; for a password
//     grant the client and the address; a known browser by its cookie; the
//     account's own holder): FreePerPair failures, then each failure makes
//     the pair wait 1 s, 2 s, 4 s … up to MaxDelay before its next try. A
//     success forgets the pair's failures.
//   - per client address over every account (password spraying):
//     MaxPerAddr failures per Window. A known browser signing in to its own
//     account is not counted here.
//   - per account, for strangers only: MaxPerAccount failures in
//     AccountWindow from addresses that never signed in to the account
//     (and browsers without its cookie) lock it, for strangers, until the
//     window ends. The real user's browser (its known-browser cookie) and
//     the addresses the user signed in from go on.
type LoginGate struct {
	t          *LoginThrottle
	counter    string // CounterLogin, or "password" for a password change
	acct, pair string
	addr       string // the address subject, "" when unknown
	known      bool
	att        *Attempt
	acctIndex  int // index of the account counter in att.counts, or -1
	// n is the pair's count with this attempt; ticket, when the attempt
	// took the pair's ticket, its value.
	n      int64
	ticket []byte
}

// The keys of a pair: its count of failures (this attempt counted before
// it is checked, given back when it is not a failure), and its ticket.
// Past the free failures an attempt must take the pair's ticket, which
// says from when the next try is allowed: Take is atomic, so of attempts
// sent at once only one is checked, and the others are refused without
// looking at the password.
const (
	pairKeyPrefix   = throttleKeyPrefix + "pair:"
	ticketKeyPrefix = throttleKeyPrefix + "ticket:"
	knownKeyPrefix  = throttleKeyPrefix + "known:"
)

// inFlightRetry is the Retry-After of an attempt refused because another
// attempt of its pair is being checked.
const inFlightRetry = time.Second

// Enter lets a password check of the account of email (whose user id is
// userID, "" for an unknown e-mail) through the throttle, or refuses it
// with ERateLimited (RetryAfter set) without checking anything. counter
// names the kind of check in logs and events.
func (t *LoginThrottle) Enter(ctx context.Context, counter, email, userID string) (*LoginGate, error) {
	addr, _ := ClientAddrFromContext(ctx)
	o := loginOriginFrom(ctx)
	g := &LoginGate{t: t, counter: counter, acct: t.Account(email), acctIndex: -1}
	if addr != "" {
		g.addr = AddrSubject(addr)
	}
	browser := ""
	for _, b := range o.Browsers {
		if userID != "" && b.UserID == userID {
			browser = b.ID
		}
	}
	switch {
	case o.Self != "":
		g.pair, g.known = "self:"+o.Self, true
	case browser != "":
		g.pair, g.known = "browser:"+browser, true
	default:
		g.pair = "addr:" + g.addr
		if o.Client != "" {
			g.pair = "client:" + o.Client + ":" + g.pair
		}
		if g.addr != "" {
			_, err := t.Store.Get(ctx, knownKeyPrefix+g.acct+":"+g.addr)
			switch ErrorCode(err) {
			case "":
				g.known = true
			case ENotFound:
			default:
				return nil, err
			}
		}
	}
	if err := g.takeTurn(ctx); err != nil {
		return nil, err
	}
	g.att = &Attempt{store: t.Store}
	if browser == "" && o.Self == "" && addr != "" {
		att, err := t.Reserve(ctx, t.PerAddr(CounterLogin, addr))
		if err != nil {
			g.giveBackTurn(ctx)
			if ErrorCode(err) == ERateLimited {
				g.step(ctx, slog.LevelWarn, "login_refused_addr", "login refused: too many failures from this address")
			}
			return nil, err
		}
		g.att.keys, g.att.counts = append(g.att.keys, att.keys...), append(g.att.counts, att.counts...)
	}
	if !g.known {
		att, err := t.Reserve(ctx, t.PerAccount(email))
		if err != nil {
			_ = g.att.Release(ctx)
			g.giveBackTurn(ctx)
			if ErrorCode(err) == ERateLimited {
				g.step(ctx, slog.LevelWarn, "login_refused_locked", "login refused: account locked for unknown addresses")
			}
			return nil, err
		}
		g.acctIndex = len(g.att.counts)
		g.att.keys, g.att.counts = append(g.att.keys, att.keys...), append(g.att.counts, att.counts...)
	}
	return g, nil
}

// takeTurn counts the attempt on its pair, and past the free failures
// takes the pair's ticket: refused with ERateLimited (and given back)
// while the ticket says to wait or another attempt holds it.
func (g *LoginGate) takeTurn(ctx context.Context) error {
	t := g.t
	n, err := t.Store.Incr(ctx, pairKeyPrefix+g.acct+":"+g.pair, orDefaultDuration(t.PairMemory, DefaultPairMemory))
	if err != nil {
		return err
	}
	g.n = n
	if n <= int64(orDefault(t.FreePerPair, DefaultFreeFailuresPerPair)) {
		return nil
	}
	ticketKey := ticketKeyPrefix + g.acct + ":" + g.pair
	v, err := t.Store.Take(ctx, ticketKey)
	wait := inFlightRetry
	switch ErrorCode(err) {
	case "":
		until, perr := strconv.ParseInt(string(v), 10, 64)
		now := t.now().UnixNano()
		if perr == nil && until <= now {
			g.ticket = v
			return nil
		}
		if perr == nil {
			wait = time.Duration(until - now)
		}
		_ = t.Store.Put(context.WithoutCancel(ctx), ticketKey, v, orDefaultDuration(t.PairMemory, DefaultPairMemory))
	case ENotFound: // another attempt of the pair holds it
	default:
		g.giveBackCount(ctx)
		return err
	}
	g.giveBackCount(ctx)
	g.step(ctx, slog.LevelWarn, "login_delayed", "login refused: waiting after failed attempts", slog.Duration("retry_after", wait))
	return &Error{Code: ERateLimited, Message: "Too many failed attempts; try again later.", RetryAfter: wait}
}

// giveBackTurn undoes takeTurn for an attempt that is not checked.
func (g *LoginGate) giveBackTurn(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	g.giveBackCount(ctx)
	if g.ticket != nil {
		_ = g.t.Store.Put(ctx, ticketKeyPrefix+g.acct+":"+g.pair, g.ticket, orDefaultDuration(g.t.PairMemory, DefaultPairMemory))
		g.ticket = nil
	}
}

func (g *LoginGate) giveBackCount(ctx context.Context) {
	_ = g.t.Store.Decr(context.WithoutCancel(ctx), pairKeyPrefix+g.acct+":"+g.pair)
}

// Failed records a wrong password: it stays counted, and from the pair's
// last free failure on, the pair gets a ticket saying when it may try
// again: at once after the last free one, then 1 s, 2 s, 4 s … later.
func (g *LoginGate) Failed(ctx context.Context) {
	t := g.t
	ctx = context.WithoutCancel(ctx)
	if g.t.Observe != nil {
		g.t.Observe(LimitEvent{Kind: "login_failed", Limit: g.counter})
	}
	if g.acctIndex >= 0 && g.att.counts[g.acctIndex] == int64(orDefault(t.MaxPerAccount, DefaultMaxFailuresPerAccount)) {
		g.step(ctx, slog.LevelWarn, "account_locked", "account locked for unknown addresses until the window ends")
	}
	n, free := g.n, int64(orDefault(t.FreePerPair, DefaultFreeFailuresPerPair))
	if n < free {
		return
	}
	var delay time.Duration
	if n > free {
		maxDelay := orDefaultDuration(t.MaxDelay, DefaultMaxLoginDelay)
		delay = maxDelay
		if shift := n - free - 1; shift < 30 {
			delay = min(maxDelay, time.Second<<shift)
		}
	}
	until := t.now().Add(delay)
	err := t.Store.Put(ctx, ticketKeyPrefix+g.acct+":"+g.pair, []byte(strconv.FormatInt(until.UnixNano(), 10)),
		orDefaultDuration(t.PairMemory, DefaultPairMemory))
	if err == nil && delay > 0 {
		g.step(ctx, slog.LevelWarn, "login_delay", "login: next attempt delayed", slog.Int64("failures", n), slog.Duration("delay", delay))
	}
}

// Succeeded records a right password: the attempt no longer counts, the
// pair's failures are forgotten, and the address becomes known to the
// account.
func (g *LoginGate) Succeeded(ctx context.Context) {
	t := g.t
	ctx = context.WithoutCancel(ctx)
	_ = g.att.Release(ctx)
	_ = t.Store.Delete(ctx, pairKeyPrefix+g.acct+":"+g.pair)
	_ = t.Store.Delete(ctx, ticketKeyPrefix+g.acct+":"+g.pair)
	if g.addr != "" {
		_ = t.Store.Put(ctx, knownKeyPrefix+g.acct+":"+g.addr, []byte("1"), orDefaultDuration(t.KnownFor, DefaultKnownFor))
	}
}

// Unchecked gives back an attempt whose password was never checked (a
// store or the hasher unavailable).
func (g *LoginGate) Unchecked(ctx context.Context) {
	_ = g.att.Release(ctx)
	g.giveBackTurn(ctx)
}

// step logs and reports one throttling step.
func (g *LoginGate) step(ctx context.Context, level slog.Level, kind, msg string, attrs ...slog.Attr) {
	if log := g.t.Log; log != nil {
		attrs = append(attrs, slog.String("account", g.acct), slog.String("address", g.addr), slog.Bool("known", g.known),
			slog.String("counter", g.counter))
		log.LogAttrs(ctx, level, "throttle: "+msg, attrs...)
	}
	if g.t.Observe != nil {
		g.t.Observe(LimitEvent{Kind: kind, Limit: g.counter})
	}
}
