package resource_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// freshCustomer makes a customer without fixtures and returns a context of
// an app+basic principal of it.
func freshCustomer(t *testing.T, e *env) (*resource.Customer, context.Context) {
	t.Helper()
	c := storagetest.MustCreateCustomer(t, e.stores.customers)
	return c, as(t, &scopes.Principal{Kind: scopes.KindApplication, CustomerID: c.ID, Scopes: []string{scopes.App, scopes.Basic}})
}

// listIDs lists devices with q through the service and returns their ids.
func listIDs(t *testing.T, e *env, ctx context.Context, q deviceQuery) []string {
	t.Helper()
	list, err := e.devices.List(ctx, q)
	requireCode(t, err, "")
	if list.Total != len(list.Devices) {
		t.Fatalf("total %d for a single page of %d", list.Total, len(list.Devices))
	}
	return ids(list.Devices)
}

func testDeviceFiltersAndSorts(t *testing.T, e *env) {
	cust, ctx := freshCustomer(t, e)
	g := storagetest.MustCreateDeviceGroup(t, e.stores.groups, storagetest.NewDeviceGroup(cust.ID, time.Now()))
	base := time.Now().UTC().Truncate(time.Second)
	mk := func(name, mac string, fault bool, last time.Duration, groupID string, created time.Duration) *resource.Device {
		d := storagetest.NewDevice(cust.ID, base.Add(created))
		d.Name, d.MAC, d.Fault, d.GroupID = name, mac, fault, groupID
		if last != 0 {
			at := base.Add(last)
			d.LastEventAt = &at
		}
		return storagetest.MustCreateDevice(t, e.stores.devices, d)
	}
	d1 := mk("Alpha", "AA:00:00:00:00:01", true, 2*time.Hour, g.ID, 0)
	d2 := mk("bravo", "", false, 0, "", time.Second)
	d3 := mk("Charlie", "", true, time.Hour, g.ID, 2*time.Second)
	byIMEI := []*resource.Device{d1, d2, d3}
	slices.SortFunc(byIMEI, func(a, b *resource.Device) int {
		if a.IMEI < b.IMEI {
			return -1
		}
		return 1
	})
	type f = resource.DeviceListFilter
	sort := func(fields ...string) []resource.SortField {
		var out []resource.SortField
		for _, s := range fields {
			if s[0] == '-' {
				out = append(out, resource.SortField{Field: s[1:], Desc: true})
			} else {
				out = append(out, resource.SortField{Field: s})
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    deviceQuery
		want []*resource.Device
	}{
		{"Default", deviceQuery{}, []*resource.Device{d1, d2, d3}},
		{"FaultByLastEvent", deviceQuery{Filter: f{Fault: ref(true)}, Sort: sort("-last_event_at")}, []*resource.Device{d1, d3}},
		{"NoFault", deviceQuery{Filter: f{Fault: ref(false)}}, []*resource.Device{d2}},
		{"SearchCaseInsensitive", deviceQuery{Filter: f{Search: ref("ALP")}}, []*resource.Device{d1}},
		{"SearchMAC", deviceQuery{Filter: f{Search: ref("aa:00")}}, []*resource.Device{d1}},
		{"SearchIMEI", deviceQuery{Filter: f{Search: ref(d2.IMEI[2:13])}}, []*resource.Device{d2}},
		{"SearchAndFault", deviceQuery{Filter: f{Search: ref("a"), Fault: ref(true)}, Sort: sort("-name")}, []*resource.Device{d3, d1}},
		{"MACNormalised", deviceQuery{Filter: f{MAC: ref("aa:00:00:00:00:01")}}, []*resource.Device{d1}},
		{"IMEI", deviceQuery{Filter: f{IMEI: ref(d3.IMEI)}}, []*resource.Device{d3}},
		{"Group", deviceQuery{Filter: f{Group: ref(g.ID)}}, []*resource.Device{d1, d3}},
		{"NoGroup", deviceQuery{Filter: f{Group: ref("none")}}, []*resource.Device{d2}},
		{"OtherGroup", deviceQuery{Filter: f{Group: ref(resource.NewID())}}, []*resource.Device{}},
		{"Name", deviceQuery{Sort: sort("name")}, []*resource.Device{d1, d2, d3}},
		{"NameDesc", deviceQuery{Sort: sort("-name")}, []*resource.Device{d3, d2, d1}},
		{"IMEISort", deviceQuery{Sort: sort("imei")}, byIMEI},
		{"LastEvent", deviceQuery{Sort: sort("last_event_at")}, []*resource.Device{d2, d3, d1}},
		{"LastEventDesc", deviceQuery{Sort: sort("-last_event_at")}, []*resource.Device{d1, d3, d2}},
		{"CreatedDesc", deviceQuery{Sort: sort("-created_at")}, []*resource.Device{d3, d2, d1}},
		{"FaultThenCreatedDesc", deviceQuery{Sort: sort("last_event_at", "-created_at"), Filter: f{Fault: ref(true)}}, []*resource.Device{d3, d1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := listIDs(t, e, ctx, tc.q)
			if want := ids(tc.want); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got  %v\nwant %v", got, want)
			}
		})
	}
}

// Places for the radius filter: Potsdam is 27.2 km and Hamburg 255 km from
// Berlin.
var (
	berlin  = [2]float64{52.5200, 13.4050}
	potsdam = [2]float64{52.3906, 13.0645}
	hamburg = [2]float64{53.5511, 9.9937}
)

func testDeviceGeo(t *testing.T, e *env) {
	_, ctx := freshCustomer(t, e)
	at := func(name string, p *[2]float64) *resource.Device {
		in := resource.DeviceInput{Name: name, IMEI: storagetest.NewIMEI()}
		if p != nil {
			in.Latitude, in.Longitude = &p[0], &p[1]
		}
		d, err := e.devices.Create(ctx, in)
		must(t, err)
		return d
	}
	dBerlin, dPotsdam, dHamburg := at("Berlin", &berlin), at("Potsdam", &potsdam), at("Hamburg", &hamburg)
	at("Unplaced", nil)
	near := func(lte, gte *float64) resource.DeviceListFilter {
		return resource.DeviceListFilter{Latitude: ref(52.52), Longitude: ref(13.405), RadiusLTE: lte, RadiusGTE: gte}
	}
	for _, tc := range []struct {
		name   string
		filter resource.DeviceListFilter
		want   []*resource.Device
	}{
		{"Within30km", near(ref(30000.0), nil), []*resource.Device{dBerlin, dPotsdam}},
		{"Beyond30km", near(nil, ref(30000.0)), []*resource.Device{dHamburg}},
		{"Within26km", near(ref(26000.0), nil), []*resource.Device{dBerlin}},
		{"Within256km", near(ref(256000.0), nil), []*resource.Device{dBerlin, dPotsdam, dHamburg}},
		{"Within255km", near(ref(255000.0), nil), []*resource.Device{dBerlin, dPotsdam}},
		{"Ring", near(ref(300000.0), ref(1000.0)), []*resource.Device{dPotsdam, dHamburg}},
		{"FromHamburg", resource.DeviceListFilter{Latitude: ref(53.5511), Longitude: ref(9.9937), RadiusLTE: ref(200000.0)}, []*resource.Device{dHamburg}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := listIDs(t, e, ctx, deviceQuery{Filter: tc.filter})
			if want := ids(tc.want); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got  %v\nwant %v", got, want)
			}
		})
	}
}

