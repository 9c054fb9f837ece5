package storage_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// seedDevices makes a customer with 20 groups and n devices (see
// storagetest.SeedDevices) and returns the customer id.
func seedDevices(tb testing.TB, db *storage.DB, n int, seed uint64) string {
	tb.Helper()
	cust := storagetest.MustCreateCustomer(tb, storage.NewCustomerStore(db))
	if err := storagetest.SeedDevices(context.Background(), db, cust.ID, n, seed); err != nil {
		tb.Fatal(err)
	}
	return cust.ID
}

// benchQuery is the list of the speed target:
// filter[fault]=true&sort=-last_event_at&page[size]=25&include=group.
func benchQuery() resource.ListQuery[resource.DeviceListFilter] {
	fault := true
	return resource.ListQuery[resource.DeviceListFilter]{
		Filter:  resource.DeviceListFilter{Fault: &fault},
		Sort:    []resource.SortField{{Field: "last_event_at", Desc: true}},
		Page:    resource.Page{Size: 25},
		Include: []string{resource.IncludeGroup},
	}
}

// BenchmarkDeviceList measures the device list through the service
// (scopes, query checks, COUNT, page, included groups) for a customer with
// 1,000 devices and one with 100,000 in the same table, alternating, and
// reports p50 and p99 of each and their ratio. Run with
//
//	go test ./storage -run '^$' -bench BenchmarkDeviceList -benchtime 2000x
func BenchmarkDeviceList(b *testing.B) {
	for _, dialect := range storagetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			db := storagetest.MustOpenDB(b, dialect)
			small, large := seedDevices(b, db, 1_000, 1), seedDevices(b, db, 100_000, 2)
			svc := &resource.DeviceService{Store: storage.NewDeviceStore(db), Groups: storage.NewDeviceGroupStore(db),
				Configurations: storage.NewConfigurationStore(db)}
			ctxOf := func(customerID string) context.Context {
				return scopes.NewContext(context.Background(), &scopes.Principal{Kind: scopes.KindApplication, CustomerID: customerID, Scopes: []string{scopes.App}})
			}
			ctxSmall, ctxLarge := ctxOf(small), ctxOf(large)
			b.Run("fault-by-last-event", func(b *testing.B) {
				var tSmall, tLarge []time.Duration
				run := func(ctx context.Context, out *[]time.Duration) {
					start := time.Now()
					list, err := svc.List(ctx, benchQuery())
					*out = append(*out, time.Since(start))
					if err != nil || len(list.Devices) != 25 || len(list.Included.Groups) == 0 {
						b.Fatalf("list: %v (%d devices)", err, len(list.Devices))
					}
				}
				for b.Loop() {
					run(ctxSmall, &tSmall)
					run(ctxLarge, &tLarge)
				}
				p50s, p99s := percentile(tSmall, 50), percentile(tSmall, 99)
				p50l, p99l := percentile(tLarge, 50), percentile(tLarge, 99)
				b.ReportMetric(us(p50s), "p50-1k-µs")
				b.ReportMetric(us(p99s), "p99-1k-µs")
				b.ReportMetric(us(p50l), "p50-100k-µs")
				b.ReportMetric(us(p99l), "p99-100k-µs")
				b.ReportMetric(float64(p50l)/float64(p50s), "ratio-p50")
				b.ReportMetric(float64(p99l)/float64(p99s), "ratio-p99")
			})
		})
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// percentile returns the p-th percentile (nearest rank) of samples.
func percentile(samples []time.Duration, p int) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)]
}
