package resource

import (
	"context"

	"github.com/assetgate/assetgate/scopes"
)

// ListMany returns the live tokens of several devices at once, keyed by
// device id, oldest first, for data loaders; each list is what List
// returns for that device. A device without live tokens, and one the
// principal cannot see (another customer's, unknown, or for a device
// token any device but its own), is absent from the result.
// EUnauthenticated, EForbidden.
func (s *DeviceTokenService) ListMany(ctx context.Context, deviceIDs []string) (map[string][]*DeviceToken, error) {
	p, err := authorize(ctx, scopes.OpDeviceTokens)
	if err != nil {
		return nil, err
	}
	ids := visibleDeviceIDs(p, deviceIDs)
	out := make(map[string][]*DeviceToken, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	tokens, err := s.Store.ListDeviceTokensMany(ctx, p.CustomerID, ids, nowUTC(s.Now))
	if err != nil {
		return nil, err
	}
	for _, t := range tokens {
		out[t.DeviceID] = append(out[t.DeviceID], t)
	}
	return out, nil
}