func testDeviceInclude(t *testing.T, e *env) {
	cust, ctx := freshCustomer(t, e)
	conf := storagetest.NewConfiguration(cust.ID, time.Now())
	conf.State, conf.PublishedAt = resource.ConfigurationPublished, &conf.CreatedAt
	storagetest.MustCreateConfiguration(t, e.stores.configs, conf)
	g1, err := e.groups.Create(ctx, resource.DeviceGroupInput{Name: "With configuration", ConfigurationID: conf.ID})
	must(t, err)
	g2, err := e.groups.Create(ctx, resource.DeviceGroupInput{Name: "Without"})
	must(t, err)
	var devices []*resource.Device
	for _, gid := range []string{g1.ID, g1.ID, g2.ID, ""} {
		d, err := e.devices.Create(ctx, resource.DeviceInput{Name: "d", IMEI: storagetest.NewIMEI(), GroupID: gid})
		must(t, err)
		devices = append(devices, d)
	}
	groupIDs := func(inc resource.Included) []string {
		var out []string
		for _, g := range inc.Groups {
			out = append(out, g.ID)
		}
		return out
	}
	wantGroups := []string{g1.ID, g2.ID} // each once, by id
	t.Run("None", func(t *testing.T) {
		list, err := e.devices.List(ctx, deviceQuery{})
		must(t, err)
		if len(list.Included.Groups) != 0 || len(list.Included.Configurations) != 0 {
			t.Fatalf("included without include: %+v", list.Included)
		}
	})
	t.Run("Group", func(t *testing.T) {
		list, err := e.devices.List(ctx, deviceQuery{Include: []string{resource.IncludeGroup}})
		must(t, err)
		if fmt.Sprint(groupIDs(list.Included)) != fmt.Sprint(wantGroups) || len(list.Included.Configurations) != 0 {
			t.Fatalf("included %+v", list.Included)
		}
	})
	t.Run("GroupConfiguration", func(t *testing.T) {
		list, err := e.devices.List(ctx, deviceQuery{Include: []string{resource.IncludeGroupConfiguration}})
		must(t, err)
		if fmt.Sprint(groupIDs(list.Included)) != fmt.Sprint(wantGroups) ||
			len(list.Included.Configurations) != 1 || list.Included.Configurations[0].ID != conf.ID {
			t.Fatalf("included %+v", list.Included)
		}
	})
	t.Run("OnlyThePage", func(t *testing.T) {
		list, err := e.devices.List(ctx, deviceQuery{Include: []string{resource.IncludeGroup}, Page: resource.Page{Number: 2, Size: 2}})
		must(t, err)
		if fmt.Sprint(groupIDs(list.Included)) != fmt.Sprint([]string{g2.ID}) {
			t.Fatalf("included %+v", list.Included)
		}
	})
	t.Run("Find", func(t *testing.T) {
		inc, err := e.devices.Include(ctx, devices[3:], []string{resource.IncludeGroup})
		must(t, err)
		if len(inc.Groups) != 0 {
			t.Fatalf("included %+v for a device in no group", inc)
		}
		_, err = e.devices.Include(ctx, devices, []string{"owner"})
		requireInvalid(t, err, "include")
	})
	t.Run("GroupListDevices", func(t *testing.T) {
		list, err := e.groups.ListDevices(ctx, g1.ID, deviceQuery{Sort: []resource.SortField{{Field: "created_at", Desc: true}}})
		must(t, err)
		if fmt.Sprint(ids(list.Devices)) != fmt.Sprint([]string{devices[1].ID, devices[0].ID}) || list.Total != 2 {
			t.Fatalf("devices of group: %+v", list)
		}
		_, err = e.groups.ListDevices(ctx, g1.ID, deviceQuery{Filter: resource.DeviceListFilter{Group: ref(g2.ID)}})
		requireInvalid(t, err, "filter.group")
		_, err = e.groups.ListDevices(ctx, resource.NewID(), deviceQuery{})
		requireCode(t, err, resource.ENotFound)
	})
}

// TestDeviceFilterIsZero sets each field of DeviceFilter in turn: IsZero
// must say no for every one (a field IsZero forgets would let the store
// answer a filtered list with the customer's unfiltered count).
func TestDeviceFilterIsZero(t *testing.T) {
	if !(resource.DeviceFilter{}).IsZero() {
		t.Fatal("the zero filter is not zero")
	}
	typ := reflect.TypeFor[resource.DeviceFilter]()
	for i := range typ.NumField() {
		field := typ.Field(i)
		if field.Name == "Now" {
			continue // when Connected is judged: not a filter of its own
		}
		var f resource.DeviceFilter
		v := reflect.ValueOf(&f).Elem().Field(i)
		switch v.Kind() {
		case reflect.String:
			v.SetString("x")
		case reflect.Pointer:
			v.Set(reflect.New(field.Type.Elem()))
		case reflect.Slice:
			v.Set(reflect.MakeSlice(field.Type, 1, 1))
		default:
			t.Fatalf("DeviceFilter.%s: a %s; teach this test to set it", field.Name, v.Kind())
		}
		if f.IsZero() {
			t.Errorf("DeviceFilter.%s set, and IsZero says the filter is empty", field.Name)
		}
	}
}
