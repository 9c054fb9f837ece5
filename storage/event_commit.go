package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/assetgate/assetgate/resource"
)

// Group commit of ingests.
//
// Every CreateEvents call queues its batch; one of the waiting callers
// leads: it takes what is queued (up to maxGroupEvents events) and writes
// it in one transaction, then answers every caller of the group and hands
// the lead to the next waiting caller, if any. At most maxLeaders groups
// are written at once (one on SQLite, which has a single writer). Nothing
// waits for a group to fill: a lone ingest is written at once, and under
// load the batches that queued while a group was being written form the
// next one. A large batch (soloEvents) is written at once on its own,
// beside the groups. No goroutine runs between calls.
//
// A group's transaction costs a fixed number of statements whatever its
// size: lock the devices' rows (in id order, so that two groups never
// deadlock) and read their customers' retention, look up the idempotency
// keys, store the keys in event_idempotency (when the group has any),
// insert every event, update every device. A batch with an event older
// than its customer's retention is refused (EInvalid) before anything is
// written. A batch whose device is not its customer's, or whose
// idempotency key was used before, is answered apart and does not fail the
// others; a group that fails on the database is written again batch by
// batch, so one request's events never fail another's.

// Group commit bounds.
const (
	// maxGroupEvents bounds the events of one group (a batch larger than
	// that forms a group of its own).
	maxGroupEvents = 1000
	// soloEvents is the size from which a batch is written on its own, at
	// once, beside the groups: it is a group by itself, and single events
	// must not queue behind it.
	soloEvents = 200
	// insertChunk bounds the rows of one multi-row INSERT on SQLite
	// (nine parameters a row, under SQLite's 32,766).
	insertChunk = 3000
)

// ingest is one CreateEvents call waiting in the queue.
type ingest struct {
	b *resource.EventBatch
	// wake receives "lead" and then "done" signals; it holds both, so a
	// signal never blocks its sender.
	wake    chan bool
	leading bool // told to lead; guarded by committer.mu

	events   []*resource.Event
	replayed bool
	err      error
}

// committer gathers concurrent ingests into group transactions.
type committer struct {
	db         *DB
	maxLeaders int
	// geoms caches the geogroup geometries that crossings are tested
	// against (geofence.go).
	geoms *geometryCache
	// serial, on SQLite, lets one transaction write at a time (groups and
	// large batches alike): SQLite has a single writer, and waiting here
	// costs nothing of the database's call time-out.
	serial *sync.Mutex

	// observe, when set, sees each committed transaction: its requests
	// and events.
	observe func(requests, events int)

	mu      sync.Mutex
	queue   []*ingest
	leaders int
}

func newCommitter(db *DB) *committer {
	if db.Dialect == SQLite {
		return &committer{db: db, maxLeaders: 1, serial: &sync.Mutex{}, geoms: &geometryCache{}}
	}
	return &committer{db: db, maxLeaders: 2, geoms: &geometryCache{}}
}

// submit queues b and returns once its group has committed (or failed).
func (c *committer) submit(ctx context.Context, b *resource.EventBatch) ([]*resource.Event, bool, error) {
	in := &ingest{b: b, wake: make(chan bool, 2)}
	if len(b.Events) >= soloEvents {
		c.write(context.WithoutCancel(ctx), []*ingest{in})
		return in.events, in.replayed, in.err
	}
	c.mu.Lock()
	c.queue = append(c.queue, in)
	lead := c.leaders < c.maxLeaders
	if lead {
		c.leaders++
		in.leading = true
	}
	c.mu.Unlock()
	for {
		if lead {
			c.lead(ctx, in)
		}
		if lead = <-in.wake; !lead {
			return in.events, in.replayed, in.err
		}
	}
}

