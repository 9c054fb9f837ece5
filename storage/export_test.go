package storage

import (
	"context"

	"github.com/assetgate/assetgate/resource"
)

// DevicePageSQL returns the statement that ListDevices (withGroups:
// ListDevicesWithGroups) runs for q (the page with its count), with ? placeholders, and its arguments, so that
// tests can EXPLAIN it.
func DevicePageSQL(dialect, customerID string, q resource.DeviceQuery, withGroups bool) (string, []any, error) {
	order, err := orderBy(q.Sort, deviceSorts)
	if err != nil {
		return "", nil, err
	}
	c := deviceConds(dialect, customerID, q.Filter)
	query, args := deviceListSQL(deviceCount(customerID, q.Filter, c), c, order, q.Offset, q.Limit, withGroups)
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

// LeadWithoutOwnBatch queues batches, the last one's caller leading, and
// lets that caller lead one group. The group fills before the leader's own
// batch when the others hold maxGroupEvents events or more: it reports
// whether the lead then came back to that batch (which would otherwise
// wait for ever), and writes the rest.
func (s *EventStore) LeadWithoutOwnBatch(ctx context.Context, batches ...*resource.EventBatch) (handedBack bool) {
	c := s.commit
	var self *ingest
	c.mu.Lock()
	for _, b := range batches {
		self = &ingest{b: b, wake: make(chan bool, 2)}
		c.queue = append(c.queue, self)
	}
	self.leading = true
	c.leaders++
	c.mu.Unlock()
	c.lead(ctx, self)
	select {
	case lead := <-self.wake:
		if lead {
			c.lead(ctx, self)
			return <-self.wake == false
		}
		return false
	default:
		c.mu.Lock()
		c.queue, c.leaders = nil, 0
		c.mu.Unlock()
		return false
	}
}

// MaxGroupEvents exposes maxGroupEvents to tests.
const MaxGroupEvents = maxGroupEvents

// SetSweepBatch makes every statement of s's sweeps delete at most n rows
// and reports each statement's count to seen.
func SetSweepBatch(s *SQLTokenStore, n int, seen func(table string, deleted int64)) {
	s.sweepBatch, s.afterBatch = n, seen
}
