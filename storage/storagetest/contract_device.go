package storagetest

import (
	"crypto/rand"
	"math/big"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// NewIMEI returns a random 15-digit IMEI with a valid Luhn check digit.
func NewIMEI() string {
	var b [15]byte
	for i := range 14 {
		n, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err)
		}
		b[i] = byte('0' + n.Int64())
	}
	sum := 0
	for i := range 14 {
		// Digits at odd distance from the check digit are doubled.
		d := int(b[13-i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	b[14] = byte('0' + (10-sum%10)%10)
	return string(b[:])
}

// NewDevice returns a device of the given customer with a random IMEI and
// no group, position or events, created at the given time.
func NewDevice(customerID string, created time.Time) *resource.Device {
	id := resource.NewID()
	return &resource.Device{ID: id, CustomerID: customerID, Name: "Device " + id, IMEI: NewIMEI(),
		CreatedAt: created, UpdatedAt: created}
}

// MustCreateDevice inserts d into s.
func MustCreateDevice(tb testing.TB, s resource.DeviceStore, d *resource.Device) *resource.Device {
	tb.Helper()
	if err := s.CreateDevice(tb.Context(), d); err != nil {
		tb.Fatalf("create device: %v", err)
	}
	return d
}

func float(v float64) *float64 { return &v }

func timePtr(t time.Time) *time.Time { return &t }

// deviceIDs returns the ids of devices, in order.
func deviceIDs(devices []*resource.Device) []string {
	ids := []string{}
	for _, d := range devices {
		ids = append(ids, d.ID)
	}
	return ids
}

// TestDeviceStore runs the contract of resource.DeviceStore against devices;
// groups and customers must share its database.
func TestDeviceStore(t *testing.T, devices resource.DeviceStore, groups resource.DeviceGroupStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	other := MustCreateCustomer(t, customers)
	group := MustCreateDeviceGroup(t, groups, NewDeviceGroup(cust.ID, testTime(0)))
	find := func(t *testing.T, customerID, id string) *resource.Device {
		t.Helper()
		got, err := devices.FindDevice(t.Context(), customerID, id)
		requireCode(t, err, "")
		return got
	}
	t.Run("Create", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			d := &resource.Device{
				ID: resource.NewID(), CustomerID: cust.ID, GroupID: group.ID, Name: "Tracker", IMEI: NewIMEI(),
				MAC: "0A:1B:2C:3D:4E:5F", Latitude: float(52.52), Longitude: float(-13.405), Fault: true,
				LastEventAt: timePtr(testTime(time.Hour).In(otherZone())),
				CreatedAt:   testTime(0).In(otherZone()), UpdatedAt: testTime(time.Second).In(otherZone()),
			}
			requireCode(t, devices.CreateDevice(t.Context(), d), "")
			want := *d
			want.LastEventAt, want.CreatedAt, want.UpdatedAt = timePtr(testTime(time.Hour)), testTime(0), testTime(time.Second)
			requireEqual(t, find(t, cust.ID, d.ID), &want)
		})
		t.Run("Minimal", func(t *testing.T) {
			d := NewDevice(cust.ID, testTime(0))
			want := *d
			MustCreateDevice(t, devices, d)
			requireEqual(t, find(t, cust.ID, d.ID), &want)
		})
		t.Run("ErrConflictIMEI", func(t *testing.T) {
			d := MustCreateDevice(t, devices, NewDevice(cust.ID, testTime(0)))
			dup := NewDevice(cust.ID, testTime(0))
			dup.IMEI = d.IMEI
			err := devices.CreateDevice(t.Context(), dup)
			requireCode(t, err, resource.EConflict)
			requireEqual(t, resource.ErrorField(err), "imei")
			_, err = devices.FindDevice(t.Context(), cust.ID, dup.ID)
			requireCode(t, err, resource.ENotFound)
		})
		t.Run("SameIMEIOtherCustomer", func(t *testing.T) {
			d := MustCreateDevice(t, devices, NewDevice(cust.ID, testTime(0)))
			twin := NewDevice(other.ID, testTime(0))
			twin.IMEI = d.IMEI
			requireCode(t, devices.CreateDevice(t.Context(), twin), "")
		})
		t.Run("ErrNotFoundGroup", func(t *testing.T) {
			d := NewDevice(cust.ID, testTime(0))
			d.GroupID = resource.NewID()
			err := devices.CreateDevice(t.Context(), d)
			requireCode(t, err, resource.ENotFound)
			requireEqual(t, resource.ErrorField(err), "group")
		})
	})
	t.Run("Find", func(t *testing.T) {
		d := MustCreateDevice(t, devices, NewDevice(cust.ID, testTime(0)))
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := devices.FindDevice(t.Context(), cust.ID, resource.NewID())
			requireCode(t, err, resource.ENotFound)
		})
		t.Run("ErrNotFoundOtherCustomer", func(t *testing.T) {
			_, err := devices.FindDevice(t.Context(), other.ID, d.ID)
			requireCode(t, err, resource.ENotFound)
		})
	})
	t.Run("Update", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			d := NewDevice(cust.ID, testTime(0))
			d.LastEventAt = timePtr(testTime(time.Minute))
			MustCreateDevice(t, devices, d)
			u := &resource.Device{
				ID: d.ID, CustomerID: cust.ID, GroupID: group.ID, Name: "Renamed", IMEI: NewIMEI(), MAC: "AA:BB:CC:DD:EE:FF",
				Latitude: float(-33.9), Longitude: float(151.2), Fault: true,
				LastEventAt: timePtr(testTime(time.Hour)), // not written: events own it
				CreatedAt:   testTime(time.Hour), UpdatedAt: testTime(2 * time.Hour).In(otherZone()),
			}
			requireCode(t, devices.UpdateDevice(t.Context(), u), "")
			want := *u
			want.LastEventAt, want.CreatedAt, want.UpdatedAt = timePtr(testTime(time.Minute)), testTime(0), testTime(2*time.Hour)
			requireEqual(t, find(t, cust.ID, d.ID), &want)
		})
		t.Run("Clear", func(t *testing.T) {
			d := NewDevice(cust.ID, testTime(0))
			d.GroupID, d.MAC, d.Latitude, d.Longitude = group.ID, "AA:BB:CC:DD:EE:FF", float(1), float(2)
			MustCreateDevice(t, devices, d)
			u := *d
			u.GroupID, u.MAC, u.Latitude, u.Longitude = "", "", nil, nil
			requireCode(t, devices.UpdateDevice(t.Context(), &u), "")
			requireEqual(t, find(t, cust.ID, d.ID), &u)
		})
		t.Run("ErrNotFoundOtherCustomer", func(t *testing.T) {
			d := MustCreateDevice(t, devices, NewDevice(cust.ID, testTime(0)))
			u := *d
			u.CustomerID, u.Name = other.ID, "Stolen"
			requireCode(t, devices.UpdateDevice(t.Context(), &u), resource.ENotFound)
			requireEqual(t, find(t, cust.ID, d.ID), d)
		})
		t.Run("ErrConflictIMEI", func(t *testing.T) {
			a := MustCreateDevice(t, devices, NewDevice(cust.ID, testTime(0)))
			b := MustCreateDevice(t, devices, NewDevice(cust.ID, testTime(0)))
			u := *b
			u.IMEI = a.IMEI
			err := devices.UpdateDevice(t.Context(), &u)
			requireCode(t, err, resource.EConflict)
			requireEqual(t, resource.ErrorField(err), "imei")
			requireEqual(t, find(t, cust.ID, b.ID), b)
		})
		t.Run("ErrNotFoundGroup", func(t *testing.T) {
			d := MustCreateDevice(t, devices, NewDevice(cust.ID, testTime(0)))
			u := *d
			u.GroupID = resource.NewID()
			err := devices.UpdateDevice(t.Context(), &u)
			requireCode(t, err, resource.ENotFound)
			requireEqual(t, resource.ErrorField(err), "group")
		})
	})
	t.Run("Delete", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			d := MustCreateDevice(t, devices, NewDevice(cust.ID, testTime(0)))
			requireCode(t, devices.DeleteDevice(t.Context(), cust.ID, d.ID), "")
			_, err := devices.FindDevice(t.Context(), cust.ID, d.ID)
			requireCode(t, err, resource.ENotFound)
			requireCode(t, devices.DeleteDevice(t.Context(), cust.ID, d.ID), resource.ENotFound)
		})
		t.Run("ErrNotFoundOtherCustomer", func(t *testing.T) {
			d := MustCreateDevice(t, devices, NewDevice(cust.ID, testTime(0)))
			requireCode(t, devices.DeleteDevice(t.Context(), other.ID, d.ID), resource.ENotFound)
			find(t, cust.ID, d.ID)
		})
	})
	t.Run("List", func(t *testing.T) { testDeviceList(t, devices, groups, customers) })
}

