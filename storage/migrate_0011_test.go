package storage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// preEventPartitions puts back the schema of before migration 0011 with
// the rows of db: events as one table holding idempotency_key and
// request_hash under UNIQUE (device_id, idempotency_key), no
// event_idempotency, no retention column; 0011 not applied.
func preEventPartitions(t *testing.T, db *storage.DB) {
	t.Helper()
	typ := "TIMESTAMP"
	collate := ""
	if db.Dialect == storage.Postgres {
		typ, collate = "TIMESTAMPTZ", ` COLLATE "C"`
	}
	payload := "TEXT"
	if db.Dialect == storage.Postgres {
		payload = "JSONB"
	}
	for _, q := range []string{
		`ALTER TABLE events RENAME TO events_0011`,
		`CREATE TABLE events (
			id              TEXT` + collate + ` CONSTRAINT events_old_pkey PRIMARY KEY,
			customer_id     TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
			device_id       TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
			type            TEXT NOT NULL,
			occurred_at     ` + typ + ` NOT NULL,
			received_at     ` + typ + ` NOT NULL,
			payload         ` + payload + ` NOT NULL DEFAULT '{}',
			idempotency_key TEXT,
			request_hash    TEXT,
			CONSTRAINT events_old_device_id_idempotency_key_key UNIQUE (device_id, idempotency_key)
		)`,
		`INSERT INTO events (id, customer_id, device_id, type, occurred_at, received_at, payload, idempotency_key, request_hash)
			SELECT e.id, e.customer_id, e.device_id, e.type, e.occurred_at, e.received_at, e.payload, k.idempotency_key, k.request_hash
			FROM events_0011 e LEFT JOIN event_idempotency k ON k.event_id = e.id`,
		`DROP TABLE events_0011`,
		`DROP TABLE event_idempotency`,
		`ALTER TABLE customers DROP COLUMN event_retention_days`,
		`DELETE FROM schema_migrations WHERE name = '0011_event_partitions.sql'`,
	} {
		mustExec(t, db, q)
	}
}

// TestMigrationPartitionsExistingEvents plays a database with events
// (some under idempotency keys) from before migration 0011: the migration
// moves every row into the new table (the partition of the past on
// PostgreSQL) and the keys into event_idempotency, so reads find the same
// events, a retry with a used key replays, and the next ingest follows
// the stored ids.
func TestMigrationPartitionsExistingEvents(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		customers := storage.NewCustomerStore(db)
		cust := storagetest.MustCreateCustomer(t, customers)
		d := storagetest.MustCreateDevice(t, storage.NewDeviceStore(db), storagetest.NewDevice(cust.ID, time.Now()))
		events := storage.NewEventStore(db)
		now := time.Now().UTC().Truncate(time.Second)
		plain := storagetest.MustCreateEvents(t, events,
			storagetest.NewEvent(cust.ID, d.ID, resource.EventShock, now.Add(-30*24*time.Hour)),
			storagetest.NewEvent(cust.ID, d.ID, resource.EventBattery, now.Add(-time.Hour)))
		keyed, _, err := events.CreateEvents(ctx, keyedBatch(cust.ID, d.ID, "boot-1", now.Add(-2*time.Hour), now.Add(-time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		preEventPartitions(t, db)
		if n := count(t, db, "events", "idempotency_key IS NOT NULL"); n != 2 {
			t.Fatalf("%d keyed rows in the old table, want 2", n)
		}
		if applied, err := db.Migrate(ctx); err != nil || len(applied) != 1 || applied[0] != "0011_event_partitions.sql" {
			t.Fatalf("migrate: %v %v", applied, err)
		}

		events = storage.NewEventStore(db)
		list, total, err := events.ListEvents(ctx, cust.ID, resource.EventQuery{Limit: 10})
		if err != nil || total != 4 || len(list) != 4 {
			t.Fatalf("after the migration: %d of %d events (%v), want 4", len(list), total, err)
		}
		for _, e := range append(append([]*resource.Event{}, plain...), keyed...) {
			got, err := events.FindEvent(ctx, cust.ID, e.ID)
			if err != nil || !got.OccurredAt.Equal(e.OccurredAt) || got.Type != e.Type {
				t.Errorf("event %s: %+v %v", e.ID, got, err)
			}
		}
		if n := count(t, db, "event_idempotency", "customer_id = ?", cust.ID); n != 2 {
			t.Errorf("%d keys moved, want 2", n)
		}
		c, err := customers.FindCustomer(ctx, cust.ID)
		if err != nil || c.EventRetentionDays != resource.DefaultEventRetentionDays {
			t.Errorf("retention of an existing customer %+v %v, want the default", c, err)
		}
		replay, replayed, err := events.CreateEvents(ctx, keyedBatch(cust.ID, d.ID, "boot-1", now.Add(-2*time.Hour), now.Add(-time.Minute)))
		if err != nil || !replayed || len(replay) != 2 || replay[0].ID != keyed[0].ID || replay[1].ID != keyed[1].ID {
			t.Errorf("retry with a migrated key: %v %v %v, want a replay of %s, %s", replay, replayed, err, keyed[0].ID, keyed[1].ID)
		}
		next := storagetest.MustCreateEvents(t, events, storagetest.NewEvent(cust.ID, d.ID, resource.EventShock, now.Add(-3*time.Hour)))
		if next[0].ID <= keyed[1].ID || next[0].PrevID != keyed[1].ID {
			t.Errorf("next id %s (prev %s) after %s", next[0].ID, next[0].PrevID, keyed[1].ID)
		}
		if db.Dialect == storage.Postgres {
			var parts []string
			if err := db.SelectContext(ctx, &parts, `SELECT DISTINCT tableoid::regclass::text FROM events WHERE customer_id = $1`, cust.ID); err != nil {
				t.Fatal(err)
			}
			if len(parts) != 1 || !strings.HasPrefix(parts[0], "events_until_") {
				t.Errorf("migrated rows are in %v, want the partition of the past", parts)
			}
			var kind string
			if err := db.GetContext(ctx, &kind, `SELECT relkind::text FROM pg_class WHERE relname = 'events'`); err != nil || kind != "p" {
				t.Errorf("events has relkind %q (%v), want p (partitioned)", kind, err)
			}
		}
	})
}
