package storagetest

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// NewDeviceGroup returns a group of the given customer without a
// configuration, created at the given time.
func NewDeviceGroup(customerID string, created time.Time) *resource.DeviceGroup {
	id := resource.NewID()
	return &resource.DeviceGroup{ID: id, CustomerID: customerID, Name: "Group " + id, CreatedAt: created, UpdatedAt: created}
}

// MustCreateDeviceGroup inserts g into s.
func MustCreateDeviceGroup(tb testing.TB, s resource.DeviceGroupStore, g *resource.DeviceGroup) *resource.DeviceGroup {
	tb.Helper()
	if err := s.CreateDeviceGroup(tb.Context(), g); err != nil {
		tb.Fatalf("create device group: %v", err)
	}
	return g
}

func groupIDs(groups []*resource.DeviceGroup) []string {
	ids := []string{}
	for _, g := range groups {
		ids = append(ids, g.ID)
	}
	return ids
}

// TestDeviceGroupStore runs the contract of resource.DeviceGroupStore
// against groups; the other stores must share its database.
func TestDeviceGroupStore(t *testing.T, groups resource.DeviceGroupStore, configs resource.ConfigurationStore,
	devices resource.DeviceStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	other := MustCreateCustomer(t, customers)
	conf := MustCreateConfiguration(t, configs, NewConfiguration(cust.ID, testTime(0)))
	find := func(t *testing.T, customerID, id string) *resource.DeviceGroup {
		t.Helper()
		got, err := groups.FindDeviceGroup(t.Context(), customerID, id)
		requireCode(t, err, "")
		return got
	}
	t.Run("Create", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			g := &resource.DeviceGroup{ID: resource.NewID(), CustomerID: cust.ID, Name: "Trucks", ConfigurationID: conf.ID,
				CreatedAt: testTime(0).In(otherZone()), UpdatedAt: testTime(time.Second).In(otherZone())}
			requireCode(t, groups.CreateDeviceGroup(t.Context(), g), "")
			requireEqual(t, find(t, cust.ID, g.ID), &resource.DeviceGroup{ID: g.ID, CustomerID: cust.ID, Name: "Trucks",
				ConfigurationID: conf.ID, CreatedAt: testTime(0), UpdatedAt: testTime(time.Second)})
		})
		t.Run("ErrNotFoundConfiguration", func(t *testing.T) {
			g := NewDeviceGroup(cust.ID, testTime(0))
			g.ConfigurationID = resource.NewID()
			err := groups.CreateDeviceGroup(t.Context(), g)
			requireCode(t, err, resource.ENotFound)
			requireEqual(t, resource.ErrorField(err), "configuration")
		})
	})
	t.Run("Find", func(t *testing.T) {
		g := MustCreateDeviceGroup(t, groups, NewDeviceGroup(cust.ID, testTime(0)))
		t.Run("ErrNotFoundOtherCustomer", func(t *testing.T) {
			_, err := groups.FindDeviceGroup(t.Context(), other.ID, g.ID)
			requireCode(t, err, resource.ENotFound)
		})
		t.Run("Many", func(t *testing.T) {
			h := MustCreateDeviceGroup(t, groups, NewDeviceGroup(cust.ID, testTime(0)))
			theirs := MustCreateDeviceGroup(t, groups, NewDeviceGroup(other.ID, testTime(0)))
			got, err := groups.FindDeviceGroups(t.Context(), cust.ID, []string{h.ID, theirs.ID, resource.NewID(), g.ID})
			requireCode(t, err, "")
			requireEqual(t, got, []*resource.DeviceGroup{g, h}) // ordered by id: g was made first
			got, err = groups.FindDeviceGroups(t.Context(), cust.ID, nil)
			requireCode(t, err, "")
			requireEqual(t, len(got), 0)
		})
	})
	t.Run("Update", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			g := MustCreateDeviceGroup(t, groups, NewDeviceGroup(cust.ID, testTime(0)))
			u := *g
			u.Name, u.ConfigurationID, u.UpdatedAt = "Renamed", conf.ID, testTime(time.Hour)
			requireCode(t, groups.UpdateDeviceGroup(t.Context(), &u), "")
			requireEqual(t, find(t, cust.ID, g.ID), &u)
			u.ConfigurationID = ""
			requireCode(t, groups.UpdateDeviceGroup(t.Context(), &u), "")
			requireEqual(t, find(t, cust.ID, g.ID), &u)
		})
		t.Run("ErrNotFoundOtherCustomer", func(t *testing.T) {
			g := MustCreateDeviceGroup(t, groups, NewDeviceGroup(cust.ID, testTime(0)))
			u := *g
			u.CustomerID, u.Name = other.ID, "Stolen"
			requireCode(t, groups.UpdateDeviceGroup(t.Context(), &u), resource.ENotFound)
			requireEqual(t, find(t, cust.ID, g.ID), g)
		})
		t.Run("ErrNotFoundConfiguration", func(t *testing.T) {
			g := MustCreateDeviceGroup(t, groups, NewDeviceGroup(cust.ID, testTime(0)))
			u := *g
			u.ConfigurationID = resource.NewID()
			err := groups.UpdateDeviceGroup(t.Context(), &u)
			requireCode(t, err, resource.ENotFound)
			requireEqual(t, resource.ErrorField(err), "configuration")
		})
	})
	t.Run("Delete", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			g := MustCreateDeviceGroup(t, groups, NewDeviceGroup(cust.ID, testTime(0)))
			d := NewDevice(cust.ID, testTime(0))
			d.GroupID = g.ID
			MustCreateDevice(t, devices, d)
			requireCode(t, groups.DeleteDeviceGroup(t.Context(), cust.ID, g.ID), "")
			_, err := groups.FindDeviceGroup(t.Context(), cust.ID, g.ID)
			requireCode(t, err, resource.ENotFound)
			got, err := devices.FindDevice(t.Context(), cust.ID, d.ID)
			requireCode(t, err, "")
			requireEqual(t, got.GroupID, "") // the device stays, in no group
		})
		t.Run("ErrNotFoundOtherCustomer", func(t *testing.T) {
			g := MustCreateDeviceGroup(t, groups, NewDeviceGroup(cust.ID, testTime(0)))
			requireCode(t, groups.DeleteDeviceGroup(t.Context(), other.ID, g.ID), resource.ENotFound)
			find(t, cust.ID, g.ID)
		})
	})
	t.Run("List", func(t *testing.T) {
		mine := MustCreateCustomer(t, customers)
		mk := func(name string, d time.Duration) *resource.DeviceGroup {
			g := NewDeviceGroup(mine.ID, testTime(d))
			g.Name = name
			return MustCreateDeviceGroup(t, groups, g)
		}
		a, b, c := mk("beta", 0), mk("Alpha", time.Second), mk("gamma_1", 2*time.Second)
		MustCreateDeviceGroup(t, groups, NewDeviceGroup(other.ID, testTime(0)))
		for _, tc := range []struct {
			name string
			q    resource.DeviceGroupQuery
			want []*resource.DeviceGroup
		}{
			{"All", resource.DeviceGroupQuery{}, []*resource.DeviceGroup{a, b, c}},
			{"NameAsc", resource.DeviceGroupQuery{Sort: []resource.SortField{{Field: "name"}}}, []*resource.DeviceGroup{b, a, c}},
			{"NameDesc", resource.DeviceGroupQuery{Sort: []resource.SortField{{Field: "name", Desc: true}}}, []*resource.DeviceGroup{c, a, b}},
			{"Search", resource.DeviceGroupQuery{Filter: resource.DeviceGroupFilter{Search: "a_1"}}, []*resource.DeviceGroup{c}},
			{"Names", resource.DeviceGroupQuery{Filter: resource.DeviceGroupFilter{Names: []string{"Alpha", "gamma_1", "alpha"}}}, []*resource.DeviceGroup{b, c}},
			{"Page", resource.DeviceGroupQuery{Offset: 1, Limit: 1}, []*resource.DeviceGroup{b}},
			{"PastTheEnd", resource.DeviceGroupQuery{Offset: 3, Limit: 1}, []*resource.DeviceGroup{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := tc.q
				if q.Limit == 0 {
					q.Limit = 100
				}
				if len(q.Sort) == 0 {
					q.Sort = []resource.SortField{{Field: "created_at"}}
				}
				got, total, err := groups.ListDeviceGroups(t.Context(), mine.ID, q)
				requireCode(t, err, "")
				requireEqual(t, groupIDs(got), groupIDs(tc.want))
				if tc.q.Limit == 0 {
					requireEqual(t, total, len(tc.want))
				} else {
					requireEqual(t, total, 3)
				}
			})
		}
	})
}
