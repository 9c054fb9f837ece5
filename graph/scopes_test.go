package graph_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/assetgate/assetgate/graph/exec"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// probe is a GraphQL operation that performs one operation of the scopes
// table and succeeds when it is allowed. Operations that write make new
// objects, so probes may run in any order, any number of times.
type probe func(e *env) (query string, vars map[string]any)

// probes has one probe per operation of the table that the schema uses.
// allowedButFails names the error an allowed probe ends with when the
// test environment cannot do more: without an MQTT listener every device
// is offline, so a permitted call gets that far and no further.
var allowedButFails = map[scopes.Operation]string{scopes.OpDevicesCall: "DEVICE_OFFLINE"}

func probes() map[scopes.Operation]probe {
	return map[scopes.Operation]probe{
		scopes.OpCurrentUser: func(*env) (string, map[string]any) { return `{ me { id } }`, nil },
		scopes.OpApplications: func(*env) (string, map[string]any) {
			return `{ applications { totalCount } }`, nil
		},
		scopes.OpDevicesRead: func(e *env) (string, map[string]any) {
			return `query($id: ID!) { device(id: $id) { id } }`, map[string]any{"id": e.a.device.ID}
		},
		scopes.OpDevicesWrite: func(*env) (string, map[string]any) {
			return `mutation($imei: String!) { createDevice(input: {name: "Probe", imei: $imei}) { device { id } } }`,
				map[string]any{"imei": storagetest.NewIMEI()}
		},
		scopes.OpGroupsRead: func(*env) (string, map[string]any) {
			return `{ deviceGroups { totalCount } configurations { totalCount } }`, nil
		},
		scopes.OpGroupsWrite: func(*env) (string, map[string]any) {
			return `mutation { createDeviceGroup(input: {name: "Probe"}) { deviceGroup { id } } }`, nil
		},
		scopes.OpGeogroupsRead: func(*env) (string, map[string]any) {
			return `{ geogroups { totalCount } }`, nil
		},
		scopes.OpGeogroupsWrite: func(*env) (string, map[string]any) {
			return `mutation($g: JSON!) { createGeogroup(input: {name: "Probe", geometry: $g}) { geogroup { id } } }`,
				map[string]any{"g": json.RawMessage(storagetest.SquareGeometry)}
		},
		scopes.OpEventsRead: func(*env) (string, map[string]any) { return `{ events { totalCount } }`, nil },
		scopes.OpEventsIngest: func(e *env) (string, map[string]any) {
			return `mutation($id: ID!) { recordEvent(input: {deviceId: $id, type: BATTERY, payload: {percent: 50}}) { event { id } } }`,
				map[string]any{"id": e.a.device.ID}
		},
		scopes.OpDevicesCall: func(e *env) (string, map[string]any) {
			return `mutation($id: ID!) { callDeviceResource(deviceId: $id, name: "reboot") { callId } }`,
				map[string]any{"id": e.a.device.ID}
		},
		scopes.OpDeviceTokens: func(e *env) (string, map[string]any) {
			return `mutation($id: ID!) { createDeviceToken(input: {deviceId: $id, name: "Probe"}) { token } }`,
				map[string]any{"id": e.a.device.ID}
		},
		scopes.OpGrants: func(e *env) (string, map[string]any) {
			return `mutation($id: ID!) { revokeGrant(input: {clientId: $id}) { revokedClientId } }`,
				map[string]any{"id": e.mustConsent(e.a, "openid me").ClientID}
		},
	}
}

// schemaOperations returns the operations that @auth names on the schema's
// fields, as table operations.
func schemaOperations(t *testing.T) map[scopes.Operation][]string {
	t.Helper()
	schema := exec.NewExecutableSchema(exec.Config{}).Schema()
	byName := map[string]scopes.Operation{}
	for _, r := range scopes.Table() {
		byName[strings.ToUpper(strings.NewReplacer(":", "_").Replace(string(r.Op)))] = r.Op
	}
	out := map[scopes.Operation][]string{}
	for _, typ := range schema.Types {
		if typ.BuiltIn || typ.Kind != ast.Object {
			continue
		}
		for _, f := range typ.Fields {
			if d := f.Directives.ForName("auth"); d != nil {
				name := d.Arguments.ForName("op").Value.Raw
				op, ok := byName[name]
				if !ok {
					t.Fatalf("%s.%s: @auth(op: %s) names no operation of the scopes table", typ.Name, f.Name, name)
				}
				out[op] = append(out[op], typ.Name+"."+f.Name)
			}
		}
	}
	return out
}

