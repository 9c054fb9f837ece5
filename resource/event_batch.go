package resource

import (
	"context"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// StatsMany returns the stats of several devices at once, keyed by device
// id, for data loaders; each is what Stats returns for that device. Ids of
// devices the principal cannot see (another customer's, unknown, or for a
// device token any device but its own) are absent from the result. Like
// Stats it needs devices:read. EUnauthenticated, EForbidden.
func (s *EventService) StatsMany(ctx context.Context, deviceIDs []string) (map[string]*DeviceStats, error) {
	p, err := authorize(ctx, scopes.OpDevicesRead)
	if err != nil {
		return nil, err
	}
	ids := visibleDeviceIDs(p, deviceIDs)
	out := make(map[string]*DeviceStats, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	stats, err := s.Store.DeviceStatsMany(ctx, p.CustomerID, ids, nowUTC(s.Now).Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	if err := s.addConnections(ctx, p.CustomerID, stats); err != nil {
		return nil, err
	}
	for _, st := range stats {
		out[st.DeviceID] = st
	}
	return out, nil
}

// visibleDeviceIDs returns the valid ids among ids, without duplicates,
// that the principal may look at: a device token only its own device's.
// The tenant check is the store's (every batch read names the customer).
func visibleDeviceIDs(p *scopes.Principal, ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range validIDs(ids) {
		if seen[id] || (p.Kind == scopes.KindDevice && id != p.DeviceID) {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}
