package storage_test

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestDeviceCounts checks that the trigger-kept device_counts always equal
// a COUNT over devices, through bulk inserts, multi-row updates in both
// directions, group deletion (SET NULL), device deletion and the cascade of
// a customer's deletion.
func TestDeviceCounts(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		check := func(t *testing.T, step string) {
			t.Helper()
			var diffs []struct {
				Customer string `db:"customer_id"`
				Fault    bool   `db:"fault"`
				Counted  int    `db:"counted"`
				Kept     int    `db:"kept"`
			}
			err := db.SelectContext(t.Context(), &diffs, `
				SELECT a.customer_id, a.fault, a.counted, a.kept FROM (
					SELECT d.customer_id, d.fault, COUNT(*) AS counted,
						COALESCE((SELECT n FROM device_counts c WHERE c.customer_id = d.customer_id AND c.fault = d.fault), 0) AS kept
					FROM devices d GROUP BY d.customer_id, d.fault
					UNION ALL
					SELECT c.customer_id, c.fault,
						(SELECT COUNT(*) FROM devices d WHERE d.customer_id = c.customer_id AND d.fault = c.fault) AS counted, c.n AS kept
					FROM device_counts c
				) AS a WHERE a.counted <> a.kept`)
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			if len(diffs) > 0 {
				t.Fatalf("%s: device_counts differ from the devices: %+v", step, diffs)
			}
		}
		a, b := seedDevices(t, db, 700, 5), seedDevices(t, db, 300, 6)
		check(t, "bulk insert")
		mustExec(t, db, `UPDATE devices SET fault = NOT fault WHERE customer_id = ? AND name < ?`, a, "Device 000350")
		check(t, "flip faults both ways")
		mustExec(t, db, `UPDATE devices SET name = name || '!' WHERE customer_id = ?`, b)
		check(t, "update without fault change")
		mustExec(t, db, `UPDATE devices SET fault = ? WHERE customer_id IN (?, ?)`, true, a, b)
		check(t, "all faulty")
		mustExec(t, db, `DELETE FROM device_groups WHERE customer_id = ?`, a)
		check(t, "group deleted")
		mustExec(t, db, `DELETE FROM devices WHERE customer_id = ? AND name > ?`, a, "Device 000600")
		check(t, "devices deleted")
		mustExec(t, db, `DELETE FROM customers WHERE id = ?`, b)
		if n := count(t, db, "device_counts", "customer_id = ?", b); n != 0 {
			t.Fatalf("a deleted customer keeps %d counters", n)
		}
		check(t, "customer deleted")
		mustExec(t, db, `INSERT INTO devices (id, customer_id, name, imei, created_at, updated_at) VALUES (?, ?, 'one more', '000000000000000', ?, ?)`,
			"one-more", a, time.Now().UTC(), time.Now().UTC())
		check(t, "single insert")
	})
}
