package resource

import (
	"sync"
	"sync/atomic"

	"github.com/assetgate/assetgate/scopes"
)

// DefaultMaxStreamsPerPrincipal is how many live event streams (SSE
// streams and GraphQL subscriptions together) one principal may hold open
// on one replica when the configuration says nothing.
const DefaultMaxStreamsPerPrincipal = 100

// Caps bounds how many long-lived things (live streams, WebSocket
// connections) each principal holds open at once on this replica. A zero
// Max means no bound. It is safe for concurrent use; the zero value is not
// usable, call NewCaps.
type Caps struct {
	max     int
	mu      sync.Mutex
	open    map[string]int
	refused atomic.Int64
}

// NewCaps returns caps of max per principal (0: no bound).
func NewCaps(max int) *Caps { return &Caps{max: max, open: map[string]int{}} }

// Acquire takes one place for p, or returns false (and counts a refusal)
// when p holds Max already. The release function gives the place back;
// calling it more than once gives it back once.
func (c *Caps) Acquire(p *scopes.Principal) (release func(), ok bool) {
	key := PrincipalKey(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max > 0 && c.open[key] >= c.max {
		c.refused.Add(1)
		return nil, false
	}
	c.open[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.open[key]--; c.open[key] <= 0 {
				delete(c.open, key)
			}
		})
	}, true
}

// Refused returns how many acquisitions were refused since start.
func (c *Caps) Refused() int64 { return c.refused.Load() }

// Open returns how many places are held in all.
func (c *Caps) Open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.open {
		n += v
	}
	return n
}

// PrincipalKey names who a principal is, for counting what it holds: a
// user across all its tokens and applications, an application across its
// tokens, a device across its tokens.
func PrincipalKey(p *scopes.Principal) string {
	switch p.Kind {
	case scopes.KindUser:
		return "user:" + p.UserID
	case scopes.KindDevice:
		return "device:" + p.DeviceID
	default:
		return "application:" + p.ClientID
	}
}
