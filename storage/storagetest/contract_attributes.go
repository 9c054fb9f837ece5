package storagetest

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// testDeviceAttributes checks that attributes round-trip and that the
// attribute filters match strings, numbers and booleans as
// resource.AttributeCond says, within one customer.
func testDeviceAttributes(t *testing.T, devices resource.DeviceStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	other := MustCreateCustomer(t, customers)
	mk := func(customerID string, n int, attrs resource.Attributes) *resource.Device {
		d := NewDevice(customerID, testTime(time.Duration(n)*time.Second))
		d.Attributes = attrs
		return MustCreateDevice(t, devices, d)
	}
	a := mk(cust.ID, 0, resource.Attributes{"fleet": "north", "axles": 3.0, "fw.version": "1.2", "cold": true})
	b := mk(cust.ID, 1, resource.Attributes{"fleet": "south", "axles": 2.5, "cold": false, "code": "12"})
	c := mk(cust.ID, 2, resource.Attributes{"fleet": "north", "axles": "3", "cold": "true", "code": 12.0})
	d := mk(cust.ID, 3, nil)
	mk(other.ID, 0, resource.Attributes{"fleet": "north"})

	t.Run("RoundTrip", func(t *testing.T) {
		got, err := devices.FindDevice(t.Context(), cust.ID, a.ID)
		requireCode(t, err, "")
		requireEqual(t, got.Attributes, a.Attributes)
		got, err = devices.FindDevice(t.Context(), cust.ID, d.ID)
		requireCode(t, err, "")
		requireEqual(t, len(got.Attributes), 0)
	})
	t.Run("UpdateReplaces", func(t *testing.T) {
		e := mk(cust.ID, 4, resource.Attributes{"x": "1", "y": true})
		u := *e
		u.Attributes = resource.Attributes{"z": -0.5}
		requireCode(t, devices.UpdateDevice(t.Context(), &u), "")
		got, err := devices.FindDevice(t.Context(), cust.ID, e.ID)
		requireCode(t, err, "")
		requireEqual(t, got.Attributes, resource.Attributes{"z": -0.5})
		u.Attributes = nil
		requireCode(t, devices.UpdateDevice(t.Context(), &u), "")
		got, err = devices.FindDevice(t.Context(), cust.ID, e.ID)
		requireCode(t, err, "")
		requireEqual(t, len(got.Attributes), 0)
		requireCode(t, devices.DeleteDevice(t.Context(), cust.ID, e.ID), "")
	})
	cond := func(key, text string) resource.AttributeCond {
		f, err := resource.DeviceListFilter{Attributes: []resource.AttributeMatch{{Key: key, Value: text}}}.Validate()
		requireCode(t, err, "")
		return f.Attributes[0]
	}
	for _, tc := range []struct {
		name  string
		conds []resource.AttributeCond
		want  []*resource.Device
	}{
		{"String", []resource.AttributeCond{cond("fleet", "north")}, []*resource.Device{a, c}},
		{"StringIsExact", []resource.AttributeCond{cond("fleet", "North")}, []*resource.Device{}},
		{"DottedKey", []resource.AttributeCond{cond("fw.version", "1.2")}, []*resource.Device{a}},
		// "3" matches the number 3 and the string "3".
		{"NumberOrString", []resource.AttributeCond{cond("axles", "3")}, []*resource.Device{a, c}},
		{"NumberAsDecimal", []resource.AttributeCond{cond("axles", "3.0")}, []*resource.Device{a}},
		{"Fraction", []resource.AttributeCond{cond("axles", "2.5")}, []*resource.Device{b}},
		{"NumberMatchesStringAndNumber", []resource.AttributeCond{cond("code", "12")}, []*resource.Device{b, c}},
		// true matches the boolean true and the string "true", never 1.
		{"Bool", []resource.AttributeCond{cond("cold", "true")}, []*resource.Device{a, c}},
		{"False", []resource.AttributeCond{cond("cold", "false")}, []*resource.Device{b}},
		{"Both", []resource.AttributeCond{cond("fleet", "north"), cond("cold", "true")}, []*resource.Device{a, c}},
		{"BothNarrow", []resource.AttributeCond{cond("fleet", "north"), cond("axles", "3.0")}, []*resource.Device{a}},
		{"MissingKey", []resource.AttributeCond{cond("nothing", "north")}, []*resource.Device{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := resource.DeviceQuery{Filter: resource.DeviceFilter{Attributes: tc.conds}, Limit: 100,
				Sort: []resource.SortField{{Field: "created_at"}}}
			got, total, err := devices.ListDevices(t.Context(), cust.ID, q)
			requireCode(t, err, "")
			requireEqual(t, deviceIDs(got), deviceIDs(tc.want))
			requireEqual(t, total, len(tc.want))
		})
	}
	t.Run("BoolIsNotOne", func(t *testing.T) {
		e := mk(cust.ID, 5, resource.Attributes{"cold": 1.0})
		q := resource.DeviceQuery{Filter: resource.DeviceFilter{Attributes: []resource.AttributeCond{cond("cold", "true")}}, Limit: 100,
			Sort: []resource.SortField{{Field: "created_at"}}}
		got, _, err := devices.ListDevices(t.Context(), cust.ID, q)
		requireCode(t, err, "")
		requireEqual(t, deviceIDs(got), deviceIDs([]*resource.Device{a, c}))
		requireCode(t, devices.DeleteDevice(t.Context(), cust.ID, e.ID), "")
	})
}