// testDeviceList checks filters, sorts and pages of ListDevices on a fresh
// customer.
func testDeviceList(t *testing.T, devices resource.DeviceStore, groups resource.DeviceGroupStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	other := MustCreateCustomer(t, customers)
	g := MustCreateDeviceGroup(t, groups, NewDeviceGroup(cust.ID, testTime(0)))
	mk := func(name, mac string, created time.Duration, last *time.Time, fault bool, groupID string) *resource.Device {
		d := NewDevice(cust.ID, testTime(created))
		d.Name, d.MAC, d.LastEventAt, d.Fault, d.GroupID = name, mac, last, fault, groupID
		return MustCreateDevice(t, devices, d)
	}
	// Created in this order; names sort case-insensitively as b, C, d(2).
	a := mk("d_100%", "AA:AA:AA:AA:AA:01", 0, timePtr(testTime(time.Hour)), true, g.ID)
	b := mk("bravo", "", time.Second, nil, false, "")
	c := mk("Charlie", "AA:AA:AA:AA:AA:02", 2*time.Second, timePtr(testTime(2*time.Hour)), true, "")
	d := mk("d_100%", "", 3*time.Second, nil, true, g.ID)
	MustCreateDevice(t, devices, NewDevice(other.ID, testTime(0)))
	yes, no, none := true, false, ""
	// Ties (a and d have the same name) break by id in the sort direction.
	first, second := a, d
	if d.ID < a.ID {
		first, second = d, a
	}
	for _, tc := range []struct {
		name string
		q    resource.DeviceQuery
		want []*resource.Device
	}{
		{"All", resource.DeviceQuery{}, []*resource.Device{a, b, c, d}},
		{"CreatedDesc", resource.DeviceQuery{Sort: []resource.SortField{{Field: "created_at", Desc: true}}}, []*resource.Device{d, c, b, a}},
		{"NameAsc", resource.DeviceQuery{Sort: []resource.SortField{{Field: "name"}}}, []*resource.Device{b, c, first, second}},
		{"NameDesc", resource.DeviceQuery{Sort: []resource.SortField{{Field: "name", Desc: true}}}, []*resource.Device{second, first, c, b}},
		// Devices without events sort first ascending, last descending; b
		// and d have none, and b's id is the smaller (UUIDv7, made first).
		{"LastEventAsc", resource.DeviceQuery{Sort: []resource.SortField{{Field: "last_event_at"}}}, []*resource.Device{b, d, a, c}},
		{"LastEventDesc", resource.DeviceQuery{Sort: []resource.SortField{{Field: "last_event_at", Desc: true}}}, []*resource.Device{c, a, d, b}},
		{"FaultThenName", resource.DeviceQuery{Filter: resource.DeviceFilter{Fault: &yes},
			Sort: []resource.SortField{{Field: "name"}, {Field: "created_at", Desc: true}}}, []*resource.Device{c, d, a}},
		{"NoFault", resource.DeviceQuery{Filter: resource.DeviceFilter{Fault: &no}}, []*resource.Device{b}},
		{"Group", resource.DeviceQuery{Filter: resource.DeviceFilter{GroupID: &g.ID}}, []*resource.Device{a, d}},
		{"NoGroup", resource.DeviceQuery{Filter: resource.DeviceFilter{GroupID: &none}}, []*resource.Device{b, c}},
		{"SearchName", resource.DeviceQuery{Filter: resource.DeviceFilter{Search: "charl"}}, []*resource.Device{c}},
		{"SearchWildcardsLiteral", resource.DeviceQuery{Filter: resource.DeviceFilter{Search: "_100%"}}, []*resource.Device{a, d}},
		{"SearchUnderscoreIsNotAWildcard", resource.DeviceQuery{Filter: resource.DeviceFilter{Search: "d_1_0"}}, []*resource.Device{}},
		{"SearchMAC", resource.DeviceQuery{Filter: resource.DeviceFilter{Search: "aa:aa:02"}}, []*resource.Device{c}},
		{"SearchIMEI", resource.DeviceQuery{Filter: resource.DeviceFilter{Search: b.IMEI[3:12]}}, []*resource.Device{b}},
		{"IMEI", resource.DeviceQuery{Filter: resource.DeviceFilter{IMEI: c.IMEI}}, []*resource.Device{c}},
		{"MAC", resource.DeviceQuery{Filter: resource.DeviceFilter{MAC: "AA:AA:AA:AA:AA:01"}}, []*resource.Device{a}},
		{"DeviceID", resource.DeviceQuery{Filter: resource.DeviceFilter{DeviceID: b.ID}}, []*resource.Device{b}},
		{"FirstPage", resource.DeviceQuery{Limit: 3}, []*resource.Device{a, b, c}},
		{"LastPage", resource.DeviceQuery{Offset: 3, Limit: 3}, []*resource.Device{d}},
		{"PastTheEnd", resource.DeviceQuery{Offset: 4, Limit: 3}, []*resource.Device{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			if q.Limit == 0 {
				q.Limit = 100
			}
			if len(q.Sort) == 0 {
				q.Sort = []resource.SortField{{Field: "created_at"}}
			}
			got, total, err := devices.ListDevices(t.Context(), cust.ID, q)
			requireCode(t, err, "")
			requireEqual(t, deviceIDs(got), deviceIDs(tc.want))
			if tc.q.Limit == 0 {
				requireEqual(t, total, len(tc.want))
			}
		})
	}
	t.Run("TotalOfFilter", func(t *testing.T) {
		_, total, err := devices.ListDevices(t.Context(), cust.ID, resource.DeviceQuery{
			Filter: resource.DeviceFilter{Fault: &yes}, Sort: []resource.SortField{{Field: "created_at"}}, Offset: 10, Limit: 1})
		requireCode(t, err, "")
		requireEqual(t, total, 3)
	})
	t.Run("TotalOfPages", func(t *testing.T) {
		// The total is of the whole list whatever page is read, with the
		// counter row (no filter, a fault filter) or a COUNT (a search).
		for _, tc := range []struct {
			name        string
			q           resource.DeviceQuery
			rows, total int
		}{
			{"First", resource.DeviceQuery{Limit: 3}, 3, 4},
			{"Last", resource.DeviceQuery{Offset: 3, Limit: 3}, 1, 4},
			{"PastTheEnd", resource.DeviceQuery{Offset: 9, Limit: 3}, 0, 4},
			{"Fault", resource.DeviceQuery{Filter: resource.DeviceFilter{Fault: &yes}, Limit: 2}, 2, 3},
			{"Search", resource.DeviceQuery{Filter: resource.DeviceFilter{Search: "_100%"}, Limit: 1}, 1, 2},
			{"SearchPastTheEnd", resource.DeviceQuery{Filter: resource.DeviceFilter{Search: "_100%"}, Offset: 2, Limit: 1}, 0, 2},
			{"Empty", resource.DeviceQuery{Filter: resource.DeviceFilter{Search: "nothing like it"}, Limit: 5}, 0, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.q.Sort = []resource.SortField{{Field: "created_at"}}
				got, total, err := devices.ListDevices(t.Context(), cust.ID, tc.q)
				requireCode(t, err, "")
				requireEqual(t, len(got), tc.rows)
				requireEqual(t, total, tc.total)
			})
		}
	})
	t.Run("WithGroups", func(t *testing.T) {
		// The same page, total and devices as ListDevices, and the groups of
		// the page's devices, each once, as FindDeviceGroups returns them.
		g2 := MustCreateDeviceGroup(t, groups, NewDeviceGroup(cust.ID, testTime(time.Minute)))
		e := mk("echo", "", 4*time.Second, nil, false, g2.ID)
		defer func() { requireCode(t, devices.DeleteDevice(t.Context(), cust.ID, e.ID), "") }()
		for _, tc := range []struct {
			name string
			q    resource.DeviceQuery
		}{
			{"All", resource.DeviceQuery{Limit: 100}},
			{"Page", resource.DeviceQuery{Offset: 1, Limit: 3}},
			{"NoGroups", resource.DeviceQuery{Filter: resource.DeviceFilter{GroupID: &none}, Limit: 100}},
			{"Fault", resource.DeviceQuery{Filter: resource.DeviceFilter{Fault: &yes}, Limit: 100, Sort: []resource.SortField{{Field: "last_event_at", Desc: true}}}},
			{"Search", resource.DeviceQuery{Filter: resource.DeviceFilter{Search: "o"}, Limit: 100, Sort: []resource.SortField{{Field: "name"}}}},
			{"PastTheEnd", resource.DeviceQuery{Offset: 50, Limit: 3}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := tc.q
				if len(q.Sort) == 0 {
					q.Sort = []resource.SortField{{Field: "created_at"}}
				}
				want, wantTotal, err := devices.ListDevices(t.Context(), cust.ID, q)
				requireCode(t, err, "")
				got, gotGroups, total, err := devices.ListDevicesWithGroups(t.Context(), cust.ID, q)
				requireCode(t, err, "")
				requireEqual(t, got, want)
				requireEqual(t, total, wantTotal)
				var ids []string
				seen := map[string]bool{}
				for _, d := range want {
					if d.GroupID != "" && !seen[d.GroupID] {
						seen[d.GroupID] = true
						ids = append(ids, d.GroupID)
					}
				}
				wantGroups, err := groups.FindDeviceGroups(t.Context(), cust.ID, ids)
				requireCode(t, err, "")
				if len(wantGroups) == 0 {
					wantGroups = nil
				}
				requireEqual(t, gotGroups, wantGroups)
			})
		}
	})
	t.Run("Geo", func(t *testing.T) { testDeviceGeo(t, devices, customers) })
	t.Run("Attributes", func(t *testing.T) { testDeviceAttributes(t, devices, customers) })
}
