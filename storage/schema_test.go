package storage_test

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// schemaFixture is one customer with a configuration, a group using it, a
// device in the group and an event of the device, inserted with plain SQL.
type schemaFixture struct {
	customer, configuration, group, device, event string
}

// exec runs one statement with ? placeholders.
func exec(tb testing.TB, db *storage.DB, query string, args ...any) error {
	tb.Helper()
	_, err := db.ExecContext(tb.Context(), db.Rebind(query), args...)
	return err
}

// mustExec runs one statement with ? placeholders and fails on error.
func mustExec(tb testing.TB, db *storage.DB, query string, args ...any) {
	tb.Helper()
	if err := exec(tb, db, query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

// count returns the number of rows of table matching where.
func count(tb testing.TB, db *storage.DB, table, where string, args ...any) int {
	tb.Helper()
	var n int
	if err := db.GetContext(tb.Context(), &n, db.Rebind(`SELECT COUNT(*) FROM `+table+` WHERE `+where), args...); err != nil {
		tb.Fatalf("count %s: %v", table, err)
	}
	return n
}

func mustInsertFixture(tb testing.TB, db *storage.DB) schemaFixture {
	tb.Helper()
	now := time.Now().UTC()
	f := schemaFixture{
		customer:      storagetest.MustCreateCustomer(tb, storage.NewCustomerStore(db)).ID,
		configuration: resource.NewID(), group: resource.NewID(),
		device: resource.NewID(), event: resource.NewID(),
	}
	owner := storagetest.MustCreateUser(tb, storage.NewUserStore(db), f.customer)
	storagetest.MustCreateApplication(tb, storage.NewApplicationStore(db), f.customer, owner.ID)
	mustExec(tb, db, `INSERT INTO configurations (id, customer_id, name, created_at, updated_at) VALUES (?, ?, 'c', ?, ?)`,
		f.configuration, f.customer, now, now)
	mustExec(tb, db, `INSERT INTO device_groups (id, customer_id, name, configuration_id, created_at, updated_at) VALUES (?, ?, 'g', ?, ?, ?)`,
		f.group, f.customer, f.configuration, now, now)
	mustExec(tb, db, `INSERT INTO devices (id, customer_id, group_id, name, imei, created_at, updated_at) VALUES (?, ?, ?, 'd', ?, ?, ?)`,
		f.device, f.customer, f.group, "imei-"+f.device, now, now)
	mustExec(tb, db, `INSERT INTO events (id, customer_id, device_id, type, occurred_at, received_at) VALUES (?, ?, ?, 'shock', ?, ?)`,
		f.event, f.customer, f.device, now, now)
	return f
}

func TestSchema(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		t.Run("Defaults", func(t *testing.T) {
			f := mustInsertFixture(t, db)
			var row struct {
				Fault    bool       `db:"fault"`
				Lat      *float64   `db:"latitude"`
				LastSeen *time.Time `db:"last_event_at"`
			}
			if err := db.GetContext(t.Context(), &row, db.Rebind(`SELECT fault, latitude, last_event_at FROM devices WHERE id = ?`), f.device); err != nil {
				t.Fatal(err)
			}
			if row.Fault || row.Lat != nil || row.LastSeen != nil {
				t.Fatalf("new device: %+v, want no fault, no position, no event time", row)
			}
			var state, settings string
			if err := db.QueryRowContext(t.Context(), db.Rebind(`SELECT state, settings FROM configurations WHERE id = ?`), f.configuration).Scan(&state, &settings); err != nil {
				t.Fatal(err)
			}
			if state != "draft" || settings != "{}" {
				t.Fatalf("new configuration: state %q, settings %q; want draft, {}", state, settings)
			}
		})
		t.Run("JSONArrays", func(t *testing.T) {
			f := mustInsertFixture(t, db)
			typeOf := "json_type"
			if db.Dialect == storage.Postgres {
				typeOf = "jsonb_typeof"
			}
			where := `customer_id = ?`
			for _, col := range []string{"grant_types", "redirect_uris", "post_logout_redirect_uris", "scopes"} {
				where += ` AND ` + typeOf + `(` + col + `) = 'array'`
			}
			if n := count(t, db, "applications", where, f.customer); n != 1 {
				t.Fatalf("%d applications with JSON arrays in every list column, want 1", n)
			}
		})
		t.Run("CustomerDeleteCascades", func(t *testing.T) {
			f := mustInsertFixture(t, db)
			kept := mustInsertFixture(t, db)
			mustExec(t, db, `DELETE FROM customers WHERE id = ?`, f.customer)
			for _, table := range []string{"users", "applications", "configurations", "device_groups", "devices", "events"} {
				if n := count(t, db, table, `customer_id = ?`, f.customer); n != 0 {
					t.Errorf("%s: %d rows of the deleted customer", table, n)
				}
				if n := count(t, db, table, `customer_id = ?`, kept.customer); n != 1 {
					t.Errorf("%s: %d rows of the other customer, want 1", table, n)
				}
			}
		})
		t.Run("ConfigurationInUseErr", func(t *testing.T) {
			f := mustInsertFixture(t, db)
			if err := exec(t, db, `DELETE FROM configurations WHERE id = ?`, f.configuration); err == nil {
				t.Fatal("deleted a configuration that a group uses")
			}
			mustExec(t, db, `UPDATE device_groups SET configuration_id = NULL WHERE id = ?`, f.group)
			mustExec(t, db, `DELETE FROM configurations WHERE id = ?`, f.configuration)
		})
		t.Run("GroupDeleteUngroupsDevices", func(t *testing.T) {
			f := mustInsertFixture(t, db)
			mustExec(t, db, `DELETE FROM device_groups WHERE id = ?`, f.group)
			if n := count(t, db, "devices", `id = ? AND group_id IS NULL`, f.device); n != 1 {
				t.Fatalf("device after its group's deletion: %d ungrouped rows, want 1", n)
			}
		})
		t.Run("DeviceDeleteCascadesEvents", func(t *testing.T) {
			f := mustInsertFixture(t, db)
			mustExec(t, db, `DELETE FROM devices WHERE id = ?`, f.device)
			if n := count(t, db, "events", `device_id = ?`, f.device); n != 0 {
				t.Fatalf("%d events of a deleted device", n)
			}
		})
		t.Run("IMEIUniquePerCustomer", func(t *testing.T) {
			f, other := mustInsertFixture(t, db), mustInsertFixture(t, db)
			insert := func(customer string) error {
				now := time.Now().UTC()
				return exec(t, db, `INSERT INTO devices (id, customer_id, name, imei, created_at, updated_at) VALUES (?, ?, 'd2', ?, ?, ?)`,
					resource.NewID(), customer, "imei-"+f.device, now, now)
			}
			if err := insert(f.customer); err == nil {
				t.Fatal("two devices of one customer with the same IMEI")
			}
			if err := insert(other.customer); err != nil {
				t.Fatalf("same IMEI at another customer: %v", err)
			}
		})
		t.Run("IdempotencyKeyUniquePerDevice", func(t *testing.T) {
			f, other := mustInsertFixture(t, db), mustInsertFixture(t, db)
			insert := func(fx schemaFixture, key string) error {
				return exec(t, db, `INSERT INTO event_idempotency (customer_id, device_id, idempotency_key, event_id, occurred_at, request_hash)
					VALUES (?, ?, ?, ?, ?, 'h')`, fx.customer, fx.device, key, resource.NewID(), time.Now().UTC())
			}
			for i, step := range []struct {
				fx      schemaFixture
				key     string
				wantErr bool
			}{
				{f, "k1", false}, {f, "k1", true}, {f, "k2", false},
				{other, "k1", false}, // keys are per device
			} {
				if err := insert(step.fx, step.key); (err != nil) != step.wantErr {
					t.Errorf("step %d (key %v): error %v, want error %v", i, step.key, err, step.wantErr)
				}
			}
		})
		t.Run("ChecksErr", func(t *testing.T) {
			f := mustInsertFixture(t, db)
			if err := exec(t, db, `UPDATE configurations SET state = 'archived' WHERE id = ?`, f.configuration); err == nil {
				t.Error("configuration state 'archived' accepted")
			}
			if err := exec(t, db, `UPDATE events SET type = 'humidity' WHERE id = ?`, f.event); err == nil {
				t.Error("event type 'humidity' accepted")
			}
			mustExec(t, db, `UPDATE configurations SET state = 'published' WHERE id = ?`, f.configuration)
		})
	})
}
