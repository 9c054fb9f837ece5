package storage_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

var benchEvents = flag.Int("events", 1_000_000, "events BenchmarkEventsDeviceLastDay seeds (PostgreSQL)")

// Seeding figures of BenchmarkEventsDeviceLastDay.
const (
	benchDevices   = 10_000
	benchCustomers = 10
	benchDays      = 60
	benchSeedChunk = 1_000_000
)

// BenchmarkEventsDeviceLastDay seeds -events events in bulk into daily
// partitions of a fresh PostgreSQL database (INSERT ... SELECT
// generate_series, 1,000,000 rows a statement), spread evenly over 10,000
// devices of 10 customers and over the last 60 days, then measures the
// read of one random device's last day through EventStore.ListEvents (the
// page of up to 100 events ordered by occurred_at, and the total, as
// GET /devices/{id}/events?filter[since]=... does) and prints its p50 and
// p99. It prints figures; it does not pass or fail on them.
//
//	go test ./storage -run '^$' -bench BenchmarkEventsDeviceLastDay -benchtime 1x -events 5000000 -timeout 2h
func BenchmarkEventsDeviceLastDay(b *testing.B) {
	ctx := context.Background()
	db, err := storage.Open(ctx, storagetest.PostgresURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db = db.WithTimeout(0) // seeding takes minutes
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	// Daily partitions over the seeded days instead of the partition of
	// the past (empty here): the layout of a server that has run for 60
	// days.
	for _, name := range partitions(b, db) {
		if strings.HasPrefix(name, "events_until_") {
			if _, err := db.ExecContext(ctx, `DROP TABLE `+name); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := (&storage.EventRetention{DB: db}).EnsurePartitions(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	start := now.Add(-benchDays * 24 * time.Hour)
	if _, err := db.ExecContext(ctx, `INSERT INTO customers (id, name, created_at, updated_at)
		SELECT 'bench-c' || c, 'bench ' || c, now(), now() FROM generate_series(0, $1 - 1) c`, benchCustomers); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO devices (id, customer_id, name, imei, created_at, updated_at)
		SELECT 'bench-d' || d, 'bench-c' || (d % $1), 'device ' || d, 'imei-' || d, now(), now()
		FROM generate_series(0, $2 - 1) d`, benchCustomers, benchDevices); err != nil {
		b.Fatal(err)
	}
	// One connection, whose foreign-key triggers are off while seeding
	// (session_replication_role, a superuser's setting; the rows are
	// consistent by construction).
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `SET session_replication_role = replica`); err != nil {
		b.Fatal(err)
	}
	seeded := time.Now()
	n := *benchEvents
	step := float64(benchDays*24*time.Hour/time.Microsecond) / float64(n)
	for from := 0; from < n; from += benchSeedChunk {
		to := min(from+benchSeedChunk, n) - 1
		// Event g: device g mod 10,000, at start + g*step; its id a
		// UUIDv7 of that millisecond (ids grow with time, as ingest
		// assigns them).
		_, err := conn.ExecContext(ctx, `INSERT INTO events (id, customer_id, device_id, type, occurred_at, received_at, payload)
			SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-8' || substr(r, 4, 3) || '-' || substr(r, 7, 12),
				'bench-c' || ((g % $4) % $5), 'bench-d' || (g % $4), 'shock', at, at, '{"g": 1.5}'
			FROM (SELECT g, at, lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') AS h, md5(g::text) AS r
				FROM (SELECT g, $3::timestamptz + make_interval(secs => g * $6::float8 / 1e6) AS at
					FROM generate_series($1::bigint, $2::bigint) g) t) s`,
			from, to, start, benchDevices, benchCustomers, step)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d of %d events (%s)", to+1, n, time.Since(seeded).Round(time.Second))
	}
	if _, err := conn.ExecContext(ctx, `RESET session_replication_role`); err != nil {
		b.Fatal(err)
	}
	conn.Close()
	if _, err := db.ExecContext(ctx, `ANALYZE events`); err != nil {
		b.Fatal(err)
	}
	seedTime := time.Since(seeded)

	events := storage.NewEventStore(db)
	since := now.Add(-24 * time.Hour)
	query := func(rng *rand.Rand) (time.Duration, int) {
		d := rng.IntN(benchDevices)
		q := resource.EventQuery{Filter: resource.EventFilter{DeviceIDs: []string{fmt.Sprintf("bench-d%d", d)}, Since: &since},
			Sort: []resource.SortField{{Field: resource.EventSortOccurredAt}}, Limit: 100}
		t0 := time.Now()
		list, total, err := events.ListEvents(ctx, fmt.Sprintf("bench-c%d", d%benchCustomers), q)
		took := time.Since(t0)
		if err != nil || len(list) != min(total, 100) {
			b.Fatalf("device %d: %d of %d events, %v", d, len(list), total, err)
		}
		return took, total
	}
	// The plan of the page query: the partitions before since are pruned.
	var plan []string
	if err := db.SelectContext(ctx, &plan, `EXPLAIN (ANALYZE, COSTS OFF) SELECT id FROM events
		WHERE customer_id = $1 AND occurred_at >= $2 AND device_id = $3 AND occurred_at >= $4 ORDER BY occurred_at, id LIMIT 100`,
		"bench-c7", now.Add(-90*24*time.Hour), "bench-d17", since); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("plan of one device's last day (bench-d17):\n%s\n", strings.Join(plan, "\n"))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 { // warm the cache and the prepared plans
		query(rng)
	}
	const samples = 2000
	b.ResetTimer()
	for range b.N {
		took := make([]time.Duration, samples)
		perDay := 0
		for i := range took {
			var total int
			took[i], total = query(rng)
			perDay += total
		}
		slices.Sort(took)
		p50, p99 := took[samples/2], took[samples*99/100]
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		fmt.Printf("events %d (%d devices, %d days, seeded in %s): one device's last day (%d events on average): p50 %.2f ms, p99 %.2f ms over %d queries\n",
			n, benchDevices, benchDays, seedTime.Round(time.Second), perDay/samples,
			float64(p50.Microseconds())/1000, float64(p99.Microseconds())/1000, samples)
	}
}
