package storage_test

import (
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// BenchmarkEventSeries30Days seeds one device with a 30-day series of one
// temperature event a minute (43,200 events, through CreateEvents in
// batches of 1,000) and measures the 30-day series in 1-hour buckets (720
// points), on each database. It reports the latency p50 and p99 of the
// queries it ran (issue 14 targets p50 <= 20 ms on PostgreSQL); it passes
// whatever the figures:
//
//	go test ./storage -run '^$' -bench EventSeries30Days -benchtime 200x
func BenchmarkEventSeries30Days(b *testing.B) {
	for _, dialect := range storagetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			db := storagetest.MustOpenDB(b, dialect)
			db.Timeout = time.Minute // measure slow answers instead of cutting them at the server's bound
			cust := storagetest.MustCreateCustomer(b, storage.NewCustomerStore(db))
			d := storagetest.MustCreateDevice(b, storage.NewDeviceStore(db), storagetest.NewDevice(cust.ID, time.Now()))
			events := storage.NewEventStore(db)
			until := time.Now().UTC().Truncate(time.Hour)
			since := until.Add(-30 * 24 * time.Hour)
			const n = 30 * 24 * 60
			batch := make([]*resource.Event, 0, 1000)
			for i := range n {
				batch = append(batch, celsiusAt(cust.ID, d.ID, since.Add(time.Duration(i)*time.Minute), float64(i%400)/4-50))
				if len(batch) == cap(batch) || i == n-1 {
					storagetest.MustCreateEvents(b, events, batch...)
					batch = make([]*resource.Event, 0, 1000)
				}
			}
			// The statistics autovacuum (PostgreSQL) or an operator's ANALYZE
			// (SQLite) keeps of a table this size.
			if _, err := db.ExecContext(b.Context(), "ANALYZE events"); err != nil {
				b.Fatal(err)
			}
			spec := resource.SeriesSpec{DeviceID: d.ID, Type: resource.EventTemperature, Fields: resource.SeriesFields(resource.EventTemperature),
				Since: since, Until: until, Width: time.Hour}
			if _, err := events.EventSeries(b.Context(), cust.ID, spec); err != nil { // warm the cache
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				points, err := events.EventSeries(b.Context(), cust.ID, spec)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				if len(points) != 720 || points[0].Count != 60 {
					b.Fatalf("got %d points (first of %d events), want 720 of 60", len(points), points[0].Count)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			p50, p99 := lat[len(lat)*50/100], lat[min(len(lat)-1, len(lat)*99/100)]
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			b.Logf("%s: 30-day 1h series of 43,200 events, %d queries: p50 %s, p99 %s", dialect, len(lat), p50, p99)
		})
	}
}
