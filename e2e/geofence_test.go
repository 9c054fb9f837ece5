package e2e

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// locationDoc is a location event document occurring at the given time.
func locationDoc(lat, lon float64, at time.Time) map[string]any {
	return apiDoc("events", "", locationAttrs(lat, lon, at), nil)
}

func locationAttrs(lat, lon float64, at time.Time) map[string]any {
	return map[string]any{"event_type": "location", "occurred_at": at.UTC().Format(time.RFC3339Nano),
		"payload": map[string]any{"latitude": lat, "longitude": lon}}
}

// geofenceCrossings lists a device's geofence events through the JSON:API,
// oldest first, as "id transition geogroup" strings.
func geofenceCrossings(t *testing.T, c *apiClient, token, deviceID string) []string {
	t.Helper()
	doc := c.call(t, "GET", "/api/v1/events?filter[type]=geofence&filter[device]="+deviceID+"&sort=occurred_at&page[size]=100",
		token, nil).want(t, 200)
	var out []string
	for _, o := range doc["data"].([]any) {
		obj := o.(map[string]any)
		attrs := obj["attributes"].(map[string]any)
		p := attrs["payload"].(map[string]any)
		if attrs["event_type"] != "geofence" {
			t.Fatalf("filter[type]=geofence listed %v", obj)
		}
		out = append(out, fmt.Sprintf("%s %v %v", obj["id"], p["transition"], p["geogroup_id"]))
	}
	return out
}

// transitions drops the ids of geofenceCrossings' strings.
func transitions(crossings []string) []string {
	out := []string{}
	for _, c := range crossings {
		_, rest, _ := strings.Cut(c, " ")
		out = append(out, rest)
	}
	return out
}

