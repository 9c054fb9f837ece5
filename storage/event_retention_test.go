package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// logLines is a slog handler's output as JSON records.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// records returns the records whose msg is msg.
func (l *logLines) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

func newLogged() (*logLines, *slog.Logger) {
	l := &logLines{}
	return l, slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// keyedBatch is a batch of fresh events of a device under an idempotency
// key.
func keyedBatch(customerID, deviceID, key string, at ...time.Time) *resource.EventBatch {
	b := &resource.EventBatch{CustomerID: customerID, DeviceID: deviceID, IdempotencyKey: key, RequestHash: "hash-" + key}
	for _, t := range at {
		b.Events = append(b.Events, storagetest.NewEvent(customerID, deviceID, resource.EventShock, t))
	}
	return b
}

// TestEventRetention stores events within a retention of 90 days, shortens
// one customer's retention to 2 days: its older events disappear from every
// read at once, and the sweep deletes them (and their idempotency keys) in
// batches of the configured size, logging its progress; the other
// customer's events stay. An event older than the retention is refused.
func TestEventRetention(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		customers, devices, events := storage.NewCustomerStore(db), storage.NewDeviceStore(db), storage.NewEventStore(db)
		short, long := storagetest.MustCreateCustomer(t, customers), storagetest.MustCreateCustomer(t, customers)
		ds := storagetest.MustCreateDevice(t, devices, storagetest.NewDevice(short.ID, time.Now()))
		dl := storagetest.MustCreateDevice(t, devices, storagetest.NewDevice(long.ID, time.Now()))
		now := time.Now().UTC().Truncate(time.Second)
		var old []*resource.Event
		for i := range 5 {
			b := keyedBatch(short.ID, ds.ID, "old-"+string(rune('a'+i)), now.Add(-5*24*time.Hour+time.Duration(i)*time.Minute))
			got, _, err := events.CreateEvents(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			old = append(old, got...)
		}
		fresh, _, err := events.CreateEvents(ctx, keyedBatch(short.ID, ds.ID, "fresh", now.Add(-time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		kept := storagetest.MustCreateEvents(t, events, storagetest.NewEvent(long.ID, dl.ID, resource.EventShock, now.Add(-5*24*time.Hour)))

		if _, err := customers.SetEventRetention(ctx, short.ID, 2, now); err != nil {
			t.Fatal(err)
		}
		t.Run("HiddenBeforeTheSweep", func(t *testing.T) {
			list, total, err := events.ListEvents(ctx, short.ID, resource.EventQuery{Limit: 100})
			if err != nil || total != 1 || len(list) != 1 || list[0].ID != fresh[0].ID {
				t.Fatalf("list: %d of %d (%v), want only %s", len(list), total, err, fresh[0].ID)
			}
			if _, err := events.FindEvent(ctx, short.ID, old[0].ID); resource.ErrorCode(err) != resource.ENotFound {
				t.Errorf("find an expired event: %v, want ENotFound", err)
			}
			after, err := events.EventsAfter(ctx, short.ID, ds.ID, "", 100)
			if err != nil || len(after) != 1 || after[0].ID != fresh[0].ID {
				t.Errorf("resume from the start: %v %v, want only %s", after, err, fresh[0].ID)
			}
			counts, err := events.CountEvents(ctx, short.ID, ds.ID, now.Add(-30*24*time.Hour))
			if err != nil || counts.Total != 1 || counts.Recent != 1 {
				t.Errorf("counts %+v %v, want 1 and 1", counts, err)
			}
			stats, err := events.DeviceStatsMany(ctx, short.ID, []string{ds.ID}, now.Add(-30*24*time.Hour))
			if err != nil || len(stats) != 1 || stats[0].TotalEvents != 1 {
				t.Errorf("stats %+v %v, want 1 event", stats, err)
			}
			if n := count(t, db, "events", "customer_id = ?", short.ID); n != 6 {
				t.Errorf("%d rows before the sweep, want all 6", n)
			}
			// The other customer keeps 90 days.
			if _, err := events.FindEvent(ctx, long.ID, kept[0].ID); err != nil {
				t.Errorf("the other customer's event: %v", err)
			}
		})
		t.Run("OlderEventRefused", func(t *testing.T) {
			before := count(t, db, "events", "customer_id = ?", short.ID)
			b := keyedBatch(short.ID, ds.ID, "late", now.Add(-time.Minute), now.Add(-3*24*time.Hour))
			_, _, err := events.CreateEvents(ctx, b)
			if resource.ErrorCode(err) != resource.EInvalid || resource.ErrorField(err) != "[1].occurred_at" {
				t.Fatalf("late event: %v (field %q), want EInvalid on [1].occurred_at", err, resource.ErrorField(err))
			}
			if n := count(t, db, "events", "customer_id = ?", short.ID); n != before {
				t.Errorf("%d rows after a refused batch, want %d", n, before)
			}
			if n := count(t, db, "event_idempotency", "idempotency_key = ?", "late"); n != 0 {
				t.Errorf("the refused batch's key was stored")
			}
		})
		t.Run("Sweep", func(t *testing.T) {
			logs, log := newLogged()
			r := &storage.EventRetention{DB: db, Log: log, Batch: 2}
			res, err := r.Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Events != 5 || res.Keys != 5 {
				t.Errorf("swept %+v, want 5 events and 5 keys", res)
			}
			if n := count(t, db, "events", "customer_id = ?", short.ID); n != 1 {
				t.Errorf("%d rows of the short retention after the sweep, want 1", n)
			}
			if n := count(t, db, "event_idempotency", "customer_id = ?", short.ID); n != 1 {
				t.Errorf("%d keys after the sweep, want the fresh one", n)
			}
			if n := count(t, db, "events", "customer_id = ?", long.ID); n != 1 {
				t.Errorf("%d rows of the long retention, want 1", n)
			}
			batches := logs.records(t, "event retention: batch deleted")
			if len(batches) < 6 { // 5 events and 5 keys, 2 at a time
				t.Errorf("%d batches logged, want at least 6", len(batches))
			}
			for _, b := range batches {
				if b["rows"].(float64) > 2 {
					t.Errorf("a batch of %v rows, bound 2", b["rows"])
				}
			}
			done := logs.records(t, "event retention: sweep done")
			if len(done) != 1 || done[0]["events_deleted"] != 5.0 {
				t.Errorf("summary %v", done)
			}
			if swept := logs.records(t, "event retention: customer swept"); len(swept) != 1 || swept[0]["customer_id"] != short.ID {
				t.Errorf("customers logged %v, want the short one", swept)
			}
			// A second sweep has nothing to do.
			if res, err := r.Sweep(ctx); err != nil || res.Events != 0 || res.Keys != 0 {
				t.Errorf("second sweep %+v %v", res, err)
			}
		})
		t.Run("FreshKeyStillReplays", func(t *testing.T) {
			// The fresh key still replays its event.
			got, replayed, err := events.CreateEvents(ctx, keyedBatch(short.ID, ds.ID, "fresh", now.Add(-time.Hour)))
			if err != nil || !replayed || got[0].ID != fresh[0].ID {
				t.Fatalf("replay: %v %v %v", got, replayed, err)
			}
		})
	})
}

// TestEventIdempotencyAcrossPartitions stores a batch whose events fall on
// two days (two partitions on PostgreSQL) twice under one key: one copy of
// each event, and the second call replays the first.
func TestEventIdempotencyAcrossPartitions(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		cust := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
		d := storagetest.MustCreateDevice(t, storage.NewDeviceStore(db), storagetest.NewDevice(cust.ID, time.Now()))
		events := storage.NewEventStore(db)
		// Tomorrow 23:59 and the day after 00:01, UTC: two daily
		// partitions that the migration created ahead.
		y, m, dd := time.Now().UTC().Date()
		midnight := time.Date(y, m, dd+2, 0, 0, 0, 0, time.UTC)
		at := []time.Time{midnight.Add(-time.Minute), midnight.Add(time.Minute)}
		first, replayed, err := events.CreateEvents(ctx, keyedBatch(cust.ID, d.ID, "twice", at...))
		if err != nil || replayed {
			t.Fatalf("first: %v %v", err, replayed)
		}
		var wg sync.WaitGroup
		results := make([][]*resource.Event, 4)
		errs := make([]error, 4)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], _, errs[i] = events.CreateEvents(ctx, keyedBatch(cust.ID, d.ID, "twice", at...))
			}()
		}
		wg.Wait()
		for i := range results {
			if errs[i] != nil || len(results[i]) != 2 || results[i][0].ID != first[0].ID || results[i][1].ID != first[1].ID {
				t.Errorf("retry %d: %v %v, want the first ids", i, results[i], errs[i])
			}
		}
		if n := count(t, db, "events", "device_id = ?", d.ID); n != 2 {
			t.Errorf("%d events stored, want 2", n)
		}
		if db.Dialect == storage.Postgres {
			var parts []string
			if err := db.SelectContext(ctx, &parts, `SELECT DISTINCT tableoid::regclass::text FROM events WHERE device_id = $1 ORDER BY 1`, d.ID); err != nil {
				t.Fatal(err)
			}
			if len(parts) != 2 {
				t.Errorf("the events are in partitions %v, want two", parts)
			}
		}
	})
}