// lead writes one group from the queue, answers its callers, and passes
// the lead on (or gives it up when nothing is queued). self is the
// leader's own ingest, which the group may not hold (another leader took
// it, or the queue ahead of it filled the group): it stops leading, and may
// be told to lead again while it waits.
func (c *committer) lead(ctx context.Context, self *ingest) {
	c.mu.Lock()
	n, events := 0, 0
	for n < len(c.queue) && (n == 0 || events+len(c.queue[n].b.Events) <= maxGroupEvents) {
		events += len(c.queue[n].b.Events)
		n++
	}
	group := slices.Clone(c.queue[:n])
	c.queue = slices.Delete(c.queue, 0, n)
	c.mu.Unlock()

	if len(group) > 0 {
		// The group is everyone's: the leader's request ending must not
		// cancel it.
		c.write(context.WithoutCancel(ctx), group)
		for _, in := range group {
			in.wake <- false
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	self.leading = false
	for _, next := range c.queue {
		if !next.leading {
			next.leading = true
			next.wake <- true
			return
		}
	}
	c.leaders--
}

// write stores a group: in one transaction, or batch by batch when that
// fails on the database (a time-out fails them all: the database is not
// answering).
func (c *committer) write(ctx context.Context, group []*ingest) {
	if c.serial != nil {
		c.serial.Lock()
		defer c.serial.Unlock()
	}
	if err := c.writeGroup(ctx, group); err == nil || len(group) == 1 || resource.IsTimeout(err) {
		for _, in := range group {
			if in.err == nil && in.events == nil {
				in.err = err
			}
		}
		if err == nil {
			c.committed(group)
		}
		return
	}
	for _, in := range group {
		in.err, in.events, in.replayed = nil, nil, false
		for _, e := range in.b.Events {
			e.ID, e.PrevID = "", ""
		}
		in.b.Derived = nil
		err := c.writeGroup(ctx, []*ingest{in})
		if err != nil && in.err == nil && in.events == nil {
			in.err = err
		}
		if err == nil {
			c.committed([]*ingest{in})
		}
	}
}

// committed reports a committed transaction of group to the observer: its
// requests and the events they carried (those refused apart or replayed
// included: they rode in the same transaction).
func (c *committer) committed(group []*ingest) {
	if c.observe == nil {
		return
	}
	events := 0
	for _, in := range group {
		events += len(in.b.Events)
	}
	c.observe(len(group), events)
}

// deviceState is what a group reads and writes of a device's row.
type deviceState struct {
	ID          string          `db:"id"`
	CustomerID  string          `db:"customer_id"`
	LastEventID sql.NullString  `db:"last_event_id"`
	LastEventAt *time.Time      `db:"last_event_at"`
	Latitude    sql.NullFloat64 `db:"latitude"`
	Longitude   sql.NullFloat64 `db:"longitude"`
	Fault       bool            `db:"fault"`
	LocationAt  *time.Time      `db:"location_at"`
	StatusAt    *time.Time      `db:"status_at"`
	// GeofenceVersion is the customer's geofence_version the device's
	// memberships were decided at; Geofenced whether its customer has
	// geogroups (geofence.go).
	GeofenceVersion sql.NullInt64 `db:"geofence_version"`
	Geofenced       bool          `db:"geofenced"`
	// RetentionDays is the event retention of the device's customer.
	RetentionDays int `db:"event_retention_days"`
	changed       bool
}

// writeGroup writes the batches of group in one transaction. Batches the
// database refuses on their own (unknown device, a used idempotency key)
// get their answer and are left out; a returned error is the whole
// transaction's, and no ingest of the group has an answer then but those
// set before the failure (which the caller clears before a retry).
func (c *committer) writeGroup(ctx context.Context, group []*ingest) error {
	var replays []*ingest
	err := c.db.WithTx(ctx, func(tx *Tx) error {
		replays = replays[:0]
		devices, err := c.lockDevices(ctx, tx, group)
		if err != nil {
			return err
		}
		var live []*ingest
		now := c.db.now()
		for _, in := range group {
			d := devices[in.b.DeviceID]
			if d == nil || d.CustomerID != in.b.CustomerID {
				in.err = resource.Errorf(resource.ENotFound, "device %q not found", in.b.DeviceID)
				continue
			}
			if in.err = tooOld(in.b, d.RetentionDays, now); in.err != nil {
				continue
			}
			live = append(live, in)
		}
		live, replays, err = c.usedKeys(ctx, tx, live)
		if err != nil {
			return err
		}
		if len(live) == 0 {
			return nil
		}
		fences, err := c.loadFences(ctx, tx, devices, live)
		if err != nil {
			return err
		}
		rows := 0
		for _, in := range live {
			if err := assign(devices[in.b.DeviceID], in.b, fences); err != nil {
				return err
			}
			rows += len(in.b.Events) + len(in.b.Derived)
		}
		keys, wantKeys, n, err := c.insertEvents(ctx, tx, live)
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		if keys != wantKeys {
			// Another transaction stored one of the keys after we looked
			// (only possible across replicas without the device lock, or
			// a key reused within the group): write batch by batch.
			return errReplay
		}
		if n != rows {
			return fmt.Errorf("insert events: %d of %d rows stored", n, rows)
		}
		if err := fences.finish(ctx, tx, devices); err != nil {
			return err
		}
		if err := c.updateDevices(ctx, tx, devices); err != nil {
			return fmt.Errorf("update devices: %w", err)
		}
		for _, in := range live {
			in.events = in.b.Events
		}
		return nil
	})
	if errors.Is(err, errReplay) && len(group) == 1 {
		replays, err = group, nil
		group[0].events, group[0].b.Derived = nil, nil
	}
	if err != nil {
		for _, in := range group {
			in.events, in.b.Derived = nil, nil
			if code := resource.ErrorCode(in.err); code != resource.ENotFound && code != resource.EInvalid {
				in.err = nil
			}
		}
		return err
	}
	for _, in := range replays {
		in.events, in.err = replayOf(ctx, c.db, in.b)
		in.replayed = in.err == nil
	}
	return nil
}

// lockDevices reads, and on PostgreSQL locks, the rows of the group's
// devices in id order.
func (c *committer) lockDevices(ctx context.Context, tx *Tx, group []*ingest) (map[string]*deviceState, error) {
	ids := make([]string, 0, len(group))
	for _, in := range group {
		ids = append(ids, in.b.DeviceID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	lock := ""
	if c.db.Dialect == Postgres {
		lock = " FOR UPDATE"
	}
	if lock != "" {
		lock += " OF d"
	}
	q, args, err := sqlx.In(`SELECT d.id, d.customer_id, d.last_event_id, d.last_event_at, d.latitude, d.longitude, d.fault,
			d.location_at, d.status_at, d.geofence_version, c.event_retention_days,
			EXISTS (SELECT 1 FROM geogroups g WHERE g.customer_id = d.customer_id) AS geofenced
		FROM devices d JOIN customers c ON c.id = d.customer_id WHERE d.id IN (?) ORDER BY d.id`+lock, ids)
	if err != nil {
		return nil, err
	}
	var rows []*deviceState
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("lock devices: %w", err)
	}
	out := make(map[string]*deviceState, len(rows))
	for _, d := range rows {
		out[d.ID] = d
	}
	return out, nil
}

// usedKeys splits the keyed batches whose key their device used before
// (stored earlier, or earlier in this group) from the rest. Batches are
// stored all or nothing, so a batch was stored iff its first key was.
func (c *committer) usedKeys(ctx context.Context, tx *Tx, live []*ingest) (fresh, used []*ingest, err error) {
	type devKey struct{ device, key string }
	var cond []string
	var args []any
	for _, in := range live {
		if in.b.IdempotencyKey != "" {
			cond = append(cond, "(customer_id = ? AND device_id = ? AND idempotency_key = ?)")
			args = append(args, in.b.CustomerID, in.b.DeviceID, in.b.IdempotencyKey)
		}
	}
	if len(cond) == 0 {
		return live, nil, nil
	}
	var found []struct {
		Device string `db:"device_id"`
		Key    string `db:"idempotency_key"`
	}
	if err := tx.SelectContext(ctx, &found, tx.Rebind(`SELECT device_id, idempotency_key FROM event_idempotency WHERE `+strings.Join(cond, " OR ")), args...); err != nil {
		return nil, nil, fmt.Errorf("idempotency keys: %w", err)
	}
	seen := make(map[devKey]bool, len(found)+len(cond))
	for _, f := range found {
		seen[devKey{f.Device, f.Key}] = true
	}
	for _, in := range live {
		k := devKey{in.b.DeviceID, in.b.IdempotencyKey}
		switch {
		case k.key == "":
			fresh = append(fresh, in)
		case seen[k]:
			used = append(used, in)
		default:
			seen[k] = true
			fresh = append(fresh, in)
		}
	}
	return fresh, used, nil
}

// assign gives the events of b their ids, each above the device's latest
// (so a device's ids grow in commit order even across replicas with skewed
// clocks), and moves the device's state to what b says when b is newer:
// last_event_at to its latest occurred_at, the position to its latest
// location event, the fault to its latest status event. Each location
// event that becomes the position (none later by occurred_at, the later
// of equals) is tested against the fences (nil for none): the geofence
// events of its crossings go into b.Derived, with the ids right after it.
func assign(d *deviceState, b *resource.EventBatch, fences *fencer) error {
	last := d.LastEventID.String
	next := func(e *resource.Event) error {
		e.ID = resource.NewID()
		if e.ID <= last {
			var err error
			if e.ID, err = idAfter(last); err != nil {
				return err
			}
		}
		e.PrevID, last = last, e.ID
		return nil
	}
	b.Derived = nil
	var location, status *resource.Event
	for _, e := range b.Events {
		if err := next(e); err != nil {
			return err
		}
		switch {
		case e.Type == resource.EventLocation && (location == nil || !e.OccurredAt.Before(location.OccurredAt)) &&
			(d.LocationAt == nil || !e.OccurredAt.Before(*d.LocationAt)):
			location = e
			for _, g := range fences.cross(d, e) {
				if err := next(g); err != nil {
					return err
				}
				b.Derived = append(b.Derived, g)
			}
		case e.Type == resource.EventStatus && (status == nil || !e.OccurredAt.Before(status.OccurredAt)):
			status = e
		}
		if d.LastEventAt == nil || d.LastEventAt.Before(e.OccurredAt) {
			t := dbTime(e.OccurredAt)
			d.LastEventAt = &t
		}
	}
	d.LastEventID = sql.NullString{String: last, Valid: true}
	d.changed = true
	if location != nil {
		lat, _ := location.Payload[resource.PayloadLatitude].(float64)
		lon, _ := location.Payload[resource.PayloadLongitude].(float64)
		t := dbTime(location.OccurredAt)
		d.Latitude, d.Longitude, d.LocationAt = sql.NullFloat64{Float64: lat, Valid: true}, sql.NullFloat64{Float64: lon, Valid: true}, &t
	}
	if status != nil && (d.StatusAt == nil || !status.OccurredAt.Before(*d.StatusAt)) {
		fault, _ := status.Payload[resource.PayloadFault].(bool)
		t := dbTime(status.OccurredAt)
		d.Fault, d.StatusAt = fault, &t
	}
	return nil
}

// eventColumnsInsert are the columns an ingest writes.
const eventColumnsInsert = `id, customer_id, device_id, type, occurred_at, received_at, payload`

// idempotencyColumns are the columns of event_idempotency.
const idempotencyColumns = `customer_id, device_id, idempotency_key, event_id, occurred_at, request_hash`

// tooOld returns EInvalid, with the batch field of the first event of b
// that occurred before its customer's retention (days before now), or nil.
// Such an event would never be shown and has no partition to go to on
// PostgreSQL: it is refused rather than stored.
func tooOld(b *resource.EventBatch, days int, now time.Time) error {
	cutoff := retentionCutoff(now, days)
	for i, e := range b.Events {
		if e.OccurredAt.Before(cutoff) {
			return &resource.Error{Code: resource.EInvalid, Field: resource.BatchField(i, "occurred_at"),
				Message: fmt.Sprintf("occurred_at is older than the event retention of %d days", days)}
		}
	}
	return nil
}

// insertEvents stores the idempotency keys of the batches, then their
// events, and returns how many keys and events it stored: on PostgreSQL one
// INSERT of arrays a table (one statement text whatever the count), on
// SQLite multi-row INSERTs. A key used before is not stored again (ON
// CONFLICT DO NOTHING), which the caller sees in the count of keys.
func (c *committer) insertEvents(ctx context.Context, tx *Tx, live []*ingest) (keysStored, wantKeys, events int, err error) {
	var (
		ids, customers, devices, types, payloads []string
		occurred, received                       []time.Time
		kCustomers, kDevices, kKeys, kIDs, kHash []string
		kOccurred                                []time.Time
	)
	for _, in := range live {
		var bk []string
		if in.b.IdempotencyKey != "" {
			bk = batchKeys(in.b)
		}
		for i, e := range slices.Concat(in.b.Events, in.b.Derived) {
			payload, err := json.Marshal(e.Payload)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("event payload: %w", err)
			}
			ids, customers, devices = append(ids, e.ID), append(customers, in.b.CustomerID), append(devices, in.b.DeviceID)
			types, payloads = append(types, string(e.Type)), append(payloads, string(payload))
			occurred, received = append(occurred, dbTime(e.OccurredAt)), append(received, dbTime(e.ReceivedAt))
			if bk != nil && i < len(bk) {
				kCustomers, kDevices, kKeys = append(kCustomers, in.b.CustomerID), append(kDevices, in.b.DeviceID), append(kKeys, bk[i])
				kIDs, kHash, kOccurred = append(kIDs, e.ID), append(kHash, in.b.RequestHash), append(kOccurred, dbTime(e.OccurredAt))
			}
		}
	}
	wantKeys = len(kKeys)
	if c.db.Dialect == Postgres {
		if wantKeys > 0 {
			res, err := tx.ExecContext(ctx, `INSERT INTO event_idempotency (`+idempotencyColumns+`)
				SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
				ON CONFLICT (customer_id, device_id, idempotency_key) DO NOTHING`,
				kCustomers, kDevices, kKeys, kIDs, kOccurred, kHash)
			if err != nil {
				return 0, 0, 0, err
			}
			n, err := res.RowsAffected()
			if err != nil || int(n) != wantKeys {
				return int(n), wantKeys, 0, err
			}
			keysStored = int(n)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO events (`+eventColumnsInsert+`)
			SELECT u.id, u.customer_id, u.device_id, u.type, u.occurred_at, u.received_at, u.payload::jsonb
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[])
				AS u(id, customer_id, device_id, type, occurred_at, received_at, payload)`,
			ids, customers, devices, types, occurred, received, payloads)
		if err != nil {
			return keysStored, wantKeys, 0, err
		}
		n, err := res.RowsAffected()
		return keysStored, wantKeys, int(n), err
	}
	keysStored, err = insertRows(ctx, tx, `INSERT INTO event_idempotency (`+idempotencyColumns+`) VALUES `, 6,
		` ON CONFLICT (customer_id, device_id, idempotency_key) DO NOTHING`, wantKeys, func(i int) []any {
			return []any{kCustomers[i], kDevices[i], kKeys[i], kIDs[i], kOccurred[i], kHash[i]}
		})
	if err != nil || keysStored != wantKeys {
		return keysStored, wantKeys, 0, err
	}
	events, err = insertRows(ctx, tx, `INSERT INTO events (`+eventColumnsInsert+`) VALUES `, 7, "", len(ids), func(i int) []any {
		return []any{ids[i], customers[i], devices[i], types[i], occurred[i], received[i], payloads[i]}
	})
	return keysStored, wantKeys, events, err
}

// insertRows runs multi-row INSERTs of n rows of width parameters each
// (head VALUES ... tail), at most insertChunk rows a statement, and
// returns how many rows they stored.
func insertRows(ctx context.Context, tx *Tx, head string, width int, tail string, n int, row func(i int) []any) (int, error) {
	marks := "(?" + strings.Repeat(", ?", width-1) + ")"
	total := 0
	for start := 0; start < n; start += insertChunk {
		end := min(start+insertChunk, n)
		var sb strings.Builder
		sb.WriteString(head)
		args := make([]any, 0, width*(end-start))
		for i := start; i < end; i++ {
			if i > start {
				sb.WriteString(", ")
			}
			sb.WriteString(marks)
			args = append(args, row(i)...)
		}
		sb.WriteString(tail)
		res, err := tx.ExecContext(ctx, sb.String(), args...)
		if err != nil {
			return 0, err
		}
		m, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		total += int(m)
	}
	return total, nil
}

// updateDevices writes the changed device rows: on PostgreSQL one UPDATE
// from arrays, on SQLite one UPDATE a device.
func (c *committer) updateDevices(ctx context.Context, tx *Tx, devices map[string]*deviceState) error {
	var changed []*deviceState
	for _, d := range devices {
		if d.changed {
			changed = append(changed, d)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	if c.db.Dialect == Postgres {
		n := len(changed)
		ids, lastIDs := make([]string, n), make([]string, n)
		lastAt, locAt, statAt := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
		lat, lon := make([]*float64, n), make([]*float64, n)
		fault := make([]bool, n)
		fenceVersion := make([]*int64, n)
		for i, d := range changed {
			ids[i], lastIDs[i], lastAt[i], locAt[i], statAt[i], fault[i] = d.ID, d.LastEventID.String, d.LastEventAt, d.LocationAt, d.StatusAt, d.Fault
			if d.GeofenceVersion.Valid {
				fenceVersion[i] = &d.GeofenceVersion.Int64
			}
			if d.Latitude.Valid {
				lat[i] = &d.Latitude.Float64
			}
			if d.Longitude.Valid {
				lon[i] = &d.Longitude.Float64
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE devices AS d SET last_event_id = v.last_event_id, last_event_at = v.last_event_at,
			latitude = v.latitude, longitude = v.longitude, fault = v.fault, location_at = v.location_at, status_at = v.status_at,
			geofence_version = v.geofence_version
			FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[], $5::float8[], $6::bool[], $7::timestamptz[], $8::timestamptz[], $9::bigint[])
				AS v(id, last_event_id, last_event_at, latitude, longitude, fault, location_at, status_at, geofence_version)
			WHERE d.id = v.id`, ids, lastIDs, lastAt, lat, lon, fault, locAt, statAt, fenceVersion)
		return err
	}
	for _, d := range changed {
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET last_event_id = ?, last_event_at = ?, latitude = ?, longitude = ?,
			fault = ?, location_at = ?, status_at = ?, geofence_version = ? WHERE id = ?`,
			d.LastEventID.String, d.LastEventAt, d.Latitude, d.Longitude, d.Fault, d.LocationAt, d.StatusAt, d.GeofenceVersion, d.ID); err != nil {
			return err
		}
	}
	return nil
}