// TestGeofenceEndToEnd runs geofence events through `assetgate serve`:
// location events moving a device in and out of its customer's geogroup
// add one geofence event per crossing, on the device's live stream and in
// the event lists of both APIs, also when two requests (or one batch)
// carry location events of the device at once; an idempotent replay adds
// none; nobody can post a geofence event; another customer's device in the
// same place crosses only its own customer's geogroups.
func TestGeofenceEndToEnd(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			a, b := newAPITenant(t, env, c, "FenceA"), newAPITenant(t, env, c, "FenceB")
			_, writer := issueDeviceToken(t, c, a, "events:write")
			_, reader := issueDeviceToken(t, c, a, "events:read")
			square := a.geogroupID // storagetest.SquareGeometry: 13..14 E, 52..53 N
			t0 := time.Now().Add(-time.Hour)
			dev := "/api/v1/devices/" + a.deviceID + "/events"

			stream := openSSE(t, ts.URL, a.deviceID, reader, "")
			outside := c.call(t, "POST", dev, writer, locationDoc(10, 10, t0)).want(t, 201)
			inside := c.call(t, "POST", dev, writer, locationDoc(52.2, 13.8, t0.Add(time.Second))).want(t, 201)
			left := c.call(t, "POST", dev, writer, locationDoc(10, 10, t0.Add(2*time.Second))).want(t, 201)
			ids := func(docs ...map[string]any) []string {
				var out []string
				for _, d := range docs {
					out = append(out, d["data"].(map[string]any)["id"].(string))
				}
				return out
			}
			locs := ids(outside, inside, left)
			// The stream: each location, and after the second and third
			// their crossing.
			var streamed []string
			for range 5 {
				e := stream.next(t)
				switch {
				case strings.Contains(e.data, `"event_type":"location"`):
					streamed = append(streamed, "location "+e.id)
				case strings.Contains(e.data, `"event_type":"geofence"`) && strings.Contains(e.data, `"geogroup_id":"`+square+`"`):
					tr := "entered"
					if strings.Contains(e.data, `"transition":"left"`) {
						tr = "left"
					}
					streamed = append(streamed, "geofence "+tr)
				default:
					t.Fatalf("streamed %+v", e)
				}
			}
			want := []string{"location " + locs[0], "location " + locs[1], "geofence entered", "location " + locs[2], "geofence left"}
			if !slices.Equal(streamed, want) {
				t.Fatalf("stream %v, want %v", streamed, want)
			}
			crossings := geofenceCrossings(t, c, a.basic, a.deviceID)
			if got := transitions(crossings); !slices.Equal(got, []string{"entered " + square, "left " + square}) {
				t.Fatalf("listed crossings %v", crossings)
			}

			// GraphQL lists the same events.
			data := gql(t, ts.URL, a.basic, `query($d: [ID!]) { events(filter: {device: $d, type: [GEOFENCE]}, orderBy: [{field: OCCURRED_AT, direction: ASC}]) {
				totalCount edges { node { id type occurredAt payload { transition geogroupId } } } } }`,
				map[string]any{"d": []string{a.deviceID}}).ok(t)
			var viaGraph []string
			for _, n := range gqlNodes(at(data, "events")) {
				if n["type"] != "GEOFENCE" {
					t.Fatalf("GraphQL listed %v", n)
				}
				viaGraph = append(viaGraph, fmt.Sprintf("%s %s %s", n["id"], strings.ToLower(at(n, "payload.transition").(string)), at(n, "payload.geogroupId")))
			}
			if !slices.Equal(viaGraph, crossings) {
				t.Fatalf("GraphQL lists %v, JSON:API %v", viaGraph, crossings)
			}

			// Two requests at once, both inside: one crossing.
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Go(func() {
					if postKeyed(t, c, a.deviceID, writer, locationDoc(52.2, 13.8+float64(i)/100, t0.Add(time.Duration(10+i)*time.Second)),
						fmt.Sprintf("concurrent-%d", i)) == "" {
						t.Error("a concurrent post failed")
					}
				})
			}
			wg.Wait()
			// One batch of two locations, both outside: one crossing.
			c.call(t, "POST", dev, writer, map[string]any{"data": []any{
				map[string]any{"type": "events", "attributes": locationAttrs(10, 10, t0.Add(20*time.Second))},
				map[string]any{"type": "events", "attributes": locationAttrs(11, 11, t0.Add(21*time.Second))},
			}}).want(t, 201)
			// A replay of a location that entered: nothing more.
			first := postKeyed(t, c, a.deviceID, writer, locationDoc(52.3, 13.7, t0.Add(30*time.Second)), "fence-replay")
			again := postKeyed(t, c, a.deviceID, writer, locationDoc(52.3, 13.7, t0.Add(30*time.Second)), "fence-replay")
			if first == "" || again != first {
				t.Fatalf("replay answered %q, first %q", again, first)
			}
			got := transitions(geofenceCrossings(t, c, a.basic, a.deviceID))
			if w := []string{"entered " + square, "left " + square, "entered " + square, "left " + square, "entered " + square}; !slices.Equal(got, w) {
				t.Fatalf("crossings %v, want %v", got, w)
			}

			// Nobody posts a geofence event: 422 at the event type.
			fake := apiDoc("events", "", map[string]any{"event_type": "geofence",
				"payload": map[string]any{"transition": "entered", "geogroup_id": square}}, nil)
			for _, tok := range []string{writer, a.app} {
				doc := c.callInvalid(t, "POST", dev, tok, fake).want(t, 422)
				e := doc["errors"].([]any)[0].(map[string]any)
				if p := at(e, "source.pointer"); p != "/data/attributes/event_type" {
					t.Fatalf("refusal %v, want a pointer at event_type", e)
				}
			}
			gql(t, ts.URL, a.app, `mutation($id: ID!) { recordEvent(input: {deviceId: $id, type: GEOFENCE, payload: {}}) { event { id } } }`,
				map[string]any{"id": a.deviceID}).fails(t, "BAD_USER_INPUT")

			// B's device in A's square crosses B's own square only.
			bdev := "/api/v1/devices/" + b.deviceID + "/events"
			c.call(t, "POST", bdev, b.app, locationDoc(52.2, 13.8, t0)).want(t, 201)
			if got := transitions(geofenceCrossings(t, c, b.basic, b.deviceID)); !slices.Equal(got, []string{"entered " + b.geogroupID}) {
				t.Fatalf("B's crossings %v, want only its own geogroup %s", got, b.geogroupID)
			}
			if got := len(geofenceCrossings(t, c, a.basic, a.deviceID)); got != 5 {
				t.Fatalf("A has %d crossings after B's move, want 5", got)
			}
		})
	}
}
