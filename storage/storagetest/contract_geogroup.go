package storagetest

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// SquareGeometry is a one-degree square around Berlin (13..14 E, 52..53 N)
// with a hole around the city centre (13.3..13.5 E, 52.4..52.6 N).
const SquareGeometry = `{"type":"Polygon","coordinates":[
	[[13,52],[14,52],[14,53],[13,53],[13,52]],
	[[13.3,52.4],[13.3,52.6],[13.5,52.6],[13.5,52.4],[13.3,52.4]]]}`

// fijiGeometry crosses the antimeridian as one ring (179.5 E to 179.5 W).
const fijiGeometry = `{"type":"Polygon","coordinates":[[[179.5,-17.5],[-179.5,-17.5],[-179.5,-16.5],[179.5,-16.5],[179.5,-17.5]]]}`

// NewGeogroup returns a geogroup of the customer with SquareGeometry,
// created at the given time.
func NewGeogroup(customerID string, created time.Time) *resource.Geogroup {
	id := resource.NewID()
	return &resource.Geogroup{ID: id, CustomerID: customerID, Name: "Geogroup " + id, Geometry: resource.MustGeometry(SquareGeometry),
		CreatedAt: created, UpdatedAt: created}
}

// MustCreateGeogroup inserts g into s.
func MustCreateGeogroup(tb testing.TB, s resource.GeogroupStore, g *resource.Geogroup) *resource.Geogroup {
	tb.Helper()
	if err := s.CreateGeogroup(tb.Context(), g); err != nil {
		tb.Fatalf("create geogroup: %v", err)
	}
	return g
}

// TestGeogroupStore runs the contract of resource.GeogroupStore against
// geogroups; customers must share its database.
func TestGeogroupStore(t *testing.T, geogroups resource.GeogroupStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	other := MustCreateCustomer(t, customers)
	find := func(t *testing.T, customerID, id string) *resource.Geogroup {
		t.Helper()
		got, err := geogroups.FindGeogroup(t.Context(), customerID, id)
		requireCode(t, err, "")
		return got
	}
	t.Run("CreateFind", func(t *testing.T) {
		for _, src := range []string{SquareGeometry, fijiGeometry, `{"type":"Point","coordinates":[13.4,52.5],"radius":1500}`} {
			g := &resource.Geogroup{ID: resource.NewID(), CustomerID: cust.ID, Name: "Area", Geometry: resource.MustGeometry(src),
				CreatedAt: testTime(0).In(otherZone()), UpdatedAt: testTime(time.Second).In(otherZone())}
			requireCode(t, geogroups.CreateGeogroup(t.Context(), g), "")
			requireEqual(t, find(t, cust.ID, g.ID), &resource.Geogroup{ID: g.ID, CustomerID: cust.ID, Name: "Area",
				Geometry: resource.MustGeometry(src), CreatedAt: testTime(0), UpdatedAt: testTime(time.Second)})
		}
		g := MustCreateGeogroup(t, geogroups, NewGeogroup(cust.ID, testTime(0)))
		_, err := geogroups.FindGeogroup(t.Context(), other.ID, g.ID)
		requireCode(t, err, resource.ENotFound)
		requireCode(t, geogroups.CreateGeogroup(t.Context(), NewGeogroup(resource.NewID(), testTime(0))), resource.ENotFound)
	})
	t.Run("Update", func(t *testing.T) {
		g := MustCreateGeogroup(t, geogroups, NewGeogroup(cust.ID, testTime(0)))
		u := *g
		u.Name, u.Geometry, u.UpdatedAt = "Fiji", resource.MustGeometry(fijiGeometry), testTime(time.Hour)
		requireCode(t, geogroups.UpdateGeogroup(t.Context(), &u), "")
		requireEqual(t, find(t, cust.ID, g.ID), &u)
		stolen := u
		stolen.CustomerID, stolen.Name = other.ID, "Stolen"
		requireCode(t, geogroups.UpdateGeogroup(t.Context(), &stolen), resource.ENotFound)
		requireEqual(t, find(t, cust.ID, g.ID), &u)
	})
	t.Run("Delete", func(t *testing.T) {
		g := MustCreateGeogroup(t, geogroups, NewGeogroup(cust.ID, testTime(0)))
		requireCode(t, geogroups.DeleteGeogroup(t.Context(), other.ID, g.ID), resource.ENotFound)
		requireCode(t, geogroups.DeleteGeogroup(t.Context(), cust.ID, g.ID), "")
		_, err := geogroups.FindGeogroup(t.Context(), cust.ID, g.ID)
		requireCode(t, err, resource.ENotFound)
		requireCode(t, geogroups.DeleteGeogroup(t.Context(), cust.ID, g.ID), resource.ENotFound)
	})
	t.Run("List", func(t *testing.T) {
		c := MustCreateCustomer(t, customers)
		var made []*resource.Geogroup
		for i, name := range []string{"b Harbour", "a Depot", "C Yard"} {
			g := NewGeogroup(c.ID, testTime(time.Duration(i)*time.Second))
			g.Name = name
			made = append(made, MustCreateGeogroup(t, geogroups, g))
		}
		MustCreateGeogroup(t, geogroups, NewGeogroup(other.ID, testTime(0)))
		for _, tc := range []struct {
			name string
			q    resource.GeogroupQuery
			want []*resource.Geogroup
			all  int
		}{
			{"Default", resource.GeogroupQuery{Sort: []resource.SortField{{Field: "created_at"}}, Limit: 10}, made, 3},
			{"ByName", resource.GeogroupQuery{Sort: []resource.SortField{{Field: "name"}}, Limit: 10}, []*resource.Geogroup{made[1], made[0], made[2]}, 3},
			{"Page", resource.GeogroupQuery{Sort: []resource.SortField{{Field: "name", Desc: true}}, Offset: 1, Limit: 1}, []*resource.Geogroup{made[0]}, 3},
			{"Search", resource.GeogroupQuery{Filter: resource.GeogroupFilter{Search: "yard"}, Sort: []resource.SortField{{Field: "name"}}, Limit: 10}, []*resource.Geogroup{made[2]}, 1},
			{"Names", resource.GeogroupQuery{Filter: resource.GeogroupFilter{Names: []string{"a Depot", "C Yard"}}, Sort: []resource.SortField{{Field: "created_at"}}, Limit: 10}, made[1:], 2},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := geogroups.ListGeogroups(t.Context(), c.ID, tc.q)
				requireCode(t, err, "")
				requireEqual(t, total, tc.all)
				requireEqual(t, got, tc.want)
			})
		}
	})
}

