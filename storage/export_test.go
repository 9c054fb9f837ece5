package storage

import (
	"context"

	"github.com/assetgate/assetgate/resource"
)

// DevicePageSQL returns the page query that ListDevices runs for q, with ?
// placeholders, and its arguments, so that tests can EXPLAIN it.
func DevicePageSQL(customerID string, q resource.DeviceQuery) (string, []any, error) {
	order, err := orderBy(q.Sort, deviceSorts)
	if err != nil {
		return "", nil, err
	}
	query, args := pageSQL(`SELECT `+deviceColumns+` FROM devices`, deviceConds(customerID, q.Filter), order, q.Offset, q.Limit)
	return query, args, nil
}

// IDAfter exposes idAfter to tests.
func IDAfter(prev string) (string, error) { return idAfter(prev) }

// GroupResult is the answer one batch of WriteGroup got.
type GroupResult struct {
	Events   []*resource.Event
	Replayed bool
	Err      error
}

// WriteGroup writes batches as one group of the committer, as if they had
// queued together, and returns each batch's answer.
func (s *EventStore) WriteGroup(ctx context.Context, batches ...*resource.EventBatch) []GroupResult {
	group := make([]*ingest, len(batches))
	for i, b := range batches {
		group[i] = &ingest{b: b}
	}
	s.commit.write(ctx, group)
	out := make([]GroupResult, len(group))
	for i, in := range group {
		out[i] = GroupResult{in.events, in.replayed, in.err}
	}
	return out
}
