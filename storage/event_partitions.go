package storage

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// Event partitions and retention.
//
// On PostgreSQL events is range-partitioned by occurred_at (migration 0011):
// one partition a UTC day, events_pYYYYMMDD, and one partition of
// everything before a day, events_until_YYYYMMDD (the rows of before the
// migration). EventRetention.EnsurePartitions creates the daily partitions
// from the oldest day any customer keeps up to DaysAhead days ahead, and
// drops those whose every row is older than the longest retention of any
// customer. Sweep deletes, in bounded batches, the rows past their own
// customer's retention that no dropped partition took away (every row on
// SQLite, which has one table), and the idempotency keys with them.

// Retention defaults.
const (
	// DefaultRetentionInterval is how often the retention sweep runs.
	DefaultRetentionInterval = time.Hour
	// DefaultPartitionDaysAhead is how many days of partitions exist ahead
	// of today.
	DefaultPartitionDaysAhead = 7
	// DefaultRetentionBatch bounds the rows of one sweep DELETE.
	DefaultRetentionBatch = 5000
	// partitionEvery bounds the time between two runs of EnsurePartitions,
	// whatever the sweep interval.
	partitionEvery = time.Hour
	// dropMargin keeps a partition for this long after its last day left
	// the longest retention, so that no ingest that passed the retention
	// check a moment before finds its partition gone.
	dropMargin = time.Hour
	// partitionLock is the advisory lock key of partition maintenance
	// (migrations hold 7417).
	partitionLock = 7418
	// sweepLock is the advisory lock key of the sweep: one replica sweeps
	// at a time, the others skip their turn.
	sweepLock = 7419
)

// Partition name prefixes.
const (
	dailyPartition = "events_p"
	pastPartition  = "events_until_"
	partitionDay   = "20060102"
)

// EventRetention keeps events within their customers' retention.
type EventRetention struct {
	DB  *DB
	Log *slog.Logger
	// DaysAhead is how many days of partitions to keep ahead (PostgreSQL);
	// zero means DefaultPartitionDaysAhead.
	DaysAhead int
	// Batch bounds the rows of one DELETE; zero means DefaultRetentionBatch.
	Batch int
}

// PartitionChange is what EnsurePartitions did.
type PartitionChange struct {
	Created []string
	Dropped []string
}

func (r *EventRetention) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

func (r *EventRetention) batch() int {
	if r.Batch <= 0 {
		return DefaultRetentionBatch
	}
	return r.Batch
}

// maxRetention returns the longest event retention of any customer (the
// default without customers).
func maxRetention(ctx context.Context, q sqlxQueryer) (int, error) {
	var days sql.NullInt64
	if err := q.GetContext(ctx, &days, `SELECT MAX(event_retention_days) FROM customers`); err != nil {
		return 0, fmt.Errorf("longest retention: %w", err)
	}
	if !days.Valid {
		return resource.DefaultEventRetentionDays, nil
	}
	return int(days.Int64), nil
}

// sqlxQueryer is what maxRetention reads through (a DB or a Tx).
type sqlxQueryer interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
}

