package graph_test

import (
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestQueries reads every resource through GraphQL and checks the values
// against what the stores hold.
func TestQueries(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		me := e.me(e.a)
		t.Run("Me", func(t *testing.T) {
			d := e.query(t, me, `{ me { id email createdAt customer { id name } } }`, nil).ok(t)
			if get(d, "me.id") != e.a.user.ID || get(d, "me.email") != e.a.user.Email ||
				get(d, "me.customer.id") != e.a.customer.ID || get(d, "me.customer.name") != "Tenant" {
				t.Fatalf("me = %v", d)
			}
			if ts, err := time.Parse(time.RFC3339Nano, get(d, "me.createdAt").(string)); err != nil || !ts.Equal(e.a.user.CreatedAt) {
				t.Fatalf("createdAt = %v, want %v", get(d, "me.createdAt"), e.a.user.CreatedAt)
			}
		})
		t.Run("Device", func(t *testing.T) {
			d := e.query(t, me, `query($id: ID!) { device(id: $id) { id name imei mac latitude longitude fault lastEventAt
				group { id name configuration { id name state publishedAt settings { reportingIntervalS temperatureLogIntervalS shockThresholdG } } } } }`,
				map[string]any{"id": e.a.device.ID}).ok(t)
			dev := e.a.device
			if get(d, "device.id") != dev.ID || get(d, "device.name") != dev.Name || get(d, "device.imei") != dev.IMEI ||
				get(d, "device.mac") != nil || get(d, "device.latitude") != nil || get(d, "device.fault") != false || get(d, "device.lastEventAt") != nil {
				t.Fatalf("device = %v", d)
			}
			if get(d, "device.group.id") != e.a.group.ID || get(d, "device.group.configuration.id") != e.a.config.ID ||
				get(d, "device.group.configuration.state") != "PUBLISHED" ||
				get(d, "device.group.configuration.settings.reportingIntervalS") != float64(*e.a.config.Settings.ReportingIntervalS) {
				t.Fatalf("device group = %v", get(d, "device.group"))
			}
		})
		t.Run("DeviceGroupDevices", func(t *testing.T) {
			d := e.query(t, me, `query($id: ID!) { deviceGroup(id: $id) { id devices { totalCount edges { node { id } } } } }`,
				map[string]any{"id": e.a.group.ID}).ok(t)
			if ids := nodeIDs(get(d, "deviceGroup.devices")); !slices.Equal(ids, []string{e.a.device.ID}) {
				t.Fatalf("group devices = %v", ids)
			}
		})
		t.Run("Lists", func(t *testing.T) {
			d := e.query(t, me, `{ devices { totalCount edges { node { id } } } deviceGroups { totalCount edges { node { id } } }
				configurations { totalCount edges { node { id } } } applications { totalCount } }`, nil).ok(t)
			for name, want := range map[string]string{"devices": e.a.device.ID, "deviceGroups": e.a.group.ID, "configurations": e.a.config.ID} {
				if ids := nodeIDs(d[name]); !slices.Equal(ids, []string{want}) || get(d, name+".totalCount") != 1.0 {
					t.Errorf("%s = %v, want only %s", name, d[name], want)
				}
			}
			if get(d, "applications.totalCount") != 0.0 {
				t.Errorf("applications = %v", d["applications"])
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, q := range []string{`device(id: $id) { id }`, `deviceGroup(id: $id) { id }`, `configuration(id: $id) { id }`, `application(id: $id) { id }`} {
				for _, id := range []string{resource.NewID(), "not-an-id"} {
					r := e.query(t, me, `query($id: ID!) { `+q+` }`, map[string]any{"id": id})
					if err := r.fails(t, "NOT_FOUND"); len(err.Path) != 1 {
						t.Fatalf("%s: path %v", q, err.Path)
					}
				}
			}
		})
	})
}

