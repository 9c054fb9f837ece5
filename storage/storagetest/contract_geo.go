package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// Places with known great-circle distances (on a sphere of
// resource.EarthRadius), for radius filters.
var (
	berlin  = [2]float64{52.5200, 13.4050}
	potsdam = [2]float64{52.3906, 13.0645} // 27.19 km from Berlin
	hamburg = [2]float64{53.5511, 9.9937}  // 255.25 km from Berlin
	// corner is 30.08 km north-east of Berlin: inside the bounding box of a
	// 30 km radius, outside the circle.
	corner = [2]float64{52.72, 13.705}
	// fijiWest and fijiEast are 10.63 km apart across the antimeridian;
	// fijiFar is 101 km west of fijiWest.
	fijiWest = [2]float64{-17, 179.95}
	fijiEast = [2]float64{-17, -179.95}
	fijiFar  = [2]float64{-17, 179.0}
	// poleA and poleB are 11.12 km apart across the North Pole.
	poleA = [2]float64{89.95, 0}
	poleB = [2]float64{89.95, 180}
)

// testDeviceGeo checks radius filters against known distances, including
// boxes that cross the antimeridian or contain a pole.
func testDeviceGeo(t *testing.T, devices resource.DeviceStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	at := func(name string, p [2]float64) *resource.Device {
		d := NewDevice(cust.ID, testTime(time.Duration(len(name))*time.Second))
		d.Name, d.Latitude, d.Longitude = name, float(p[0]), float(p[1])
		return MustCreateDevice(t, devices, d)
	}
	nowhere := NewDevice(cust.ID, testTime(0))
	nowhere.Name = "nowhere"
	MustCreateDevice(t, devices, nowhere)
	dBerlin, dPotsdam, dHamburg, dCorner := at("berlin", berlin), at("potsdam", potsdam), at("hamburg", hamburg), at("corner", corner)
	dFijiEast, dFijiFar := at("fiji east", fijiEast), at("fiji far", fijiFar)
	dPoleB := at("pole b", poleB)
	for _, tc := range []struct {
		name     string
		centre   [2]float64
		lte, gte *float64
		want     []*resource.Device
	}{
		{"Within30km", berlin, float(30000), nil, []*resource.Device{dBerlin, dPotsdam}},
		{"WithinExactCorner", berlin, float(30100), nil, []*resource.Device{dBerlin, dPotsdam, dCorner}},
		{"Beyond30km", berlin, nil, float(30000), []*resource.Device{dHamburg, dCorner, dFijiEast, dFijiFar, dPoleB}},
		{"Ring", berlin, float(300000), float(20000), []*resource.Device{dPotsdam, dHamburg, dCorner}},
		{"ZeroRadius", berlin, float(0), nil, []*resource.Device{dBerlin}},
		{"Antimeridian", fijiWest, float(20000), nil, []*resource.Device{dFijiEast}},
		{"AntimeridianWide", fijiWest, float(110000), nil, []*resource.Device{dFijiEast, dFijiFar}},
		{"Pole", poleA, float(20000), nil, []*resource.Device{dPoleB}},
		{"WholeGlobe", berlin, float(3e7), nil, []*resource.Device{dBerlin, dPotsdam, dHamburg, dCorner, dFijiEast, dFijiFar, dPoleB}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := devices.ListDevices(t.Context(), cust.ID, resource.DeviceQuery{
				Filter: resource.DeviceFilter{Near: &resource.GeoFilter{Latitude: tc.centre[0], Longitude: tc.centre[1], RadiusLTE: tc.lte, RadiusGTE: tc.gte}},
				Sort:   []resource.SortField{{Field: "name"}}, Limit: 100,
			})
			requireCode(t, err, "")
			requireEqual(t, sortedIDs(got), sortedIDs(tc.want))
			requireEqual(t, total, len(tc.want))
		})
	}
}

// sortedIDs returns the ids of devices in ascending order.
func sortedIDs(devices []*resource.Device) []string {
	ids := deviceIDs(devices)
	slices.Sort(ids)
	return ids
}
