package e2e

import (
	"fmt"
	"net/url"
	"reflect"
	"testing"
	"time"
)

// TestSeriesParity posts events over HTTP to a real server and reads the
// same series through the JSON:API (validated against the OpenAPI
// document) and GraphQL: a device's and its group's, hourly and in 15
// minutes, a location series with two numbers. Both must return the same
// buckets: ids, starts, counts and figures.
func TestSeriesParity(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			tn := newAPITenant(t, env, c, "Series")
			until := time.Now().UTC().Truncate(time.Minute)
			since := until.Add(-6 * time.Hour)
			var items []any
			for i := range 40 {
				at := since.Add(time.Duration(i) * 9 * time.Minute)
				items = append(items, apiDoc("events", "", map[string]any{"event_type": "temperature", "occurred_at": at.Format(time.RFC3339),
					"payload": map[string]any{"celsius": float64(i%11)*1.25 - 4}}, nil)["data"])
				if i%4 == 0 {
					items = append(items, apiDoc("events", "", map[string]any{"event_type": "location", "occurred_at": at.Format(time.RFC3339),
						"payload": map[string]any{"latitude": 50 + float64(i)/100, "longitude": 8 - float64(i)/50}}, nil)["data"])
				}
			}
			c.call(t, "POST", "/api/v1/devices/"+tn.deviceID+"/events", tn.app, map[string]any{"data": items}).want(t, 201)

			for _, tc := range []struct {
				name, path, gqlField, typ, gqlType, interval, gqlInterval string
				fields                                                    []string
			}{
				{"Device1h", "/api/v1/devices/" + tn.deviceID + "/series", "device", "temperature", "TEMPERATURE", "1h", "ONE_HOUR", []string{"celsius"}},
				{"Device15m", "/api/v1/devices/" + tn.deviceID + "/series", "device", "temperature", "TEMPERATURE", "15m", "FIFTEEN_MINUTES", []string{"celsius"}},
				{"Group1h", "/api/v1/device-groups/" + tn.groupID + "/series", "deviceGroup", "temperature", "TEMPERATURE", "1h", "ONE_HOUR", []string{"celsius"}},
				{"Location5m", "/api/v1/devices/" + tn.deviceID + "/series", "device", "location", "LOCATION", "5m", "FIVE_MINUTES", []string{"latitude", "longitude"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					q := url.Values{"filter[type]": {tc.typ}, "filter[since]": {since.Format(time.RFC3339)},
						"filter[until]": {until.Format(time.RFC3339)}, "interval": {tc.interval}}
					doc := c.call(t, "GET", tc.path+"?"+q.Encode(), tn.me, nil).want(t, 200)
					var fromAPI []map[string]any
					for _, it := range doc["data"].([]any) {
						o := it.(map[string]any)
						a := o["attributes"].(map[string]any)
						p := map[string]any{"id": o["id"], "start": a["start"], "count": a["count"]}
						for _, f := range tc.fields {
							p[f] = a[f]
						}
						fromAPI = append(fromAPI, p)
					}
					if len(fromAPI) < 2 {
						t.Fatalf("the series has %d points: %v", len(fromAPI), doc)
					}
					sel := "id start count"
					for _, f := range tc.fields {
						sel += " " + f + " { min max avg last }"
					}
					id := tn.deviceID
					if tc.gqlField == "deviceGroup" {
						id = tn.groupID
					}
					query := fmt.Sprintf(`query($id: ID!, $since: Time, $until: Time) { %s(id: $id) { series(type: %s, since: $since, until: $until, interval: %s) { %s } } }`,
						tc.gqlField, tc.gqlType, tc.gqlInterval, sel)
					d := gql(t, ts.URL, tn.me, query, map[string]any{"id": id, "since": since.Format(time.RFC3339), "until": until.Format(time.RFC3339)}).ok(t)
					var fromGQL []map[string]any
					for _, it := range d[tc.gqlField].(map[string]any)["series"].([]any) {
						fromGQL = append(fromGQL, it.(map[string]any))
					}
					if !reflect.DeepEqual(fromAPI, fromGQL) {
						t.Fatalf("JSON:API and GraphQL differ:\n%v\n%v", fromAPI, fromGQL)
					}
				})
			}
		})
	}
}

// seriesMatrixCases are the scope matrix cases of the series routes.
func seriesMatrixCases() map[string]func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase {
	return map[string]func(t *testing.T, c *apiClient, tn *apiTenant) matrixCase{
		"GET /api/v1/devices/{id}/series": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/devices/" + tn.deviceID + "/series?filter%5Btype%5D=temperature", nil, 200}
		},
		"GET /api/v1/device-groups/{id}/series": func(_ *testing.T, _ *apiClient, tn *apiTenant) matrixCase {
			return matrixCase{"/api/v1/device-groups/" + tn.groupID + "/series?filter%5Btype%5D=battery&interval=6h", nil, 200}
		},
	}
}

// addSeriesTenantCases adds the tenant isolation cases of the series
// routes: A's device and group are 404 to B, with a valid query.
func addSeriesTenantCases(a *apiTenant, cases map[string]tenantCase) {
	q := "/series?filter%5Btype%5D=temperature"
	cases["GET /api/v1/devices/{id}/series"] = tenantCase{path: "/api/v1/devices/" + a.deviceID + q, want: 404}
	cases["GET /api/v1/device-groups/{id}/series"] = tenantCase{path: "/api/v1/device-groups/" + a.groupID + q, want: 404}
}
