package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/assetgate/assetgate/resource"
)

// EventStore keeps events in the SQL database.
type EventStore struct {
	db     *DB
	commit *committer
}

var _ resource.EventStore = (*EventStore)(nil)

// NewEventStore returns an EventStore on db.
func NewEventStore(db *DB) *EventStore {
	return &EventStore{db: db, commit: newCommitter(db)}
}

// ObserveCommits makes the store report every committed transaction of its
// group commit (event_commit.go) to fn: how many ingest requests and
// events it wrote. Call it before the store is used.
func (s *EventStore) ObserveCommits(fn func(requests, events int)) { s.commit.observe = fn }

// eventRow is an events row.
type eventRow struct {
	ID         string    `db:"id"`
	CustomerID string    `db:"customer_id"`
	DeviceID   string    `db:"device_id"`
	Type       string    `db:"type"`
	OccurredAt time.Time `db:"occurred_at"`
	ReceivedAt time.Time `db:"received_at"`
	Payload    string    `db:"payload"`
	// RequestHash is read for idempotent replays only.
	RequestHash sql.NullString `db:"request_hash"`
}

const eventColumns = `id, customer_id, device_id, type, occurred_at, received_at, CAST(payload AS TEXT) AS payload`

// event returns the resource value of r, its times in UTC.
func (r *eventRow) event() (*resource.Event, error) {
	payload := map[string]any{}
	if err := json.Unmarshal([]byte(r.Payload), &payload); err != nil {
		return nil, fmt.Errorf("event %s: payload: %w", r.ID, err)
	}
	return &resource.Event{ID: r.ID, CustomerID: r.CustomerID, DeviceID: r.DeviceID, Type: resource.EventType(r.Type),
		OccurredAt: dbTime(r.OccurredAt), ReceivedAt: dbTime(r.ReceivedAt), Payload: payload}, nil
}

