package storage_test

import (
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestConnectionMirror checks the lease rule of the connection mirror and
// that filter[connected] of the device list applies the same rule as
// FindMirrored, with its count: a device is connected while its session's
// replica holds a lease; a replica that stops renewing (it crashed) leaves
// its devices disconnected once the lease ran out, and the next renewal of
// any replica writes them so.
func TestConnectionMirror(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		m := storage.NewConnectionMirror(db)
		devices := storage.NewDeviceStore(db)
		cust := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
		other := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
		base := time.Now().UTC().Truncate(time.Second)
		var ids []string
		for range 3 {
			d := storagetest.MustCreateDevice(t, devices, storagetest.NewDevice(cust.ID, base))
			ids = append(ids, d.ID)
		}
		slices.Sort(ids)
		a, b, quiet := ids[0], ids[1], ids[2]
		foreign := storagetest.MustCreateDevice(t, devices, storagetest.NewDevice(other.ID, base))

		const lease = 10 * time.Second
		for _, r := range []string{"replica-a", "replica-b"} {
			lapsed, err := m.RenewLease(ctx, r, base.Add(lease), base)
			if err != nil || !lapsed {
				t.Fatalf("first lease of %s: lapsed %v, %v; want true (it had none)", r, lapsed, err)
			}
		}
		conn := func(deviceID, customerID, replica, session string, at time.Time) *resource.DeviceConnection {
			return &resource.DeviceConnection{CustomerID: customerID, DeviceID: deviceID, Connected: true, ConnectedAt: &at,
				Replica: replica, Session: session}
		}
		for _, c := range []*resource.DeviceConnection{
			conn(a, cust.ID, "replica-a", "s-a", base.Add(time.Second)),
			conn(b, cust.ID, "replica-b", "s-b", base.Add(2*time.Second)),
			conn(foreign.ID, other.ID, "replica-a", "s-f", base),
		} {
			if err := m.MarkConnected(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		// check compares FindMirrored and both filters at now with the
		// connected devices of cust.
		check := func(t *testing.T, now time.Time, want ...string) map[string]*resource.MirroredConnection {
			t.Helper()
			ms, err := m.FindMirrored(ctx, cust.ID, append(slices.Clone(ids), foreign.ID), now)
			if err != nil {
				t.Fatal(err)
			}
			if ms[foreign.ID] != nil || ms[quiet] != nil {
				t.Fatalf("rows of another customer's or a never connected device: %+v %+v", ms[foreign.ID], ms[quiet])
			}
			var got []string
			for id, c := range ms {
				if c.Connected {
					got = append(got, id)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("FindMirrored at %v: connected %v, want %v", now.Sub(base), got, want)
			}
			for _, on := range []bool{true, false} {
				f := resource.DeviceFilter{Connected: &on, Now: now}
				list, total, err := devices.ListDevices(ctx, cust.ID, resource.DeviceQuery{Filter: f, Limit: 1})
				if err != nil {
					t.Fatal(err)
				}
				wantIDs := want
				if !on {
					wantIDs = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return slices.Contains(want, id) })
				}
				if total != len(wantIDs) || (len(wantIDs) > 0 && (len(list) != 1 || !slices.Contains(wantIDs, list[0].ID))) {
					t.Fatalf("filter connected=%v at %v: total %d, page %v; want %v", on, now.Sub(base), total, list, wantIDs)
				}
			}
			return ms
		}
		ms := check(t, base.Add(3*time.Second), a, b)
		if at := ms[a].ConnectedAt; !at.Equal(base.Add(time.Second)) || ms[a].DisconnectedAt != nil {
			t.Fatalf("device a: %+v", ms[a])
		}

		// A session that ended meanwhile does not end the device's new
		// one; its own end does.
		end := func(deviceID, session string, at time.Time) {
			t.Helper()
			c := &resource.DeviceConnection{CustomerID: cust.ID, DeviceID: deviceID, Session: session, DisconnectedAt: &at}
			if err := m.MarkDisconnected(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		end(a, "an-older-session", base.Add(4*time.Second))
		check(t, base.Add(4*time.Second), a, b)
		end(a, "s-a", base.Add(5*time.Second))
		ms = check(t, base.Add(5*time.Second), b)
		if ms[a].DisconnectedAt == nil || !ms[a].DisconnectedAt.Equal(base.Add(5*time.Second)) {
			t.Fatalf("device a after its session: %+v", ms[a])
		}

		// replica-b stops renewing (it was killed); replica-a renews.
		if lapsed, err := m.RenewLease(ctx, "replica-a", base.Add(8*time.Second+lease), base.Add(8*time.Second)); err != nil || lapsed {
			t.Fatalf("renewal in time: lapsed %v, %v", lapsed, err)
		}
		check(t, base.Add(9*time.Second), b) // b's lease runs until 10s
		// Past b's lease, before any renewal: the rule alone decides.
		ms = check(t, base.Add(11*time.Second))
		if ms[b].DisconnectedAt == nil || !ms[b].DisconnectedAt.Equal(base.Add(lease)) {
			t.Fatalf("device b past its replica's lease: %+v, want disconnected at the lease's end", ms[b])
		}
		// replica-a's next renewal writes b disconnected and drops b's
		// lease; b coming back later finds its lease lapsed.
		if _, err := m.RenewLease(ctx, "replica-a", base.Add(12*time.Second+lease), base.Add(12*time.Second)); err != nil {
			t.Fatal(err)
		}
		var row struct {
			Connected bool `db:"connected"`
			N         int  `db:"n"`
		}
		if err := db.GetContext(ctx, &row, db.Rebind(`SELECT connected, (SELECT COUNT(*) FROM mqtt_replicas WHERE id = 'replica-b') AS n
			FROM device_connections WHERE device_id = ?`), b); err != nil {
			t.Fatal(err)
		}
		if row.Connected || row.N != 0 {
			t.Fatalf("after the renewal: device b connected %v, replica-b leases %d", row.Connected, row.N)
		}
		if lapsed, err := m.RenewLease(ctx, "replica-b", base.Add(13*time.Second+lease), base.Add(13*time.Second)); err != nil || !lapsed {
			t.Fatalf("a replica back after its lease ran out: lapsed %v, %v; want true", lapsed, err)
		}
		check(t, base.Add(14*time.Second))
		// It marks its live sessions connected again.
		if err := m.MarkConnected(ctx, conn(b, cust.ID, "replica-b", "s-b", base.Add(2*time.Second))); err != nil {
			t.Fatal(err)
		}
		check(t, base.Add(14*time.Second), b)

		// A replica shutting down releases its lease: its devices are
		// disconnected at once.
		if err := m.ReleaseLease(ctx, "replica-b", base.Add(15*time.Second)); err != nil {
			t.Fatal(err)
		}
		ms = check(t, base.Add(15*time.Second))
		if ms[b].DisconnectedAt == nil || !ms[b].DisconnectedAt.Equal(base.Add(15*time.Second)) {
			t.Fatalf("device b after its replica released its lease: %+v", ms[b])
		}

		// A deleted device's row goes with it.
		if err := devices.DeleteDevice(ctx, cust.ID, a); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.GetContext(ctx, &n, db.Rebind(`SELECT COUNT(*) FROM device_connections WHERE device_id = ?`), a); err != nil || n != 0 {
			t.Fatalf("rows of a deleted device: %d, %v", n, err)
		}
	})
}