// partitions returns the names of the partitions of events.
func partitions(t testing.TB, db *storage.DB) []string {
	t.Helper()
	var names []string
	if err := db.SelectContext(t.Context(), &names, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass ORDER BY c.relname`); err != nil {
		t.Fatal(err)
	}
	return names
}

func dayName(t time.Time) string { return "events_p" + t.UTC().Format("20060102") }

// TestEventPartitions (PostgreSQL): the migration made the partition of the
// past and seven days ahead; EnsurePartitions makes the days ahead it is
// asked for, idempotently, and two replicas doing it at once make each
// partition once; once a partition's days are older than every customer's
// retention it is dropped, with its rows, and the others stay.
func TestEventPartitions(t *testing.T) {
	ctx := context.Background()
	url := storagetest.PostgresURL(t)
	open := func() *storage.DB {
		db, err := storage.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db := open()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	names := partitions(t, db)
	if len(names) != 8 || !strings.HasPrefix(names[7], "events_until_") || names[0] != dayName(today.AddDate(0, 0, 1)) ||
		names[6] != dayName(today.AddDate(0, 0, 7)) {
		t.Fatalf("partitions after the migration %v", names)
	}
	t.Run("Ahead", func(t *testing.T) {
		r := &storage.EventRetention{DB: db, DaysAhead: 10}
		change, err := r.EnsurePartitions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{dayName(today.AddDate(0, 0, 8)), dayName(today.AddDate(0, 0, 9)), dayName(today.AddDate(0, 0, 10))}
		if !slices.Equal(change.Created, want) || len(change.Dropped) != 0 {
			t.Errorf("created %v dropped %v, want %v", change.Created, change.Dropped, want)
		}
		if again, err := r.EnsurePartitions(ctx); err != nil || len(again.Created)+len(again.Dropped) != 0 {
			t.Errorf("second run %+v %v, want nothing to do", again, err)
		}
	})
	t.Run("TwoReplicasAtOnce", func(t *testing.T) {
		// Two connection pools, as two servers have.
		other := open()
		var wg sync.WaitGroup
		changes := make([]*storage.PartitionChange, 2)
		errs := make([]error, 2)
		for i, d := range []*storage.DB{db, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				changes[i], errs[i] = (&storage.EventRetention{DB: d, DaysAhead: 30}).EnsurePartitions(ctx)
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("errors %v %v", errs[0], errs[1])
		}
		all := append(slices.Clone(changes[0].Created), changes[1].Created...)
		slices.Sort(all)
		if len(all) != 20 || len(slices.Compact(slices.Clone(all))) != 20 {
			t.Errorf("created %v and %v, want days 11..30 once", changes[0].Created, changes[1].Created)
		}
		if !slices.Contains(partitions(t, db), dayName(today.AddDate(0, 0, 30))) {
			t.Error("no partition 30 days ahead")
		}
	})
	t.Run("DropsPastTheLongestRetention", func(t *testing.T) {
		customers := storage.NewCustomerStore(db)
		cust := storagetest.MustCreateCustomer(t, customers)
		d := storagetest.MustCreateDevice(t, storage.NewDeviceStore(db), storagetest.NewDevice(cust.ID, time.Now()))
		events := storage.NewEventStore(db)
		past := storagetest.MustCreateEvents(t, events, storagetest.NewEvent(cust.ID, d.ID, resource.EventShock, time.Now().Add(-time.Hour)))
		soon := storagetest.MustCreateEvents(t, events, storagetest.NewEvent(cust.ID, d.ID, resource.EventShock, today.AddDate(0, 0, 3).Add(time.Hour)))
		later := storagetest.MustCreateEvents(t, events, storagetest.NewEvent(cust.ID, d.ID, resource.EventShock, today.AddDate(0, 0, 20).Add(time.Hour)))
		if _, err := customers.SetEventRetention(ctx, cust.ID, 10, time.Now()); err != nil {
			t.Fatal(err)
		}
		// Fifteen days later, with a longest retention of 10 days: the
		// partition of the past and the days up to 5 days ahead of today
		// are past it.
		logs, log := newLogged()
		later15 := *db
		later15.Now = func() time.Time { return today.AddDate(0, 0, 15).Add(12 * time.Hour) }
		r := &storage.EventRetention{DB: &later15, Log: log, DaysAhead: 30}
		change, err := r.EnsurePartitions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{names[7], dayName(today.AddDate(0, 0, 1)), dayName(today.AddDate(0, 0, 4))} {
			if !slices.Contains(change.Dropped, name) {
				t.Errorf("%s not dropped (dropped %v)", name, change.Dropped)
			}
		}
		if slices.Contains(change.Dropped, dayName(today.AddDate(0, 0, 5))) {
			t.Errorf("the partition of day 5, within the retention a day before its end, was dropped")
		}
		if !slices.Contains(change.Created, dayName(today.AddDate(0, 0, 45))) {
			t.Errorf("created %v, want up to day 45", change.Created)
		}
		now := partitions(t, db)
		for _, name := range change.Dropped {
			if slices.Contains(now, name) {
				t.Errorf("%s still in pg_inherits", name)
			}
		}
		var ids []string
		if err := db.SelectContext(ctx, &ids, `SELECT id FROM events WHERE device_id = $1 ORDER BY id`, d.ID); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, []string{later[0].ID}) {
			t.Errorf("rows left %v, want only %s (gone: %s, %s)", ids, later[0].ID, past[0].ID, soon[0].ID)
		}
		if recs := logs.records(t, "event partitions"); len(recs) != 1 {
			t.Errorf("partition changes logged %v", recs)
		}
	})
}
