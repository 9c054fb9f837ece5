package e2e

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/internal/testsupport"
)

// parityCase is one read done through both APIs: a JSON:API path and a
// GraphQL query of the same data, with the GraphQL fields to compare to
// the JSON:API attributes (camelCase to snake_case) and relationships.
type parityCase struct {
	name    string
	path    string // JSON:API, under /api/v1
	query   string // GraphQL; its result is at data.<field>
	field   string
	list    bool
	attrs   []string          // GraphQL fields equal to the attribute of the same name in snake case
	rels    map[string]string // GraphQL field (an object with an id, or an ID) -> JSON:API relationship
	convert map[string]func(any) any
	// names maps the GraphQL fields whose attribute is not their snake case.
	names map[string]string
	// noID is set for objects that have no id in GraphQL (device stats).
	noID bool
}

// TestGraphQLParity reads every resource through JSON:API and through
// GraphQL on one server and checks that both return the same data: the
// same items in the same order, the same totals, ids, attributes and
// relationships.
func TestGraphQLParity(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			tn := newAPITenant(t, env, c, "Parity")
			// More data, written through GraphQL: devices with and without
			// a MAC, a position and a group; a draft; an application.
			for _, in := range []map[string]any{
				{"name": "Alpha", "imei": testIMEI(), "mac": "00:11:22:33:44:55", "latitude": 52.52, "longitude": 13.405, "fault": true,
					"attributes": map[string]any{"fleet": "north", "axles": 3, "cold": true, "fw.version": "1.2"}},
				{"name": "Bravo", "imei": testIMEI(), "groupId": tn.groupID, "attributes": map[string]any{"fleet": "north", "axles": "3"}},
				{"name": "Charlie", "imei": testIMEI(), "attributes": map[string]any{"fleet": "south", "axles": 3.5, "cold": "true"}},
				// Inside the tenant's geogroup, and 6.77 km west of it.
				{"name": "Delta", "imei": testIMEI(), "latitude": 52.2, "longitude": 13.8},
				{"name": "Echo", "imei": testIMEI(), "latitude": 52.5, "longitude": 12.9},
			} {
				gql(t, ts.URL, tn.me, `mutation($in: CreateDeviceInput!) { createDevice(input: $in) { device { id } } }`, map[string]any{"in": in}).ok(t)
			}
			gql(t, ts.URL, tn.app, `mutation { createGeogroup(input: {name: "Circle", geometry: {type: "Point", coordinates: [13.4, 52.5], radius: 900}}) { geogroup { id } } }`, nil).ok(t)
			gql(t, ts.URL, tn.me, `mutation { createConfiguration(input: {name: "Draft", settings: {shockThresholdG: 1.5, temperatureLogIntervalS: 30}}) { configuration { id } } }`, nil).ok(t)
			gql(t, ts.URL, tn.me, `mutation { createApplication(input: {name: "Partner", grantTypes: ["client_credentials"], accessTokenTtl: 900}) { application { id } } }`, nil).ok(t)
			for _, ev := range []string{`type: LOCATION, payload: {latitude: 50.1, longitude: 8.7}`, `type: TEMPERATURE, payload: {celsius: 3.25}`, `type: STATUS, payload: {fault: false}`} {
				gql(t, ts.URL, tn.app, `mutation($id: ID!) { recordEvent(input: {deviceId: $id, `+ev+`}) { event { id } } }`, map[string]any{"id": tn.deviceID}).ok(t)
			}
			gql(t, ts.URL, tn.me, `mutation($id: ID!) { createDeviceToken(input: {deviceId: $id, name: "Reader", permissions: [EVENTS_READ]}) { token } }`,
				map[string]any{"id": tn.deviceID}).ok(t)
			eventConvert := map[string]func(any) any{
				"type": func(v any) any { return strings.ToLower(v.(string)) },
				"payload": func(v any) any {
					out := map[string]any{}
					for k, x := range v.(map[string]any) {
						if x != nil {
							out[k] = x
						}
					}
					return out
				},
			}
			eventQuery := "id type occurredAt receivedAt deviceId payload { latitude longitude celsius g percent fault }"
			eventAttrs := []string{"type", "occurredAt", "receivedAt", "payload"}
			eventNames := map[string]string{"type": "event_type"}

			deviceFields := []string{"name", "imei", "mac", "latitude", "longitude", "fault", "attributes", "lastEventAt", "createdAt", "updatedAt",
				"connected", "connectedAt", "disconnectedAt", "remoteAddress", "rxBytes", "txBytes", "lastSeenAt"}
			deviceQuery := "id " + strings.Join(deviceFields, " ") + " group { id }"
			configFields := []string{"name", "state", "settings", "publishedAt", "createdAt", "updatedAt"}
			configQuery := "id name state publishedAt createdAt updatedAt settings { reportingIntervalS temperatureLogIntervalS shockThresholdG }"
			configConvert := map[string]func(any) any{
				"state": func(v any) any { return strings.ToLower(v.(string)) },
				"settings": func(v any) any {
					out := map[string]any{}
					for k, x := range v.(map[string]any) {
						if x != nil {
							out[testsupport.SnakeCase(k)] = x
						}
					}
					return out
				},
			}
			appFields := []string{"name", "grantTypes", "redirectUris", "postLogoutRedirectUris", "tokenEndpointAuthMethod", "pkceEnforcement",
				"scopes", "accessTokenTtl", "refreshTokenDuration", "refreshTokenRollingDuration", "deviceTimeout", "devicePollingInterval",
				"enabled", "createdAt", "updatedAt"}
			// The second page of two, by the cursor the first page ends with.
			page1 := gql(t, ts.URL, tn.me, `{ devices(orderBy: [{field: IMEI}], first: 2) { pageInfo { endCursor } } }`, nil).ok(t)
			after, _ := at(page1, "devices.pageInfo.endCursor").(string)
			cases := []parityCase{
				{name: "Me", path: "/users/me", query: `{ me { id email createdAt updatedAt customer { id } } }`, field: "me",
					attrs: []string{"email", "createdAt", "updatedAt"}, rels: map[string]string{"customer": "customer"}},
				{name: "Customer", path: "/users/me/customer", query: `{ me { customer { id name createdAt updatedAt } } }`, field: "me.customer",
					attrs: []string{"name", "createdAt", "updatedAt"}},
				{name: "Devices", path: "/devices?sort=name", list: true, field: "devices",
					query: `{ devices(orderBy: [{field: NAME}]) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "DevicesFiltered", path: "/devices?" + url.Values{"filter[latitude]": {"52.5"}, "filter[longitude]": {"13.4"}, "filter[radius_lte]": {"10000"}}.Encode(),
					list: true, field: "devices", query: `{ devices(filter: {latitude: 52.5, longitude: 13.4, radiusLte: 10000}) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "DevicesInGeogroup", path: "/devices?sort=name&filter[geogroup_inside]=" + tn.geogroupID, list: true, field: "devices",
					query: `{ devices(filter: {geogroupInside: "` + tn.geogroupID + `"}, orderBy: [{field: NAME}]) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "DevicesNearGeogroup", path: "/devices?sort=name&filter[geogroup_distance]=10000&filter[geogroup_inside]=" + tn.geogroupID, list: true, field: "devices",
					query: `{ devices(filter: {geogroupInside: "` + tn.geogroupID + `", geogroupDistance: 10000}, orderBy: [{field: NAME}]) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "DevicesFarFromGeogroup", path: "/devices?sort=-name&filter[geogroup_distance]=5000&filter[geogroup_outside]=" + tn.geogroupID, list: true, field: "devices",
					query: `{ devices(filter: {geogroupOutside: "` + tn.geogroupID + `", geogroupDistance: 5000}, orderBy: [{field: NAME, direction: DESC}]) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				// Attribute filters: a string, a number (GraphQL's 3 and
				// JSON:API's text 3 both match the number 3 and the
				// string "3"), a boolean (true matches true and "true"),
				// two at once, a dotted key.
				{name: "DevicesByAttributeString", path: "/devices?sort=name&filter[attributes.fleet]=north", list: true, field: "devices",
					query: `{ devices(filter: {attributes: [{key: "fleet", value: "north"}]}, orderBy: [{field: NAME}]) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "DevicesByAttributeNumber", path: "/devices?sort=name&filter[attributes.axles]=3", list: true, field: "devices",
					query: `{ devices(filter: {attributes: [{key: "axles", value: 3}]}, orderBy: [{field: NAME}]) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "DevicesByAttributeFraction", path: "/devices?sort=name&filter[attributes.axles]=3.5", list: true, field: "devices",
					query: `{ devices(filter: {attributes: [{key: "axles", value: 3.5}]}, orderBy: [{field: NAME}]) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "DevicesByAttributeBool", path: "/devices?sort=-name&filter[attributes.cold]=true", list: true, field: "devices",
					query: `{ devices(filter: {attributes: [{key: "cold", value: true}]}, orderBy: [{field: NAME, direction: DESC}]) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "DevicesByTwoAttributes", path: "/devices?sort=name&filter[attributes.fleet]=north&filter[attributes.fw.version]=1.2", list: true, field: "devices",
					query: `{ devices(filter: {attributes: [{key: "fleet", value: "north"}, {key: "fw.version", value: "1.2"}]}, orderBy: [{field: NAME}]) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "Geogroups", path: "/geogroups?sort=-created_at", list: true, field: "geogroups",
					query: `{ geogroups(orderBy: [{field: CREATED_AT, direction: DESC}]) { totalCount edges { node { id name geometry createdAt updatedAt } } } }`,
					attrs: []string{"name", "geometry", "createdAt", "updatedAt"}},
				{name: "Geogroup", path: "/geogroups/" + tn.geogroupID, field: "geogroup",
					query: `{ geogroup(id: "` + tn.geogroupID + `") { id name geometry createdAt updatedAt } }`,
					attrs: []string{"name", "geometry", "createdAt", "updatedAt"}},
				// (Connected devices: TestDeviceConnectionState, which
				// connects one.)
				{name: "DevicesNotConnected", path: "/devices?filter[connected]=false&sort=name", list: true, field: "devices",
					query: `{ devices(filter: {connected: false}, orderBy: [{field: NAME}]) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "DevicesNoGroupNewestFirst", path: "/devices?filter[group]=none&sort=-created_at", list: true, field: "devices",
					query: `{ devices(filter: {group: "none"}, orderBy: [{field: CREATED_AT, direction: DESC}]) { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "DevicesSecondPage", path: "/devices?sort=imei&page[number]=2&page[size]=2", list: true, field: "devices",
					query: `{ devices(orderBy: [{field: IMEI}], first: 2, after: "` + after + `") { totalCount edges { node { ` + deviceQuery + ` } } } }`,
					attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "Device", path: "/devices/" + tn.deviceID, field: "device",
					query: `{ device(id: "` + tn.deviceID + `") { ` + deviceQuery + ` } }`, attrs: deviceFields, rels: map[string]string{"group": "group"}},
				{name: "DeviceGroups", path: "/device-groups?sort=name", list: true, field: "deviceGroups",
					query: `{ deviceGroups(orderBy: [{field: NAME}]) { totalCount edges { node { id name createdAt updatedAt configuration { id } } } } }`,
					attrs: []string{"name", "createdAt", "updatedAt"}, rels: map[string]string{"configuration": "configuration"}},
				{name: "DeviceGroup", path: "/device-groups/" + tn.groupID, field: "deviceGroup",
					query: `{ deviceGroup(id: "` + tn.groupID + `") { id name createdAt updatedAt configuration { id } } }`,
					attrs: []string{"name", "createdAt", "updatedAt"}, rels: map[string]string{"configuration": "configuration"}},
				{name: "Configurations", path: "/configurations?sort=-name", list: true, field: "configurations",
					query: `{ configurations(orderBy: [{field: NAME, direction: DESC}]) { totalCount edges { node { ` + configQuery + ` } } } }`,
					attrs: configFields, convert: configConvert},
				{name: "ConfigurationsPublished", path: "/configurations?filter[state]=published", list: true, field: "configurations",
					query: `{ configurations(filter: {state: PUBLISHED}) { totalCount edges { node { ` + configQuery + ` } } } }`,
					attrs: configFields, convert: configConvert},
				{name: "Configuration", path: "/configurations/" + tn.configID, field: "configuration",
					query: `{ configuration(id: "` + tn.configID + `") { ` + configQuery + ` } }`, attrs: configFields, convert: configConvert},
				{name: "Events", path: "/events", list: true, field: "events", query: `{ events { totalCount edges { node { ` + eventQuery + ` } } } }`,
					attrs: eventAttrs, names: eventNames, convert: eventConvert, rels: map[string]string{"deviceId": "device"}},
				{name: "DeviceEventsOldestFirst", path: "/devices/" + tn.deviceID + "/events?sort=occurred_at&filter[type]=temperature,status", list: true, field: "device.events",
					query: `{ device(id: "` + tn.deviceID + `") { events(orderBy: [{field: OCCURRED_AT}], filter: {type: [TEMPERATURE, STATUS]}) { totalCount edges { node { ` + eventQuery + ` } } } } }`,
					attrs: eventAttrs, names: eventNames, convert: eventConvert, rels: map[string]string{"deviceId": "device"}},
				{name: "DeviceStats", path: "/devices/" + tn.deviceID + "/stats", field: "device.stats", noID: true,
					query: `{ device(id: "` + tn.deviceID + `") { stats { lastEventAt eventsLast24h totalEvents latitude longitude fault } } }`,
					attrs: []string{"lastEventAt", "eventsLast24h", "totalEvents", "latitude", "longitude", "fault"},
					names: map[string]string{"eventsLast24h": "events_last_24h"}},
				{name: "DeviceTokens", path: "/devices/" + tn.deviceID + "/tokens", list: true, field: "device.tokens",
					query: `{ device(id: "` + tn.deviceID + `") { tokens { id name permissions createdAt expiresAt } } }`,
					attrs: []string{"name", "permissions", "createdAt", "expiresAt"},
					convert: map[string]func(any) any{"permissions": func(v any) any {
						var out []any
						for _, p := range v.([]any) {
							out = append(out, strings.Replace(strings.ToLower(p.(string)), "_", ":", 1))
						}
						return out
					}}},
				{name: "Applications", path: "/applications", list: true, field: "applications",
					query: `{ applications { totalCount edges { node { id ` + strings.Join(appFields, " ") + ` } } } }`, attrs: appFields},
			}
			for _, pc := range cases {
				t.Run(pc.name, func(t *testing.T) {
					doc := c.call(t, "GET", "/api/v1"+pc.path, tn.me, nil).want(t, 200)
					data := gql(t, ts.URL, tn.me, pc.query, nil).ok(t)
					got := at(data, pc.field)
					if !pc.list {
						compareResource(t, pc, got.(map[string]any), doc["data"].(map[string]any))
						return
					}
					nodes, objs := gqlNodes(got), doc["data"].([]any)
					if list, ok := got.([]any); ok { // a plain list
						nodes = nil
						for _, n := range list {
							nodes = append(nodes, n.(map[string]any))
						}
					} else if total := at(doc, "meta.total"); at(got, "totalCount") != total {
						t.Fatalf("totalCount %v, meta.total %v", at(got, "totalCount"), total)
					}
					if len(nodes) != len(objs) || len(nodes) == 0 {
						t.Fatalf("GraphQL has %d items, JSON:API %d", len(nodes), len(objs))
					}
					for i := range nodes {
						compareResource(t, pc, nodes[i], objs[i].(map[string]any))
					}
				})
			}
		})
	}
}

// compareResource fails the test unless a GraphQL object and a JSON:API
// resource object carry the same id, attributes and relationships.
func compareResource(t *testing.T, pc parityCase, node, obj map[string]any) {
	t.Helper()
	if !pc.noID && node["id"] != obj["id"] {
		t.Fatalf("id %v, JSON:API %v", node["id"], obj["id"])
	}
	attrs, _ := obj["attributes"].(map[string]any)
	for _, f := range pc.attrs {
		got := node[f]
		if conv := pc.convert[f]; conv != nil && got != nil {
			got = conv(got)
		}
		name := testsupport.SnakeCase(f)
		if n, ok := pc.names[f]; ok {
			name = n
		}
		want, present := attrs[name]
		if _, asked := node[f]; !asked || !present {
			t.Fatalf("%s: %s is not in both answers (GraphQL %v, JSON:API %v)", pc.name, f, asked, present)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %v: %s = %#v, JSON:API %s = %#v", pc.name, node["id"], f, got, name, want)
		}
	}
	for f, rel := range pc.rels {
		var got, want any
		switch o := node[f].(type) {
		case map[string]any:
			got = o["id"]
		case string:
			got = o
		}
		want = at(obj, "relationships."+rel+".data.id")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s %v: %s = %v, JSON:API relationship %s = %v", pc.name, node["id"], f, got, rel, want)
		}
	}
}