// TestDeviceGeogroupFilters checks the geogroup filters of device lists
// against known geometry: holes, distances to the boundary in metres, the
// antimeridian, circles, devices without a position, other filters,
// paging and totals.
func TestDeviceGeogroupFilters(t *testing.T, devices resource.DeviceStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	n := 0
	at := func(name string, lat, lon float64) *resource.Device {
		n++
		d := NewDevice(cust.ID, testTime(time.Duration(n)*time.Second))
		d.Name, d.Latitude, d.Longitude = name, float(lat), float(lon)
		return MustCreateDevice(t, devices, d)
	}
	nowhere := NewDevice(cust.ID, testTime(0))
	nowhere.Name = "nowhere"
	MustCreateDevice(t, devices, nowhere)
	// berlin is in the hole, 6.4 km from its east edge; west is 6.77 km
	// west of the square's edge at 13 E.
	dBerlin := at("berlin", berlin[0], berlin[1])
	dPotsdam := at("potsdam", potsdam[0], potsdam[1])
	dEast := at("east", 52.2, 13.8)
	dWest := at("west", 52.5, 12.9)
	dHamburg := at("hamburg", hamburg[0], hamburg[1])
	// fijiFar is 53.2 km west of the Fiji polygon's edge at 179.5 E.
	dFijiWest, dFijiEast, dFijiFar := at("fiji west", fijiWest[0], fijiWest[1]), at("fiji east", fijiEast[0], fijiEast[1]), at("fiji far", fijiFar[0], fijiFar[1])
	dPotsdam.Fault = true
	requireCode(t, devices.UpdateDevice(t.Context(), dPotsdam), "")
	// Another customer's device inside the square never shows.
	theirs := NewDevice(MustCreateCustomer(t, customers).ID, testTime(0))
	theirs.Latitude, theirs.Longitude = float(52.2), float(13.8)
	MustCreateDevice(t, devices, theirs)

	square, fiji := resource.MustGeometry(SquareGeometry), resource.MustGeometry(fijiGeometry)
	circle := resource.MustGeometry(`{"type":"Point","coordinates":[13.405,52.52],"radius":30000}`)
	yes := true
	all := []*resource.Device{dBerlin, dPotsdam, dEast, dWest, dHamburg, dFijiWest, dFijiEast, dFijiFar}
	without := func(out ...*resource.Device) []*resource.Device {
		var keep []*resource.Device
		for _, d := range all {
			skip := false
			for _, o := range out {
				skip = skip || o == d
			}
			if !skip {
				keep = append(keep, d)
			}
		}
		return keep
	}
	for _, tc := range []struct {
		name string
		m    resource.GeogroupMatch
		f    resource.DeviceFilter
		want []*resource.Device
	}{
		{"Inside", resource.GeogroupMatch{Geometry: square}, resource.DeviceFilter{}, []*resource.Device{dPotsdam, dEast}},
		{"Outside", resource.GeogroupMatch{Geometry: square, Outside: true}, resource.DeviceFilter{}, without(dPotsdam, dEast)},
		{"InsideOrWithin10km", resource.GeogroupMatch{Geometry: square, Distance: 10000}, resource.DeviceFilter{}, []*resource.Device{dBerlin, dPotsdam, dEast, dWest}},
		{"InsideOrWithin6500m", resource.GeogroupMatch{Geometry: square, Distance: 6500}, resource.DeviceFilter{}, []*resource.Device{dBerlin, dPotsdam, dEast}},
		{"InsideOrWithin6000m", resource.GeogroupMatch{Geometry: square, Distance: 6000}, resource.DeviceFilter{}, []*resource.Device{dPotsdam, dEast}},
		{"OutsideBeyond10km", resource.GeogroupMatch{Geometry: square, Outside: true, Distance: 10000}, resource.DeviceFilter{}, without(dBerlin, dPotsdam, dEast, dWest)},
		{"OutsideBeyond6500m", resource.GeogroupMatch{Geometry: square, Outside: true, Distance: 6500}, resource.DeviceFilter{}, without(dBerlin, dPotsdam, dEast)},
		{"InsideWithFault", resource.GeogroupMatch{Geometry: square}, resource.DeviceFilter{Fault: &yes}, []*resource.Device{dPotsdam}},
		{"OutsideWithSearch", resource.GeogroupMatch{Geometry: square, Outside: true}, resource.DeviceFilter{Search: "fiji"}, []*resource.Device{dFijiWest, dFijiEast, dFijiFar}},
		{"Antimeridian", resource.GeogroupMatch{Geometry: fiji}, resource.DeviceFilter{}, []*resource.Device{dFijiWest, dFijiEast}},
		{"AntimeridianWithin50km", resource.GeogroupMatch{Geometry: fiji, Distance: 50000}, resource.DeviceFilter{}, []*resource.Device{dFijiWest, dFijiEast}},
		{"AntimeridianWithin55km", resource.GeogroupMatch{Geometry: fiji, Distance: 55000}, resource.DeviceFilter{}, []*resource.Device{dFijiWest, dFijiEast, dFijiFar}},
		{"AntimeridianOutside", resource.GeogroupMatch{Geometry: fiji, Outside: true}, resource.DeviceFilter{}, without(dFijiWest, dFijiEast)},
		{"Circle", resource.GeogroupMatch{Geometry: circle}, resource.DeviceFilter{}, []*resource.Device{dBerlin, dPotsdam}},
		{"CircleOutside", resource.GeogroupMatch{Geometry: circle, Outside: true}, resource.DeviceFilter{}, without(dBerlin, dPotsdam)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			m := tc.m
			f.Geogroup = &m
			got, total, err := devices.ListDevices(t.Context(), cust.ID, resource.DeviceQuery{Filter: f, Sort: []resource.SortField{{Field: "name"}}, Limit: 100})
			requireCode(t, err, "")
			requireEqual(t, sortedIDs(got), sortedIDs(tc.want))
			requireEqual(t, total, len(tc.want))
			// Pages of one hold the same devices, and the same total.
			var paged []*resource.Device
			for off := 0; off < len(tc.want)+1; off++ {
				page, total, err := devices.ListDevices(t.Context(), cust.ID, resource.DeviceQuery{Filter: f, Sort: []resource.SortField{{Field: "name"}}, Offset: off, Limit: 1})
				requireCode(t, err, "")
				requireEqual(t, total, len(tc.want))
				paged = append(paged, page...)
			}
			requireEqual(t, sortedIDs(paged), sortedIDs(tc.want))
		})
	}
}