// TestScopesMatrix runs every operation the schema guards with every kind
// of principal, and checks the outcome against the scopes table: allowed
// operations succeed, others are FORBIDDEN.
func TestScopesMatrix(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{})
	principals := map[string]string{
		"me":    e.me(e.a),
		"app":   e.app(e.a, scopes.App),
		"basic": e.app(e.a, scopes.Basic),
		// A scope held by the wrong kind of principal grants nothing.
		"app with me":   e.app(e.a, scopes.Me),
		"device (all)":  e.deviceToken(e.a, scopes.AllPermissions()...),
		"device (none)": e.deviceToken(e.a),
	}
	for _, perm := range scopes.AllPermissions() {
		principals["device ("+perm+")"] = e.deviceToken(e.a, perm)
	}
	used := schemaOperations(t)
	all := probes()
	for _, rule := range scopes.Table() {
		fields, inSchema := used[rule.Op]
		pr, ok := all[rule.Op]
		switch {
		case !inSchema && !ok:
			t.Errorf("%s: no GraphQL field performs it, so nothing checks who may", rule.Op)
			continue
		case !ok:
			t.Fatalf("%s guards %v but has no probe", rule.Op, fields)
		case !inSchema:
			t.Fatalf("%s has a probe but no field of the schema names it", rule.Op)
		}
		t.Run(string(rule.Op), func(t *testing.T) {
			for name, tok := range principals {
				p, _ := e.resolve(t.Context(), tok)
				query, vars := pr(e)
				r := e.query(t, tok, query, vars)
				if scopes.Allowed(p, rule.Op) {
					if code, ok := allowedButFails[rule.Op]; ok {
						r.fails(t, code)
					} else {
						r.ok(t)
					}
					continue
				}
				err := r.fails(t, "FORBIDDEN")
				if !strings.Contains(err.Message, rule.Description) {
					t.Errorf("%s: message %q does not say what is refused", name, err.Message)
				}
			}
		})
	}

	t.Run("DeviceTokenSeesOnlyItsDevice", func(t *testing.T) {
		tok := e.deviceToken(e.a, scopes.DeviceRead)
		other := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, e.a.device.CreatedAt))
		d := e.query(t, tok, `{ devices { totalCount edges { node { id } } } }`, nil).ok(t)
		if ids := nodeIDs(d["devices"]); !slices.Equal(ids, []string{e.a.device.ID}) {
			t.Fatalf("devices = %v", ids)
		}
		e.query(t, tok, `query($id: ID!) { device(id: $id) { id } }`, map[string]any{"id": other.ID}).fails(t, "NOT_FOUND")
		// Its group is not its to read: that field alone fails.
		r := e.query(t, tok, `query($id: ID!) { device(id: $id) { id group { id } } }`, map[string]any{"id": e.a.device.ID})
		if err := r.fails(t, "FORBIDDEN"); fmt.Sprint(err.Path) != "[device group]" || get(r.Data, "device.id") != e.a.device.ID {
			t.Fatalf("error %+v, data %v", err, r.Data)
		}
	})
}

