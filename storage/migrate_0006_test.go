package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestMigrationBackfillsDeviceEventState plays a database that had events
// before the device rows kept their ingest state: migration 0006_1 fills
// last_event_id, location_at and status_at from the events, so the next
// ingest assigns ids above the stored ones and an older event does not
// roll the position back.
func TestMigrationBackfillsDeviceEventState(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		cust := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
		devices := storage.NewDeviceStore(db)
		d := storagetest.MustCreateDevice(t, devices, storagetest.NewDevice(cust.ID, time.Now()))
		events := storage.NewEventStore(db)
		now := time.Now().UTC().Truncate(time.Second)
		stored := storagetest.MustCreateEvents(t, events,
			storagetest.NewEvent(cust.ID, d.ID, resource.EventLocation, now.Add(-time.Minute)),
			storagetest.NewEvent(cust.ID, d.ID, resource.EventStatus, now.Add(-2*time.Minute)))
		// Back to the schema before 0006_1: the columns gone, the migration
		// not applied.
		for _, col := range []string{"last_event_id", "location_at", "status_at"} {
			mustExec(t, db, `ALTER TABLE devices DROP COLUMN `+col)
		}
		mustExec(t, db, `DELETE FROM schema_migrations WHERE name = '0006_1_device_event_state.sql'`)
		if applied, err := db.Migrate(ctx); err != nil || len(applied) != 1 {
			t.Fatalf("migrate: %v %v", applied, err)
		}
		var got struct {
			LastEventID string     `db:"last_event_id"`
			LocationAt  *time.Time `db:"location_at"`
			StatusAt    *time.Time `db:"status_at"`
		}
		if err := db.GetContext(ctx, &got, db.Rebind(`SELECT last_event_id, location_at, status_at FROM devices WHERE id = ?`), d.ID); err != nil {
			t.Fatal(err)
		}
		if got.LastEventID != stored[1].ID || got.LocationAt == nil || !got.LocationAt.Equal(now.Add(-time.Minute)) ||
			got.StatusAt == nil || !got.StatusAt.Equal(now.Add(-2*time.Minute)) {
			t.Fatalf("backfilled %+v, want last id %s, location at %v, status at %v", got, stored[1].ID, now.Add(-time.Minute), now.Add(-2*time.Minute))
		}
		// An older location does not move the device; the new id follows.
		older := storagetest.NewEvent(cust.ID, d.ID, resource.EventLocation, now.Add(-time.Hour))
		older.Payload = map[string]any{resource.PayloadLatitude: 1.0, resource.PayloadLongitude: 1.0}
		next := storagetest.MustCreateEvents(t, events, older)
		if next[0].ID <= stored[1].ID || next[0].PrevID != stored[1].ID {
			t.Errorf("new id %s (prev %s) after %s", next[0].ID, next[0].PrevID, stored[1].ID)
		}
		dev, err := devices.FindDevice(ctx, cust.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if dev.Latitude == nil || *dev.Latitude != 48.8566 {
			t.Errorf("latitude %v, want the newer 48.8566", dev.Latitude)
		}
	})
}