func eventsOf(rows []eventRow) ([]*resource.Event, error) {
	out := make([]*resource.Event, len(rows))
	for i := range rows {
		e, err := rows[i].event()
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// errReplay makes a group's transaction roll back when an idempotency key
// turned out to be used already.
var errReplay = errors.New("idempotency key used before")

// CreateEvents stores a batch and updates its device, through the group
// committer (event_commit.go): concurrent batches are written together in
// one transaction, and each caller returns once its batch has committed.
// A device's row lock orders the ingests of one device (PostgreSQL;
// SQLite runs one writer at a time), and ids are assigned under that lock,
// each greater than the device's latest. See resource.EventStore.
func (s *EventStore) CreateEvents(ctx context.Context, b *resource.EventBatch) ([]*resource.Event, bool, error) {
	if len(b.Events) == 0 {
		return nil, false, errors.New("storage: empty event batch")
	}
	events, replayed, err := s.commit.submit(ctx, b)
	if err != nil {
		for _, e := range b.Events {
			e.ID, e.PrevID = "", ""
		}
		b.Derived = nil
		return nil, false, err
	}
	return events, replayed, nil
}

// batchKeys returns the idempotency keys of a batch's events: the key on
// the first, KEY#i on the others.
func batchKeys(b *resource.EventBatch) []string {
	keys := make([]string, len(b.Events))
	for i := range keys {
		keys[i] = b.IdempotencyKey
		if i > 0 {
			keys[i] += "#" + strconv.Itoa(i)
		}
	}
	return keys
}

// replayOf returns the events stored under a batch's idempotency keys when
// they were stored for the same request; EConflict otherwise.
func replayOf(ctx context.Context, db *DB, b *resource.EventBatch) ([]*resource.Event, error) {
	conflict := resource.Errorf(resource.EConflict, "the idempotency key was used before with another request")
	keys := batchKeys(b)
	q, args, err := sqlx.In(`SELECT e.id, e.customer_id, e.device_id, e.type, e.occurred_at, e.received_at,
			CAST(e.payload AS TEXT) AS payload, k.request_hash
		FROM event_idempotency k JOIN events e
			ON e.customer_id = k.customer_id AND e.id = k.event_id AND e.occurred_at = k.occurred_at
		WHERE k.customer_id = ? AND k.device_id = ? AND k.idempotency_key IN (?) ORDER BY e.id`, b.CustomerID, b.DeviceID, keys)
	if err != nil {
		return nil, err
	}
	var rows []eventRow
	if err := db.SelectContext(ctx, &rows, db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("replay events: %w", err)
	}
	if len(rows) != len(keys) {
		return nil, conflict
	}
	for _, r := range rows {
		if !r.RequestHash.Valid || r.RequestHash.String != b.RequestHash {
			return nil, conflict
		}
	}
	return eventsOf(rows)
}

// idAfter returns the UUIDv7 that follows prev: its random bits plus one
// (carrying into the timestamp in the unlikely case they overflow), with
// the version and variant bits kept.
func idAfter(prev string) (string, error) {
	u, err := uuid.Parse(prev)
	if err != nil {
		return "", fmt.Errorf("event id %q: %w", prev, err)
	}
	// rand_b: the low 6 bits of byte 8 and bytes 9..15.
	for i := 15; i >= 9; i-- {
		u[i]++
		if u[i] != 0 {
			return u.String(), nil
		}
	}
	if u[8]&0x3f != 0x3f {
		u[8]++
		return u.String(), nil
	}
	u[8] &^= 0x3f
	// rand_a: the low 4 bits of byte 6 and byte 7.
	if u[7]++; u[7] != 0 {
		return u.String(), nil
	}
	if u[6]&0x0f != 0x0f {
		u[6]++
		return u.String(), nil
	}
	u[6] &^= 0x0f
	// The 48-bit millisecond timestamp.
	for i := 5; i >= 0; i-- {
		if u[i]++; u[i] != 0 {
			break
		}
	}
	return u.String(), nil
}

// retentionCutoff is the oldest occurred_at kept by a retention of days
// at now.
func retentionCutoff(now time.Time, days int) time.Time {
	return dbTime(now).Add(-time.Duration(days) * 24 * time.Hour)
}

// retained returns the condition "occurred_at is within the customer's
// retention" and its arguments, to AND into a query of the customer's
// events: every read of events has it, so an event past retention is
// never returned, between the sweeps too (and on PostgreSQL the bound,
// known when the query starts, prunes the partitions before it). It reads
// the retention in the same statement, with a subquery; a day is 24 hours
// (as for the ingest's check and the sweep), whatever the session's time
// zone. On SQLite, whose
// times are text (YYYY-MM-DD HH:MM:SS.ffffff+00:00), the bound is
// computed at millisecond precision.
func (s *EventStore) retained(column, customerID string) (string, []any) {
	now := s.db.now()
	if s.db.Dialect == Postgres {
		return column + ` >= CAST(? AS TIMESTAMPTZ) - make_interval(hours => 24 * (SELECT event_retention_days FROM customers WHERE id = ?))`,
			[]any{now, customerID}
	}
	return column + ` >= strftime('%Y-%m-%d %H:%M:%f', ?, '-' || (SELECT event_retention_days FROM customers WHERE id = ?) || ' days') || '+00:00'`,
		[]any{now.Format("2006-01-02 15:04:05.000000"), customerID}
}

// eventSorts maps the sort fields of resource.EventQuerySpec to columns.
var eventSorts = map[string]sortColumn{
	"occurred_at": {expr: "occurred_at"},
}

// ListEvents returns the page of the customer's events that q selects and
// how many match in all.
func (s *EventStore) ListEvents(ctx context.Context, customerID string, q resource.EventQuery) ([]*resource.Event, int, error) {
	c := &conds{}
	c.add("customer_id = ?", customerID)
	bound, args := s.retained("occurred_at", customerID)
	c.add(bound, args...)
	f := q.Filter
	if len(f.DeviceIDs) > 0 {
		c.in("device_id", f.DeviceIDs)
	}
	if len(f.Types) > 0 {
		c.in("type", resource.Names(f.Types))
	}
	if f.Since != nil {
		c.add("occurred_at >= ?", dbTime(*f.Since))
	}
	if f.Until != nil {
		c.add("occurred_at < ?", dbTime(*f.Until))
	}
	order, err := orderBy(q.Sort, eventSorts)
	if err != nil {
		return nil, 0, err
	}
	rows, total, err := listPage[eventRow](ctx, s.db, `SELECT `+eventColumns+` FROM events`, countAll("events", c), c, order, q.Offset, q.Limit)
	if err != nil {
		return nil, 0, fmt.Errorf("events: %w", err)
	}
	events, err := eventsOf(rows)
	return events, total, err
}

// FindEvent returns an event of the customer, or ENotFound.
func (s *EventStore) FindEvent(ctx context.Context, customerID, id string) (*resource.Event, error) {
	bound, args := s.retained("occurred_at", customerID)
	var r eventRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+eventColumns+` FROM events WHERE customer_id = ? AND id = ? AND `+bound),
		append([]any{customerID, id}, args...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, resource.Errorf(resource.ENotFound, "event %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find event: %w", err)
	}
	return r.event()
}

// EventsAfter returns, by id, up to limit events of a device of the
// customer whose id is greater than afterID.
func (s *EventStore) EventsAfter(ctx context.Context, customerID, deviceID, afterID string, limit int) ([]*resource.Event, error) {
	bound, args := s.retained("occurred_at", customerID)
	rows := []eventRow{}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+eventColumns+` FROM events
		WHERE customer_id = ? AND device_id = ? AND id > ? AND `+bound+` ORDER BY id LIMIT ?`),
		append(append([]any{customerID, deviceID, afterID}, args...), max(limit, 0))...)
	if err != nil {
		return nil, fmt.Errorf("events after: %w", err)
	}
	return eventsOf(rows)
}