// TestTenantIsolation reads and writes another customer's objects by id:
// each is NOT_FOUND, never FORBIDDEN, and nothing of the other customer
// changes or shows in lists.
func TestTenantIsolation(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.b
		cases := []struct {
			name  string
			query string
		}{
			{"device", `{ device(id: "` + b.device.ID + `") { id } }`},
			{"deviceGroup", `{ deviceGroup(id: "` + b.group.ID + `") { id } }`},
			{"geogroup", `{ geogroup(id: "` + b.geogroup.ID + `") { id } }`},
			{"updateGeogroup", `mutation { updateGeogroup(input: {id: "` + b.geogroup.ID + `", name: "Mine"}) { geogroup { id } } }`},
			{"deleteGeogroup", `mutation { deleteGeogroup(input: {id: "` + b.geogroup.ID + `"}) { deletedId } }`},
			{"devicesInForeignGeogroup", `{ devices(filter: {geogroupInside: "` + b.geogroup.ID + `"}) { totalCount } }`},
			{"configuration", `{ configuration(id: "` + b.config.ID + `") { id } }`},
			{"updateDevice", `mutation { updateDevice(input: {id: "` + b.device.ID + `", name: "Mine"}) { device { id } } }`},
			{"setDeviceGroup", `mutation { setDeviceGroup(input: {id: "` + b.device.ID + `", groupId: null}) { device { id } } }`},
			{"deleteDevice", `mutation { deleteDevice(input: {id: "` + b.device.ID + `"}) { deletedId } }`},
			{"updateDeviceGroup", `mutation { updateDeviceGroup(input: {id: "` + b.group.ID + `", name: "Mine"}) { deviceGroup { id } } }`},
			{"assignConfiguration", `mutation { assignConfiguration(input: {groupId: "` + b.group.ID + `", configurationId: null}) { deviceGroup { id } } }`},
			{"deleteDeviceGroup", `mutation { deleteDeviceGroup(input: {id: "` + b.group.ID + `"}) { deletedId } }`},
			{"updateConfiguration", `mutation { updateConfiguration(input: {id: "` + b.config.ID + `", name: "Mine"}) { configuration { id } } }`},
			{"publishConfiguration", `mutation { publishConfiguration(input: {id: "` + b.config.ID + `"}) { configuration { id } } }`},
			{"deleteConfiguration", `mutation { deleteConfiguration(input: {id: "` + b.config.ID + `"}) { deletedId } }`},
			{"assignForeignConfiguration", `mutation { assignConfiguration(input: {groupId: "` + e.a.group.ID + `", configurationId: "` + b.config.ID + `"}) { deviceGroup { id } } }`},
			{"createDeviceInForeignGroup", `mutation { createDevice(input: {name: "X", imei: "` + storagetest.NewIMEI() + `", groupId: "` + b.group.ID + `"}) { device { id } } }`},
		}
		for _, tok := range []string{e.me(e.a), e.app(e.a, scopes.App)} {
			for _, c := range cases {
				e.query(t, tok, c.query, nil).fails(t, "NOT_FOUND")
			}
		}
		d := e.query(t, e.me(e.a), `{ devices { edges { node { id group { id } } } } deviceGroups { edges { node { id } } } configurations { edges { node { id } } } geogroups { edges { node { id } } } }`, nil).ok(t)
		for _, list := range []string{"devices", "deviceGroups", "configurations", "geogroups"} {
			for _, id := range nodeIDs(d[list]) {
				if id == b.device.ID || id == b.group.ID || id == b.config.ID || id == b.geogroup.ID {
					t.Fatalf("%s shows customer B's %s", list, id)
				}
			}
		}
		for _, check := range []func() error{
			func() error {
				_, err := e.stores.devices.FindDevice(t.Context(), b.customer.ID, b.device.ID)
				return err
			},
			func() error {
				_, err := e.stores.groups.FindDeviceGroup(t.Context(), b.customer.ID, b.group.ID)
				return err
			},
			func() error {
				g, err := e.graph.Stores.Geogroups.FindGeogroup(t.Context(), b.customer.ID, b.geogroup.ID)
				if err == nil && g.Name != b.geogroup.Name {
					t.Errorf("customer B's geogroup was renamed to %q", g.Name)
				}
				return err
			},
		} {
			must(t, check())
		}
		dev, err := e.stores.devices.FindDevice(t.Context(), b.customer.ID, b.device.ID)
		must(t, err)
		conf, err := e.stores.configs.FindConfiguration(t.Context(), b.customer.ID, b.config.ID)
		must(t, err)
		if dev.Name != b.device.Name || dev.GroupID != b.group.ID || conf.State != resource.ConfigurationPublished {
			t.Fatalf("customer B's objects changed: %+v %+v", dev, conf)
		}
	})
}

// TestOperationEnum checks that the schema's Operation enum is the scopes
// table, row for row.
func TestOperationEnum(t *testing.T) {
	schema := exec.NewExecutableSchema(exec.Config{}).Schema()
	var values []string
	for _, v := range schema.Types["Operation"].EnumValues {
		values = append(values, v.Name)
	}
	var want []string
	for _, r := range scopes.Table() {
		want = append(want, strings.ToUpper(strings.NewReplacer(":", "_").Replace(string(r.Op))))
	}
	if !slices.Equal(values, want) {
		t.Fatalf("enum Operation = %v, want the table's %v", values, want)
	}
}
