package storagetest

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// testEventList checks ListEvents: filters, both sort directions with the
// id breaking ties, paging, totals and tenant isolation.
func testEventList(t *testing.T, events resource.EventStore, newDevice func(t *testing.T) *resource.Device, customerID, otherID string) {
	d1, d2 := newDevice(t), newDevice(t)
	// Three events at the same instant (ties), and others around them.
	e := MustCreateEvents(t, events,
		NewEvent(customerID, d1.ID, resource.EventShock, testTime(0)),
		NewEvent(customerID, d1.ID, resource.EventLocation, testTime(time.Hour)),
		NewEvent(customerID, d1.ID, resource.EventShock, testTime(time.Hour)),
		NewEvent(customerID, d1.ID, resource.EventBattery, testTime(time.Hour)),
	)
	f := MustCreateEvents(t, events,
		NewEvent(customerID, d2.ID, resource.EventShock, testTime(30*time.Minute)),
		NewEvent(customerID, d2.ID, resource.EventStatus, testTime(2*time.Hour)),
	)
	mine := []string{e[0].ID, e[1].ID, e[2].ID, e[3].ID, f[0].ID, f[1].ID}
	asc := []resource.SortField{{Field: "occurred_at"}}
	desc := []resource.SortField{{Field: "occurred_at", Desc: true}}
	ptr := func(d time.Duration) *time.Time { return timePtr(testTime(d)) }
	tests := []struct {
		name   string
		q      resource.EventQuery
		want   []string
		total  int
		within []string // only events among these count (other tests share the customer)
	}{
		{name: "Asc", q: resource.EventQuery{Sort: asc, Limit: 100},
			want: []string{e[0].ID, f[0].ID, e[1].ID, e[2].ID, e[3].ID, f[1].ID}},
		{name: "Desc", q: resource.EventQuery{Sort: desc, Limit: 100},
			want: []string{f[1].ID, e[3].ID, e[2].ID, e[1].ID, f[0].ID, e[0].ID}},
		{name: "Device", q: resource.EventQuery{Filter: resource.EventFilter{DeviceIDs: []string{d2.ID}}, Sort: desc, Limit: 100},
			want: []string{f[1].ID, f[0].ID}, total: 2},
		{name: "Devices", q: resource.EventQuery{Filter: resource.EventFilter{DeviceIDs: []string{d1.ID, d2.ID}}, Sort: asc, Limit: 2},
			want: []string{e[0].ID, f[0].ID}, total: 6},
		{name: "Type", q: resource.EventQuery{Filter: resource.EventFilter{DeviceIDs: []string{d1.ID, d2.ID}, Types: []resource.EventType{resource.EventShock}}, Sort: asc, Limit: 100},
			want: []string{e[0].ID, f[0].ID, e[2].ID}, total: 3},
		{name: "Types", q: resource.EventQuery{Filter: resource.EventFilter{DeviceIDs: []string{d1.ID}, Types: []resource.EventType{resource.EventBattery, resource.EventLocation}}, Sort: desc, Limit: 100},
			want: []string{e[3].ID, e[1].ID}, total: 2},
		{name: "SinceUntil", q: resource.EventQuery{Filter: resource.EventFilter{DeviceIDs: []string{d1.ID, d2.ID}, Since: ptr(30 * time.Minute), Until: ptr(2 * time.Hour)}, Sort: asc, Limit: 100},
			want: []string{f[0].ID, e[1].ID, e[2].ID, e[3].ID}, total: 4},
		{name: "Page", q: resource.EventQuery{Filter: resource.EventFilter{DeviceIDs: []string{d1.ID}}, Sort: desc, Offset: 1, Limit: 2},
			want: []string{e[2].ID, e[1].ID}, total: 4},
		{name: "PastTheEnd", q: resource.EventQuery{Filter: resource.EventFilter{DeviceIDs: []string{d1.ID}}, Sort: desc, Offset: 4, Limit: 2},
			want: []string{}, total: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := events.ListEvents(t.Context(), customerID, tc.q)
			requireCode(t, err, "")
			ids := eventIDs(got)
			if tc.total == 0 {
				// Unfiltered: other subtests' events share the customer.
				ids = keep(ids, mine)
			} else {
				requireEqual(t, total, tc.total)
			}
			requireEqual(t, ids, tc.want)
		})
	}
	t.Run("Payload", func(t *testing.T) {
		got, _, err := events.ListEvents(t.Context(), customerID, resource.EventQuery{
			Filter: resource.EventFilter{DeviceIDs: []string{d1.ID}, Types: []resource.EventType{resource.EventLocation}}, Sort: asc, Limit: 10})
		requireCode(t, err, "")
		requireEqual(t, got, stored(e[1]))
	})
	t.Run("OtherCustomer", func(t *testing.T) {
		got, total, err := events.ListEvents(t.Context(), otherID, resource.EventQuery{
			Filter: resource.EventFilter{DeviceIDs: []string{d1.ID}}, Sort: asc, Limit: 10})
		requireCode(t, err, "")
		requireEqual(t, total, 0)
		requireEqual(t, len(got), 0)
	})
}

// keep returns the items of list that are in set, in list's order.
func keep(list, set []string) []string {
	out := []string{}
	for _, v := range list {
		for _, s := range set {
			if v == s {
				out = append(out, v)
				break
			}
		}
	}
	return out
}
