package storage_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// wantSeries computes in Go, from the events a test inserted, the buckets
// a store must return for spec: the events in [since, until) of the type
// and devices, by bucket start, with min, max, avg and the value of the
// newest event (occurred_at, then id).
func wantSeries(events []*resource.Event, spec resource.SeriesSpec, devices map[string]bool) []*resource.SeriesPoint {
	type acc struct {
		p      *resource.SeriesPoint
		sum    []float64
		newest *resource.Event
	}
	byStart := map[int64]*acc{}
	var starts []int64
	for _, e := range events {
		if e.Type != spec.Type || !devices[e.DeviceID] || e.OccurredAt.Before(spec.Since) || !e.OccurredAt.Before(spec.Until) {
			continue
		}
		start := resource.SeriesBucketStart(e.OccurredAt, spec.Width)
		a := byStart[start.Unix()]
		if a == nil {
			a = &acc{p: &resource.SeriesPoint{Start: start, Stats: []resource.SeriesStats{}}, sum: make([]float64, len(spec.Fields))}
			for _, f := range spec.Fields {
				a.p.Stats = append(a.p.Stats, resource.SeriesStats{Field: f, Min: math.Inf(1), Max: math.Inf(-1)})
			}
			byStart[start.Unix()] = a
			starts = append(starts, start.Unix())
		}
		a.p.Count++
		for i, f := range spec.Fields {
			v := e.Payload[f].(float64)
			st := &a.p.Stats[i]
			st.Min, st.Max = min(st.Min, v), max(st.Max, v)
			a.sum[i] += v
		}
		if a.newest == nil || e.OccurredAt.After(a.newest.OccurredAt) || (e.OccurredAt.Equal(a.newest.OccurredAt) && e.ID > a.newest.ID) {
			a.newest = e
		}
	}
	slices.Sort(starts)
	out := []*resource.SeriesPoint{}
	for _, s := range starts {
		a := byStart[s]
		for i, f := range spec.Fields {
			a.p.Stats[i].Avg = a.sum[i] / float64(a.p.Count)
			a.p.Stats[i].Last = a.newest.Payload[f].(float64)
		}
		out = append(out, a.p)
	}
	return out
}

// requireSeries compares points, the averages within rounding.
func requireSeries(t *testing.T, got, want []*resource.SeriesPoint) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d buckets, want %d:\ngot  %s\nwant %s", len(got), len(want), pointsString(got), pointsString(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Start.Equal(w.Start) || g.Count != w.Count || len(g.Stats) != len(w.Stats) {
			t.Fatalf("bucket %d: got %s, want %s", i, pointsString(got[i:i+1]), pointsString(want[i:i+1]))
		}
		for j := range w.Stats {
			gs, ws := g.Stats[j], w.Stats[j]
			if gs.Field != ws.Field || gs.Min != ws.Min || gs.Max != ws.Max || gs.Last != ws.Last || math.Abs(gs.Avg-ws.Avg) > 1e-9 {
				t.Fatalf("bucket %d (%s): got %+v, want %+v", i, w.Start.Format(time.RFC3339), gs, ws)
			}
		}
	}
}

func pointsString(ps []*resource.SeriesPoint) string {
	s := ""
	for _, p := range ps {
		s += p.Start.Format(time.RFC3339) + "×" + strconv.Itoa(p.Count)
		for _, st := range p.Stats {
			s += " " + st.Field
		}
		s += "; "
	}
	return s
}

func celsiusAt(customerID, deviceID string, at time.Time, celsius float64) *resource.Event {
	e := storagetest.NewEvent(customerID, deviceID, resource.EventTemperature, at)
	e.Payload = map[string]any{resource.PayloadCelsius: celsius}
	return e
}