// LastEventID returns the greatest event id of a device of the customer
// among the events within its retention, or "".
func (s *EventStore) LastEventID(ctx context.Context, customerID, deviceID string) (string, error) {
	bound, args := s.retained("occurred_at", customerID)
	var id string
	err := s.db.GetContext(ctx, &id, s.db.Rebind(`SELECT COALESCE(MAX(id), '') FROM events
		WHERE customer_id = ? AND device_id = ? AND `+bound), append([]any{customerID, deviceID}, args...)...)
	if err != nil {
		return "", fmt.Errorf("latest event id: %w", err)
	}
	return id, nil
}

// CustomerEventsAfter returns, by id, up to limit events of the customer
// within its retention whose id is greater than afterID (index
// events_customer_id_id_idx).
func (s *EventStore) CustomerEventsAfter(ctx context.Context, customerID, afterID string, limit int) ([]*resource.Event, error) {
	bound, args := s.retained("occurred_at", customerID)
	rows := []eventRow{}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+eventColumns+` FROM events
		WHERE customer_id = ? AND id > ? AND `+bound+` ORDER BY id LIMIT ?`),
		slices.Concat([]any{customerID, afterID}, args, []any{max(limit, 0)})...)
	if err != nil {
		return nil, fmt.Errorf("customer events after: %w", err)
	}
	return eventsOf(rows)
}

// LastCustomerEventID returns the greatest id of the customer's events
// within its retention, or "".
func (s *EventStore) LastCustomerEventID(ctx context.Context, customerID string) (string, error) {
	bound, args := s.retained("occurred_at", customerID)
	var id string
	err := s.db.GetContext(ctx, &id, s.db.Rebind(`SELECT COALESCE(MAX(id), '') FROM events WHERE customer_id = ? AND `+bound),
		slices.Concat([]any{customerID}, args)...)
	if err != nil {
		return "", fmt.Errorf("latest customer event id: %w", err)
	}
	return id, nil
}

// CountEvents returns how many events a device of the customer has within
// its retention, in all and since the given time.
func (s *EventStore) CountEvents(ctx context.Context, customerID, deviceID string, since time.Time) (*resource.EventCounts, error) {
	bound, args := s.retained("occurred_at", customerID)
	var c resource.EventCounts
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT
		(SELECT COUNT(*) FROM events WHERE customer_id = ? AND device_id = ? AND `+bound+`),
		(SELECT COUNT(*) FROM events WHERE customer_id = ? AND device_id = ? AND `+bound+` AND occurred_at >= ?)`),
		slices.Concat([]any{customerID, deviceID}, args, []any{customerID, deviceID}, args, []any{dbTime(since)})...).Scan(&c.Total, &c.Recent)
	if err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	return &c, nil
}
