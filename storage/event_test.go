package storage_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestEventStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestEventStore(t, storage.NewEventStore(db), storage.NewDeviceStore(db), storage.NewCustomerStore(db))
	})
}

func TestDeviceTokenStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestDeviceTokenStore(t, storage.NewDeviceTokenStore(db), storage.NewDeviceStore(db), storage.NewCustomerStore(db))
	})
}

func TestLocalEventBus(t *testing.T) {
	storagetest.TestEventBus(t, func(t *testing.T, buffer int) (resource.EventBus, resource.EventBus) {
		b := resource.NewLocalBus(buffer)
		t.Cleanup(b.Close)
		return b, b
	})
}

func TestRedisEventBus(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	storagetest.TestEventBus(t, func(t *testing.T, buffer int) (resource.EventBus, resource.EventBus) {
		prefix := storagetest.MustRedisPrefix(t, c)
		// Two buses on two clients, as two replicas have.
		c2 := storagetest.MustOpenRedis(t)
		a, b := storage.NewRedisEventBus(c, prefix, buffer, nil), storage.NewRedisEventBus(c2, prefix, buffer, nil)
		t.Cleanup(a.Close)
		t.Cleanup(b.Close)
		return a, b
	})
}

// TestEventIDsAfterSkewedClock checks that a device's new event ids are
// greater than its stored ones even when a stored id is from the future (a
// replica whose clock runs ahead wrote it).
func TestEventIDsAfterSkewedClock(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		cust := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
		d := storagetest.MustCreateDevice(t, storage.NewDeviceStore(db), storagetest.NewDevice(cust.ID, time.Now()))
		u := uuid.Must(uuid.NewV7())
		ms := uint64(time.Now().Add(time.Hour).UnixMilli())
		for i := range 6 {
			u[i] = byte(ms >> (40 - 8*i))
		}
		now := time.Now().UTC()
		mustExec(t, db, `INSERT INTO events (id, customer_id, device_id, type, occurred_at, received_at) VALUES (?, ?, ?, 'shock', ?, ?)`,
			u.String(), cust.ID, d.ID, now, now)
		// The replica's ingest moved the device's sequence too (ids are
		// assigned above the device row's last_event_id).
		mustExec(t, db, `UPDATE devices SET last_event_id = ? WHERE id = ?`, u.String(), d.ID)
		events := storage.NewEventStore(db)
		got := storagetest.MustCreateEvents(t, events, storagetest.NewEvent(cust.ID, d.ID, resource.EventShock, now),
			storagetest.NewEvent(cust.ID, d.ID, resource.EventShock, now))
		if !(u.String() < got[0].ID && got[0].ID < got[1].ID) || got[0].PrevID != u.String() {
			t.Fatalf("ids %s, %s after %s (PrevID %s)", got[0].ID, got[1].ID, u, got[0].PrevID)
		}
		for _, e := range got {
			if v := uuid.MustParse(e.ID); v.Version() != 7 || v.Variant() != uuid.RFC4122 {
				t.Fatalf("%s is not a UUIDv7", e.ID)
			}
		}
	})
}

func TestIDAfter(t *testing.T) {
	tests := []struct{ prev, want string }{
		{"01890a5d-ac96-774b-bcce-b302099a8057", "01890a5d-ac96-774b-bcce-b302099a8058"},
		{"01890a5d-ac96-774b-bcce-b302099a80ff", "01890a5d-ac96-774b-bcce-b302099a8100"},
		{"01890a5d-ac96-774b-bcff-ffffffffffff", "01890a5d-ac96-774b-bd00-000000000000"},
		{"01890a5d-ac96-774b-bfff-ffffffffffff", "01890a5d-ac96-774c-8000-000000000000"},
		{"01890a5d-ac96-7fff-bfff-ffffffffffff", "01890a5d-ac97-7000-8000-000000000000"},
		{"01890a5d-acff-7fff-bfff-ffffffffffff", "01890a5d-ad00-7000-8000-000000000000"},
	}
	for _, tc := range tests {
		got, err := storage.IDAfter(tc.prev)
		if err != nil || got != tc.want {
			t.Errorf("IDAfter(%s) = %s, %v; want %s", tc.prev, got, err, tc.want)
		}
		if got <= tc.prev {
			t.Errorf("IDAfter(%s) = %s is not greater", tc.prev, got)
		}
	}
	if _, err := storage.IDAfter("nope"); err == nil {
		t.Error("IDAfter of a malformed id: no error")
	}
}
