package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// BenchmarkCreateEvents measures the store alone: batches of 1,000 events,
// and single events from 64 goroutines over 1,000 devices (group commit).
//
//	go test ./storage -run '^$' -bench CreateEvents -benchtime 20x
func BenchmarkCreateEvents(b *testing.B) {
	for _, dialect := range storagetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			db := storagetest.MustOpenDB(b, dialect)
			ctx := context.Background()
			cust := storagetest.MustCreateCustomer(b, storage.NewCustomerStore(db))
			if err := storagetest.SeedDevices(ctx, db, cust.ID, 1000, 1); err != nil {
				b.Fatal(err)
			}
			var ids []string
			if err := db.SelectContext(ctx, &ids, db.Rebind(`SELECT id FROM devices WHERE customer_id = ?`), cust.ID); err != nil {
				b.Fatal(err)
			}
			events := storage.NewEventStore(db)
			now := time.Now().UTC()
			b.Run("batch1000", func(b *testing.B) {
				for i := range b.N {
					evs := make([]*resource.Event, 1000)
					for j := range evs {
						evs[j] = temperature(cust.ID, ids[i%len(ids)], float64(j%40), now)
					}
					if _, _, err := events.CreateEvents(ctx, batchOf("", "", evs...)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
			})
			b.Run("single64", func(b *testing.B) {
				var wg sync.WaitGroup
				per := max(b.N*100/64, 1)
				for w := range 64 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range per {
							e := temperature(cust.ID, ids[(w*per+i)%len(ids)], 20, now)
							if _, _, err := events.CreateEvents(ctx, batchOf("", "", e)); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(per*64)/b.Elapsed().Seconds(), "events/s")
			})
		})
	}
}