// TestEventSeries checks the buckets of the database against the ones the
// test computes from the events it stored: alignment (an event exactly on
// a bucket's start belongs to that bucket), min, max, avg, last (with a
// tie on occurred_at broken by id), the range bounds (since included,
// until excluded), the type, the device, the group and the tenant.
func TestEventSeries(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		customers, devices, groups, events := storage.NewCustomerStore(db), storage.NewDeviceStore(db),
			storage.NewDeviceGroupStore(db), storage.NewEventStore(db)
		cust, other := storagetest.MustCreateCustomer(t, customers), storagetest.MustCreateCustomer(t, customers)
		g := storagetest.MustCreateDeviceGroup(t, groups, storagetest.NewDeviceGroup(cust.ID, time.Now()))
		newDevice := func(customerID, groupID string) *resource.Device {
			d := storagetest.NewDevice(customerID, time.Now())
			d.GroupID = groupID
			return storagetest.MustCreateDevice(t, devices, d)
		}
		a, b, loose := newDevice(cust.ID, g.ID), newDevice(cust.ID, g.ID), newDevice(cust.ID, "")
		edge, foreign := newDevice(cust.ID, ""), newDevice(other.ID, "")

		base := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -5) // a bucket start for every interval, within retention
		rng := rand.New(rand.NewPCG(14, 3))
		var all []*resource.Event
		store := func(evs ...*resource.Event) {
			all = append(all, storagetest.MustCreateEvents(t, events, evs...)...)
		}
		for _, d := range []*resource.Device{a, b, loose} {
			var evs []*resource.Event
			for range 120 {
				at := base.Add(-2*time.Hour + time.Duration(rng.Int64N(int64(30*time.Hour))))
				at = at.Truncate(time.Microsecond)
				evs = append(evs, celsiusAt(cust.ID, d.ID, at, math.Round(rng.Float64()*2000-500)/10))
			}
			store(evs...)
		}
		// On a boundary, twice at the same instant (the later id is last),
		// and just before the boundary.
		// edge has these only.
		store(celsiusAt(cust.ID, edge.ID, base.Add(3*time.Hour), 11.5), celsiusAt(cust.ID, edge.ID, base.Add(3*time.Hour), -7.25))
		store(celsiusAt(cust.ID, edge.ID, base.Add(3*time.Hour-time.Microsecond), 99))
		// Until is excluded, since included.
		store(celsiusAt(cust.ID, edge.ID, base.Add(24*time.Hour), 42), celsiusAt(cust.ID, edge.ID, base, 1))
		loc := storagetest.NewEvent(cust.ID, a.ID, resource.EventLocation, base.Add(90*time.Minute))
		loc.Payload = map[string]any{resource.PayloadLatitude: 10.5, resource.PayloadLongitude: -20.25}
		loc2 := storagetest.NewEvent(cust.ID, a.ID, resource.EventLocation, base.Add(100*time.Minute))
		loc2.Payload = map[string]any{resource.PayloadLatitude: -3.0, resource.PayloadLongitude: 170.0}
		store(loc, loc2, storagetest.NewEvent(cust.ID, a.ID, resource.EventStatus, base.Add(time.Hour)))
		store(celsiusAt(other.ID, foreign.ID, base.Add(time.Hour), 50))

		for _, tc := range []struct {
			name     string
			spec     resource.SeriesSpec
			devices  []*resource.Device
			customer string
		}{
			{"device1h", resource.SeriesSpec{DeviceID: a.ID, Type: resource.EventTemperature}, []*resource.Device{a}, cust.ID},
			{"edge", resource.SeriesSpec{DeviceID: edge.ID, Type: resource.EventTemperature}, []*resource.Device{edge}, cust.ID},
			{"device15m", resource.SeriesSpec{DeviceID: a.ID, Type: resource.EventTemperature, Width: 15 * time.Minute}, []*resource.Device{a}, cust.ID},
			{"device6h", resource.SeriesSpec{DeviceID: b.ID, Type: resource.EventTemperature, Width: 6 * time.Hour}, []*resource.Device{b}, cust.ID},
			{"device1d", resource.SeriesSpec{DeviceID: b.ID, Type: resource.EventTemperature, Width: 24 * time.Hour,
				Since: base.Add(-48 * time.Hour), Until: base.Add(48 * time.Hour)}, []*resource.Device{b}, cust.ID},
			{"group", resource.SeriesSpec{GroupID: g.ID, Type: resource.EventTemperature}, []*resource.Device{a, b}, cust.ID},
			{"location", resource.SeriesSpec{DeviceID: a.ID, Type: resource.EventLocation, Width: time.Minute}, []*resource.Device{a}, cust.ID},
			{"status", resource.SeriesSpec{DeviceID: a.ID, Type: resource.EventStatus}, []*resource.Device{a}, cust.ID},
			{"otherTenant", resource.SeriesSpec{DeviceID: foreign.ID, Type: resource.EventTemperature}, nil, cust.ID},
			{"otherTenantGroup", resource.SeriesSpec{GroupID: g.ID, Type: resource.EventTemperature}, nil, other.ID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				spec := tc.spec
				spec.Fields = resource.SeriesFields(spec.Type)
				if spec.Width == 0 {
					spec.Width = time.Hour
				}
				if spec.Since.IsZero() {
					spec.Since, spec.Until = base, base.Add(24*time.Hour)
				}
				got, err := events.EventSeries(t.Context(), tc.customer, spec)
				if err != nil {
					t.Fatal(err)
				}
				ids := map[string]bool{}
				for _, d := range tc.devices {
					ids[d.ID] = true
				}
				want := wantSeries(all, spec, ids)
				if len(tc.devices) > 0 && len(want) == 0 {
					t.Fatal("the test selects no event")
				}
				requireSeries(t, got, want)
			})
		}

		t.Run("Boundary", func(t *testing.T) {
			spec := resource.SeriesSpec{DeviceID: edge.ID, Type: resource.EventTemperature, Fields: []string{resource.PayloadCelsius},
				Width: time.Hour, Since: base, Until: base.Add(24 * time.Hour)}
			got, err := events.EventSeries(t.Context(), cust.ID, spec)
			if err != nil {
				t.Fatal(err)
			}
			// Literal figures, not computed: 00:00 holds the event at since,
			// 02:00 the one a microsecond before 03:00, 03:00 the two at
			// 03:00 (the later id, -7.25, is last); the one at until is out.
			want := []*resource.SeriesPoint{
				{Start: base, Count: 1, Stats: []resource.SeriesStats{{Field: "celsius", Min: 1, Max: 1, Avg: 1, Last: 1}}},
				{Start: base.Add(2 * time.Hour), Count: 1, Stats: []resource.SeriesStats{{Field: "celsius", Min: 99, Max: 99, Avg: 99, Last: 99}}},
				{Start: base.Add(3 * time.Hour), Count: 2, Stats: []resource.SeriesStats{{Field: "celsius", Min: -7.25, Max: 11.5, Avg: 2.125, Last: -7.25}}},
			}
			requireSeries(t, got, want)
		})
	})
}
