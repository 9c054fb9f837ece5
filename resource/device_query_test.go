package resource_test

import (
	"context"
	"fmt"
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
func listIDs(t *testing.T, e *env, ctx context.Context, q resource.Query) []string {
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
	f := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
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
		q    resource.Query
		want []*resource.Device
	}{
		{"Default", resource.Query{}, []*resource.Device{d1, d2, d3}},
		{"FaultByLastEvent", resource.Query{Filter: f("fault", "true"), Sort: sort("-last_event_at")}, []*resource.Device{d1, d3}},
		{"NoFault", resource.Query{Filter: f("fault", "false")}, []*resource.Device{d2}},
		{"SearchCaseInsensitive", resource.Query{Filter: f("search", "ALP")}, []*resource.Device{d1}},
		{"SearchMAC", resource.Query{Filter: f("search", "aa:00")}, []*resource.Device{d1}},
		{"SearchIMEI", resource.Query{Filter: f("search", d2.IMEI[2:13])}, []*resource.Device{d2}},
		{"SearchAndFault", resource.Query{Filter: f("search", "a", "fault", "true"), Sort: sort("-name")}, []*resource.Device{d3, d1}},
		{"MACNormalised", resource.Query{Filter: f("mac", "aa:00:00:00:00:01")}, []*resource.Device{d1}},
		{"IMEI", resource.Query{Filter: f("imei", d3.IMEI)}, []*resource.Device{d3}},
		{"Group", resource.Query{Filter: f("group", g.ID)}, []*resource.Device{d1, d3}},
		{"NoGroup", resource.Query{Filter: f("group", "none")}, []*resource.Device{d2}},
		{"OtherGroup", resource.Query{Filter: f("group", resource.NewID())}, []*resource.Device{}},
		{"Name", resource.Query{Sort: sort("name")}, []*resource.Device{d1, d2, d3}},
		{"NameDesc", resource.Query{Sort: sort("-name")}, []*resource.Device{d3, d2, d1}},
		{"IMEISort", resource.Query{Sort: sort("imei")}, byIMEI},
		{"LastEvent", resource.Query{Sort: sort("last_event_at")}, []*resource.Device{d2, d3, d1}},
		{"LastEventDesc", resource.Query{Sort: sort("-last_event_at")}, []*resource.Device{d1, d3, d2}},
		{"CreatedDesc", resource.Query{Sort: sort("-created_at")}, []*resource.Device{d3, d2, d1}},
		{"FaultThenCreatedDesc", resource.Query{Sort: sort("last_event_at", "-created_at"), Filter: f("fault", "true")}, []*resource.Device{d3, d1}},
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
	near := func(kv ...string) map[string]string {
		m := map[string]string{"latitude": "52.52", "longitude": "13.405"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		filter map[string]string
		want   []*resource.Device
	}{
		{"Within30km", near("radius_lte", "30000"), []*resource.Device{dBerlin, dPotsdam}},
		{"Beyond30km", near("radius_gte", "30000"), []*resource.Device{dHamburg}},
		{"Within26km", near("radius_lte", "26000"), []*resource.Device{dBerlin}},
		{"Within256km", near("radius_lte", "256000"), []*resource.Device{dBerlin, dPotsdam, dHamburg}},
		{"Within255km", near("radius_lte", "255000"), []*resource.Device{dBerlin, dPotsdam}},
		{"Ring", near("radius_gte", "1000", "radius_lte", "300000"), []*resource.Device{dPotsdam, dHamburg}},
		{"FromHamburg", map[string]string{"latitude": "53.5511", "longitude": "9.9937", "radius_lte": "200000"}, []*resource.Device{dHamburg}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := listIDs(t, e, ctx, resource.Query{Filter: tc.filter})
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
		list, err := e.devices.List(ctx, resource.Query{})
		must(t, err)
		if len(list.Included.Groups) != 0 || len(list.Included.Configurations) != 0 {
			t.Fatalf("included without include: %+v", list.Included)
		}
	})
	t.Run("Group", func(t *testing.T) {
		list, err := e.devices.List(ctx, resource.Query{Include: []string{resource.IncludeGroup}})
		must(t, err)
		if fmt.Sprint(groupIDs(list.Included)) != fmt.Sprint(wantGroups) || len(list.Included.Configurations) != 0 {
			t.Fatalf("included %+v", list.Included)
		}
	})
	t.Run("GroupConfiguration", func(t *testing.T) {
		list, err := e.devices.List(ctx, resource.Query{Include: []string{resource.IncludeGroupConfiguration}})
		must(t, err)
		if fmt.Sprint(groupIDs(list.Included)) != fmt.Sprint(wantGroups) ||
			len(list.Included.Configurations) != 1 || list.Included.Configurations[0].ID != conf.ID {
			t.Fatalf("included %+v", list.Included)
		}
	})
	t.Run("OnlyThePage", func(t *testing.T) {
		list, err := e.devices.List(ctx, resource.Query{Include: []string{resource.IncludeGroup}, Page: resource.Page{Number: 2, Size: 2}})
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
		list, err := e.groups.ListDevices(ctx, g1.ID, resource.Query{Sort: []resource.SortField{{Field: "created_at", Desc: true}}})
		must(t, err)
		if fmt.Sprint(ids(list.Devices)) != fmt.Sprint([]string{devices[1].ID, devices[0].ID}) || list.Total != 2 {
			t.Fatalf("devices of group: %+v", list)
		}
		_, err = e.groups.ListDevices(ctx, g1.ID, resource.Query{Filter: map[string]string{"group": g2.ID}})
		requireInvalid(t, err, "filter[group]")
		_, err = e.groups.ListDevices(ctx, resource.NewID(), resource.Query{})
		requireCode(t, err, resource.ENotFound)
	})
}