// TestFilters checks that each filter and ordering of the schema reaches
// the service as JSON:API's would, and that a bad value is BAD_USER_INPUT
// pointing at the argument.
func TestFilters(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		me := e.me(e.a)
		now := time.Now()
		near := storagetest.NewDevice(e.a.customer.ID, now.Add(time.Second))
		near.Name, near.MAC, near.Fault = "Alpha near", "AA:BB:CC:00:11:22", true
		lat, lon := 48.8566, 2.3522
		near.Latitude, near.Longitude = &lat, &lon
		storagetest.MustCreateDevice(t, e.stores.devices, near)
		far := storagetest.NewDevice(e.a.customer.ID, now.Add(2*time.Second))
		far.Name = "Zulu far"
		storagetest.MustCreateDevice(t, e.stores.devices, far)

		devices := func(t *testing.T, filter map[string]any, orderBy []any) []string {
			t.Helper()
			d := e.query(t, me, `query($f: DeviceFilter, $o: [DeviceOrder!]) { devices(filter: $f, orderBy: $o) { edges { node { id } } } }`,
				map[string]any{"f": filter, "o": orderBy}).ok(t)
			return nodeIDs(d["devices"])
		}
		cases := []struct {
			name   string
			filter map[string]any
			want   []string
		}{
			{"Search", map[string]any{"search": "alpha"}, []string{near.ID}},
			{"IMEI", map[string]any{"imei": far.IMEI}, []string{far.ID}},
			{"MAC", map[string]any{"mac": "aa:bb:cc:00:11:22"}, []string{near.ID}},
			{"Fault", map[string]any{"fault": true}, []string{near.ID}},
			{"GroupNone", map[string]any{"group": "none"}, []string{near.ID, far.ID}},
			{"Group", map[string]any{"group": e.a.group.ID}, []string{e.a.device.ID}},
			{"Near", map[string]any{"latitude": 48.86, "longitude": 2.35, "radiusLte": 2000.0}, []string{near.ID}},
			{"Beyond", map[string]any{"latitude": 48.86, "longitude": 2.35, "radiusGte": 2000.0}, []string{}},
			{"NullIsAbsent", map[string]any{"search": nil}, []string{e.a.device.ID, near.ID, far.ID}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if got := devices(t, c.filter, nil); !slices.Equal(got, c.want) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			})
		}
		t.Run("OrderBy", func(t *testing.T) {
			o := []any{map[string]any{"field": "NAME", "direction": "DESC"}}
			want := []string{far.ID, e.a.device.ID, near.ID} // "Zulu far", "Device ...", "Alpha near"
			if got := devices(t, nil, o); !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			o = []any{map[string]any{"field": "CREATED_AT"}}
			want = []string{e.a.device.ID, near.ID, far.ID}
			if got := devices(t, nil, o); !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
		t.Run("Groups", func(t *testing.T) {
			d := e.query(t, me, `query($n: [String!]) { deviceGroups(filter: {name: $n}, orderBy: [{field: NAME}]) { edges { node { id } } } }`,
				map[string]any{"n": []string{e.a.group.Name}}).ok(t)
			if ids := nodeIDs(d["deviceGroups"]); !slices.Equal(ids, []string{e.a.group.ID}) {
				t.Fatalf("groups = %v", ids)
			}
		})
		t.Run("GroupNameWithComma", func(t *testing.T) {
			// A name is one item of the list, commas and all: the
			// filter is typed, never joined into JSON:API's comma list.
			comma := storagetest.NewDeviceGroup(e.a.customer.ID, time.Now())
			comma.Name = "North, East"
			storagetest.MustCreateDeviceGroup(t, e.stores.groups, comma)
			for _, part := range []string{"North", "East"} {
				other := storagetest.NewDeviceGroup(e.a.customer.ID, time.Now())
				other.Name = part
				storagetest.MustCreateDeviceGroup(t, e.stores.groups, other)
			}
			d := e.query(t, me, `query($n: [String!]) { deviceGroups(filter: {name: $n}) { edges { node { id } } } }`,
				map[string]any{"n": []string{"North, East"}}).ok(t)
			if ids := nodeIDs(d["deviceGroups"]); !slices.Equal(ids, []string{comma.ID}) {
				t.Fatalf("groups = %v, want only %s", ids, comma.ID)
			}
		})
		t.Run("Configurations", func(t *testing.T) {
			for state, want := range map[string][]string{"PUBLISHED": {e.a.config.ID}, "DRAFT": {}} {
				d := e.query(t, me, `query($s: ConfigurationState) { configurations(filter: {state: $s}, orderBy: [{field: PUBLISHED_AT, direction: DESC}]) { edges { node { id } } } }`,
					map[string]any{"s": state}).ok(t)
				if ids := nodeIDs(d["configurations"]); !slices.Equal(ids, want) {
					t.Fatalf("%s: configurations = %v", state, ids)
				}
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			for _, c := range []struct {
				filter map[string]any
				field  string
			}{
				{map[string]any{"latitude": 91.0, "longitude": 0.0, "radiusLte": 1.0}, "filter.latitude"},
				{map[string]any{"latitude": 10.0, "longitude": 0.0}, "filter.radiusLte"},
				{map[string]any{"group": "not-an-id"}, "filter.group"},
				{map[string]any{"imei": " "}, "filter.imei"},
			} {
				r := e.query(t, me, `query($f: DeviceFilter) { devices(filter: $f) { totalCount } }`, map[string]any{"f": c.filter})
				if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != c.field || get(r.Data, "devices") != nil {
					t.Fatalf("%v: error %+v, want field %s", c.filter, err, c.field)
				}
			}
			// The devices of a group cannot be filtered by group.
			r := e.query(t, me, `query($id: ID!) { deviceGroup(id: $id) { devices(filter: {group: "none"}) { totalCount } } }`,
				map[string]any{"id": e.a.group.ID})
			if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "filter.group" {
				t.Fatalf("error %+v", err)
			}
			// An unknown filter or order field cannot even be written.
			r = e.query(t, me, `{ devices(filter: {color: "red"}) { totalCount } }`, nil)
			r.fails(t, "GRAPHQL_VALIDATION_FAILED")
			r = e.query(t, me, `{ devices(orderBy: [{field: COLOR}]) { totalCount } }`, nil)
			r.fails(t, "GRAPHQL_VALIDATION_FAILED")
		})
	})
}
