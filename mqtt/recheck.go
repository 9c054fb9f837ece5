package mqtt

import (
	"context"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/assetgate/assetgate/resource"
)

// recheckWorkers bounds the token look-ups of one re-check running at
// once.
const recheckWorkers = 16

// recheckLoop checks the token of every live session every Config.Recheck
// and ends the sessions whose token was revoked or has expired. The token
// stores are shared by every replica (the database, and Redis when there
// is one), so a revocation made on any replica ends the session within one
// period wherever it is.
func (b *Broker) recheckLoop(closing <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-closing
		cancel()
	}()
	t := time.NewTicker(b.cfg.Recheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.recheck(ctx)
		}
	}
}

// recheck checks the tokens of the live sessions once.
func (b *Broker) recheck(ctx context.Context) {
	b.mu.Lock()
	live := make([]*session, 0, len(b.sessions))
	for _, s := range b.sessions {
		live = append(live, s)
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Recheck)
	defer cancel()
	work := make(chan *session)
	var wg sync.WaitGroup
	for range min(recheckWorkers, len(live)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				if s.revoked.Load() {
					continue
				}
				if !b.tokenLive(ctx, s) {
					s.revoked.Store(true)
					b.log.Info("mqtt session ended: its token was revoked or has expired", "device_id", s.deviceID())
					b.disconnect(s.cl, packets.ErrNotAuthorized)
					continue
				}
				if s.bytesChanged() {
					b.putState(s)
				}
			}
		}()
	}
	for _, s := range live {
		work <- s
	}
	close(work)
	wg.Wait()
}

// tokenLive reports whether the session's token is still a live device
// token of its device. A store that does not answer keeps the session (its
// failure is logged).
func (b *Broker) tokenLive(ctx context.Context, s *session) bool {
	t, err := b.deps.Tokens.FindToken(ctx, s.familyID, s.hash)
	switch {
	case resource.ErrorCode(err) == resource.ENotFound:
		return false
	case err != nil:
		if ctx.Err() == nil {
			b.log.Warn("mqtt token re-check", "device_id", s.deviceID(), "err", err)
		}
		return true
	}
	return t.Kind == resource.TokenDevice && t.DeviceID == s.deviceID() && !t.Expired(b.deps.Now())
}
