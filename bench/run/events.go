package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
)

// The ingest rows: one event per request spread over the bench tenant's
// devices, the same all to one device, the batch endpoint (1,000 events a
// request from 4 clients) and the latency of single ingests while the
// batch load runs.

// batchClients and batchEvents shape the batch row.
const (
	batchClients = 4
	batchEvents  = 1000
	// singleDuringBatch is how many connections post single events while
	// the batch load runs (the latency row).
	singleDuringBatch = 8
)

// singleEvent is the body of a one-event ingest.
var singleEvent = []byte(`{"data":{"type":"events","attributes":{"event_type":"temperature","payload":{"celsius":21.5}}}}`)

// batchBody returns the body of a batch ingest of n events.
func batchBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"events","attributes":{"event_type":"temperature","payload":{"celsius":%d.5}}}`, i%40)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// postEvents returns a request maker for an ingest of body as the bearer,
// to the device next() names.
func postEvents(base, bearer string, body []byte, next func() string) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/devices/"+next()+"/events", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/vnd.api+json")
		req.Header.Set("Authorization", "Bearer "+bearer)
		return req, nil
	}
}

// The location rows post location events that move each device in and out
// of the bench tenant's first geogroup (seedGeogroups): every other visit
// of a device crosses its boundary, so a geofence event is stored and
// published for half the requests when the tenant has geogroups.
var (
	locationInside  = []byte(`{"data":{"type":"events","attributes":{"event_type":"location","payload":{"latitude":52.5,"longitude":13.5}}}}`)
	locationOutside = []byte(`{"data":{"type":"events","attributes":{"event_type":"location","payload":{"latitude":10,"longitude":10}}}}`)
)

// postLocations returns a request maker for location ingests as the
// bearer, cycling through ids: visit k of a device is inside when k is
// even, outside when it is odd.
func postLocations(base, bearer string, ids []string) func(context.Context) (*http.Request, error) {
	var n atomic.Uint64
	return func(ctx context.Context) (*http.Request, error) {
		k := int(n.Add(1) - 1)
		body := locationInside
		if (k/len(ids))%2 == 1 {
			body = locationOutside
		}
		id := ids[k%len(ids)]
		return postEvents(base, bearer, body, func() string { return id })(ctx)
	}
}

// spread cycles through ids.
func spread(ids []string) func() string {
	var n atomic.Uint64
	return func() string { return ids[int(n.Add(1)-1)%len(ids)] }
}

// ingestRowsName is what the names of the ingest rows start with (for -rows).
const ingestRowsName = "POST /api/v1/devices/{id}/events"

// ingestRows drives the ingest rows against the server at base; ref
// measures their baseline again just before each (-paired).
func ingestRows(ctx context.Context, o options, client *http.Client, base, config, appToken string, ids []string, ref func(string) (stats, bool)) []row {
	if len(ids) == 0 {
		return []row{{config: config, name: "POST /api/v1/devices/{id}/events", baseline: "/pg-insert", missing: "no devices"}}
	}
	one := func() string { return ids[0] }
	singles := []struct {
		name string
		t    target
	}{
		{fmt.Sprintf("POST /api/v1/devices/{id}/events one event, spread over %d devices", len(ids)),
			target{postEvents(base, appToken, singleEvent, spread(ids)), http.StatusCreated}},
		{"POST /api/v1/devices/{id}/events one event, all to one device",
			target{postEvents(base, appToken, singleEvent, one), http.StatusCreated}},
		{fmt.Sprintf("POST /api/v1/devices/{id}/events one location, spread over %d devices, %d geogroups", len(ids), o.geogroups),
			target{postLocations(base, appToken, ids), http.StatusCreated}},
		{fmt.Sprintf("POST /api/v1/devices/{id}/events one location, all to one device, %d geogroups", o.geogroups),
			target{postLocations(base, appToken, ids[:1]), http.StatusCreated}},
	}
	var rows []row
	for _, s := range singles {
		if o.rows != nil && !o.rows.MatchString(s.name) {
			continue
		}
		r := row{config: config, name: s.name, baseline: "/pg-insert", missing: probe(ctx, client, s.t)}
		if r.missing == "" {
			r.ref, r.paired = ref(r.baseline)
			fmt.Fprintf(os.Stderr, "bench: %s %s\n", config, s.name)
			r.st = drive(ctx, client, s.t, o.conc, o.warmup, o.duration)
		}
		rows = append(rows, r)
	}

	batch := target{postEvents(base, appToken, batchBody(batchEvents), spread(ids)), http.StatusCreated}
	single := target{postEvents(base, appToken, singleEvent, spread(ids)), http.StatusCreated}
	br := row{config: config, name: fmt.Sprintf("POST /api/v1/devices/{id}/events batch of %d, %d clients (events/s)", batchEvents, batchClients),
		baseline: "/pg-insert", perRequest: batchEvents}
	if o.rows != nil && !o.rows.MatchString(br.name) {
		return rows
	}
	br.missing = probe(ctx, client, batch)
	lr := row{config: config, name: fmt.Sprintf("POST one event, %d clients, during the batch load", singleDuringBatch),
		baseline: "/pg-insert"}
	if br.missing != "" {
		lr.missing = br.missing
		return append(rows, br, lr)
	}
	br.ref, br.paired = ref(br.baseline)
	fmt.Fprintf(os.Stderr, "bench: %s batch ingest with single ingests beside it\n", config)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		lr.st = drive(ctx, client, single, singleDuringBatch, o.warmup, o.duration)
	}()
	br.st = drive(ctx, client, batch, batchClients, o.warmup, o.duration)
	wg.Wait()
	return append(rows, br, lr)
}