// utcDay returns the start of t's UTC day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// EnsurePartitions creates the missing daily partitions of events, from
// the first day within the longest retention (or the end of the partition
// of the past, if later) to DaysAhead days after today, and drops the
// partitions whose rows are all older than the longest retention. It is
// idempotent, and replicas running it at once take turns (each create or
// drop is a transaction holding an advisory lock, which checks again that
// the change is still to be made). A no-op on SQLite.
func (r *EventRetention) EnsurePartitions(ctx context.Context) (*PartitionChange, error) {
	change := &PartitionChange{}
	if r.DB.Dialect != Postgres {
		return change, nil
	}
	ahead := r.DaysAhead
	if ahead <= 0 {
		ahead = DefaultPartitionDaysAhead
	}
	now := r.DB.now()
	days, err := maxRetention(ctx, r.DB)
	if err != nil {
		return nil, err
	}
	var names []string
	if err := r.DB.SelectContext(ctx, &names, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass ORDER BY c.relname`); err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	// keepFrom: a partition whose rows all lie before it holds only rows
	// past every customer's retention.
	keepFrom := retentionCutoff(now, days).Add(-dropMargin)
	first := utcDay(retentionCutoff(now, days))
	var drop []string
	for _, name := range names {
		start, end, ok := partitionRange(name)
		switch {
		case !ok:
			// Not ours: left alone.
		case !end.After(keepFrom):
			drop = append(drop, name)
		case start.IsZero() && end.After(first):
			first = end // the partition of the past covers up to end
		}
	}
	// Each change is a transaction of its own under the advisory lock
	// (short locks on events; replicas take turns and see each other's
	// work through to_regclass).
	locked := func(do func(tx *Tx) (bool, error)) (bool, error) {
		did := false
		err := r.DB.WithTx(ctx, func(tx *Tx) error {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, partitionLock); err != nil {
				return err
			}
			var err error
			did, err = do(tx)
			return err
		})
		return did, err
	}
	exists := func(tx *Tx, name string) (bool, error) {
		var found bool
		err := tx.GetContext(ctx, &found, `SELECT to_regclass($1) IS NOT NULL`, quoteIdent(name))
		return found, err
	}
	for _, name := range drop {
		did, err := locked(func(tx *Tx) (bool, error) {
			if ok, err := exists(tx, name); err != nil || !ok {
				return false, err
			}
			_, err := tx.ExecContext(ctx, `DROP TABLE `+quoteIdent(name))
			return err == nil, err
		})
		if err != nil {
			return change, fmt.Errorf("drop partition %s: %w", name, err)
		}
		if did {
			change.Dropped = append(change.Dropped, name)
		}
	}
	last := utcDay(now).AddDate(0, 0, ahead)
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		name := dailyPartition + day.Format(partitionDay)
		if slices.Contains(names, name) {
			continue
		}
		did, err := locked(func(tx *Tx) (bool, error) {
			if ok, err := exists(tx, name); err != nil || ok {
				return false, err
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE %s PARTITION OF events FOR VALUES FROM ('%s') TO ('%s')`,
				quoteIdent(name), day.Format(time.RFC3339), day.AddDate(0, 0, 1).Format(time.RFC3339)))
			return err == nil, err
		})
		if err != nil {
			return change, fmt.Errorf("create partition %s: %w", name, err)
		}
		if did {
			change.Created = append(change.Created, name)
		}
	}
	if len(change.Created) > 0 || len(change.Dropped) > 0 {
		r.log().Info("event partitions", "created", change.Created, "dropped", change.Dropped)
	}
	return change, nil
}

// partitionRange returns the range of one of our partitions by its name: a
// daily one's day, or the zero start and the end of the partition of the
// past. ok is false for any other name.
func partitionRange(name string) (start, end time.Time, ok bool) {
	if day, found := strings.CutPrefix(name, dailyPartition); found {
		t, err := time.Parse(partitionDay, day)
		return t, t.AddDate(0, 0, 1), err == nil
	}
	if day, found := strings.CutPrefix(name, pastPartition); found {
		t, err := time.Parse(partitionDay, day)
		return time.Time{}, t, err == nil
	}
	return time.Time{}, time.Time{}, false
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// SweepResult is what a sweep deleted.
type SweepResult struct {
	// Skipped is true when another replica was sweeping.
	Skipped bool
	Events  int
	Keys    int
	Batches int
}

// Sweep deletes the events older than their customer's retention, and
// their idempotency keys, in DELETEs of at most Batch rows each (each its
// own transaction, so no long lock is held), logging its progress. On
// PostgreSQL the partitions wholly past the longest retention are gone
// already (EnsurePartitions drops them): the deletes find the rows of the
// customers with a shorter retention, and those of the partitions that
// straddle a cutoff (the day of the cutoff, the partition of the past),
// and the condition on occurred_at keeps them off the newer partitions.
// Reads never return those rows even before a sweep (EventStore bounds
// every query by the retention).
func (r *EventRetention) Sweep(ctx context.Context) (*SweepResult, error) {
	res := &SweepResult{}
	if r.DB.Dialect == Postgres {
		conn, err := r.DB.Conn(ctx)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, sweepLock).Scan(&got); err != nil {
			return nil, fmt.Errorf("sweep lock: %w", err)
		}
		if !got {
			res.Skipped = true
			r.log().Info("event retention: another replica is sweeping")
			return res, nil
		}
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, sweepLock)
		}()
	}
	longest, err := maxRetention(ctx, r.DB)
	if err != nil {
		return nil, err
	}
	var customers []struct {
		ID   string `db:"id"`
		Days int    `db:"event_retention_days"`
	}
	if err := r.DB.SelectContext(ctx, &customers, `SELECT id, event_retention_days FROM customers ORDER BY id`); err != nil {
		return nil, fmt.Errorf("customers: %w", err)
	}
	now := r.DB.now()
	started := time.Now()
	for _, c := range customers {
		cutoff := retentionCutoff(now, c.Days)
		events, err := r.deleteBatches(ctx, res, c.ID, "events",
			`DELETE FROM events WHERE (id, occurred_at) IN (SELECT id, occurred_at FROM events
				WHERE customer_id = ? AND occurred_at < ? LIMIT ?)`, cutoff)
		if err != nil {
			return res, err
		}
		keys, err := r.deleteBatches(ctx, res, c.ID, "idempotency keys",
			`DELETE FROM event_idempotency WHERE (customer_id, device_id, idempotency_key) IN (
				SELECT customer_id, device_id, idempotency_key FROM event_idempotency
				WHERE customer_id = ? AND occurred_at < ? LIMIT ?)`, cutoff)
		if err != nil {
			return res, err
		}
		res.Events, res.Keys = res.Events+events, res.Keys+keys
		if events > 0 || keys > 0 {
			r.log().Info("event retention: customer swept", "customer_id", c.ID, "retention_days", c.Days,
				"cutoff", cutoff, "events_deleted", events, "keys_deleted", keys)
		}
	}
	r.log().Info("event retention: sweep done", "customers", len(customers), "events_deleted", res.Events,
		"keys_deleted", res.Keys, "batches", res.Batches, "longest_retention_days", longest,
		"duration_ms", time.Since(started).Milliseconds())
	return res, nil
}

// deleteBatches runs a bounded DELETE (arguments: the customer, the cutoff,
// the batch size) until it deletes fewer rows than a batch, and returns how
// many it deleted.
func (r *EventRetention) deleteBatches(ctx context.Context, res *SweepResult, customerID, what, query string, cutoff time.Time) (int, error) {
	total, batch := 0, r.batch()
	for {
		out, err := r.DB.ExecContext(ctx, r.DB.Rebind(query), customerID, cutoff, batch)
		if err != nil {
			return total, fmt.Errorf("sweep %s of customer %s: %w", what, customerID, err)
		}
		n, err := out.RowsAffected()
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
		total += int(n)
		res.Batches++
		r.log().Debug("event retention: batch deleted", "customer_id", customerID, "table", what, "rows", n, "total", total)
		if int(n) < batch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// Run keeps partitions and retention until ctx is done: EnsurePartitions
// at once and then at least hourly, Sweep at once and then every interval
// (DefaultRetentionInterval when zero). Failures are logged and retried
// at the next turn.
func (r *EventRetention) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultRetentionInterval
	}
	tick := min(interval, partitionEvery)
	var lastSweep time.Time
	for {
		if _, err := r.EnsurePartitions(ctx); err != nil && ctx.Err() == nil {
			r.log().Error("event partitions", "err", err)
		}
		if lastSweep.IsZero() || time.Since(lastSweep) >= interval-time.Second {
			lastSweep = time.Now()
			if _, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
				r.log().Error("event retention", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(tick):
		}
	}
}
