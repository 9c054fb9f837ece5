package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// BenchmarkDeviceAttributeFilter measures filter[attributes.fleet]=fNN
// (about 1% of the devices) and that filter with a second one
// (attributes.axles, a number) through the service (page of 25 and total)
// for a customer with 100,000 devices, each with two attributes, and
// reports p50 and p99. Run with
//
//	go test ./storage -run '^$' -bench BenchmarkDeviceAttributeFilter -benchtime 500x
func BenchmarkDeviceAttributeFilter(b *testing.B) {
	for _, dialect := range storagetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			// Seeding and the statements of a loaded machine take longer
			// than the default time-out.
			db := storagetest.MustOpenDB(b, dialect).WithTimeout(5 * time.Minute)
			seedDevices(b, db, 1_000, 5) // another customer's devices in the same table
			cust := seedDevices(b, db, 100_000, 6)
			set := `json_object('fleet', 'f' || (abs(random()) % 100), 'axles', abs(random()) % 5)`
			if db.Dialect == storage.Postgres {
				set = `jsonb_build_object('fleet', 'f' || floor(random() * 100)::int, 'axles', floor(random() * 5)::int)`
			}
			if _, err := db.ExecContext(b.Context(), db.Rebind(`UPDATE devices SET attributes = `+set+` WHERE customer_id = ?`), cust); err != nil {
				b.Fatal(err)
			}
			if db.Dialect == storage.Postgres {
				if _, err := db.ExecContext(b.Context(), `ANALYZE devices`); err != nil {
					b.Fatal(err)
				}
			} else if _, err := db.ExecContext(b.Context(), `ANALYZE`); err != nil {
				b.Fatal(err)
			}
			svc := &resource.DeviceService{Store: storage.NewDeviceStore(db), Groups: storage.NewDeviceGroupStore(db),
				Configurations: storage.NewConfigurationStore(db)}
			ctx := scopes.NewContext(context.Background(), &scopes.Principal{Kind: scopes.KindApplication, CustomerID: cust, Scopes: []string{scopes.App}})
			for _, c := range []struct {
				name    string
				matches func(i int) []resource.AttributeMatch
			}{
				{"fleet", func(i int) []resource.AttributeMatch {
					return []resource.AttributeMatch{{Key: "fleet", Value: fmt.Sprintf("f%d", i%100)}}
				}},
				{"fleet-and-axles", func(i int) []resource.AttributeMatch {
					return []resource.AttributeMatch{{Key: "fleet", Value: fmt.Sprintf("f%d", i%100)}, {Key: "axles", Value: "3"}}
				}},
			} {
				b.Run(c.name, func(b *testing.B) {
					var samples []time.Duration
					i := 0
					for b.Loop() {
						q := resource.ListQuery[resource.DeviceListFilter]{Filter: resource.DeviceListFilter{Attributes: c.matches(i)},
							Page: resource.Page{Size: 25}}
						i++
						start := time.Now()
						list, err := svc.List(ctx, q)
						samples = append(samples, time.Since(start))
						if err != nil || list.Total == 0 || len(list.Devices) == 0 {
							b.Fatalf("list: %v (%+v)", err, list)
						}
					}
					b.ReportMetric(us(percentile(samples, 50)), "p50-µs")
					b.ReportMetric(us(percentile(samples, 99)), "p99-µs")
				})
			}
			if db.Dialect == storage.Postgres {
				f, err := resource.DeviceListFilter{Attributes: []resource.AttributeMatch{{Key: "fleet", Value: "f7"}}}.Validate()
				if err != nil {
					b.Fatal(err)
				}
				q, args, err := storage.DevicePageSQL(db.Dialect, cust, resource.DeviceQuery{Filter: f,
					Sort: []resource.SortField{{Field: "created_at"}}, Limit: 25}, false)
				if err != nil {
					b.Fatal(err)
				}
				plan := explain(b, db, true, q, args...)
				if !strings.Contains(plan, "devices_attributes_idx") {
					b.Errorf("the attribute filter does not use the GIN index:\n%s", plan)
				}
				b.Logf("plan:\n%s", plan)
			}
		})
	}
}

// BenchmarkDeviceImport imports a 50,000-row CSV file (new devices, each
// with a position, a group by name and two attributes) through the
// service, once per iteration into a new customer, and reports rows per
// second. Run with
//
//	go test ./storage -run '^$' -bench BenchmarkDeviceImport -benchtime 1x
func BenchmarkDeviceImport(b *testing.B) {
	for _, dialect := range storagetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			db := storagetest.MustOpenDB(b, dialect)
			svc := &resource.DeviceService{Store: storage.NewDeviceStore(db), Groups: storage.NewDeviceGroupStore(db),
				Configurations: storage.NewConfigurationStore(db)}
			var rows, total time.Duration
			n := 0
			for b.Loop() {
				cust := storagetest.MustCreateCustomer(b, storage.NewCustomerStore(db))
				g := storagetest.NewDeviceGroup(cust.ID, time.Now())
				storagetest.MustCreateDeviceGroup(b, storage.NewDeviceGroupStore(db), g)
				var csv strings.Builder
				csv.WriteString("name,imei,mac,latitude,longitude,group,attributes\n")
				for i := range resource.MaxImportRows {
					fmt.Fprintf(&csv, "Truck %d,%s,,%.4f,%.4f,%s,\"{\"\"fleet\"\":\"\"f%d\"\",\"\"axles\"\":%d}\"\n",
						i, storagetest.NewIMEI(), 48+float64(i%1000)/1000, 11+float64(i%777)/1000, g.Name, i%100, i%5)
				}
				ctx := scopes.NewContext(context.Background(), &scopes.Principal{Kind: scopes.KindApplication, CustomerID: cust.ID, Scopes: []string{scopes.App}})
				start := time.Now()
				parsed, err := resource.ReadImport(strings.NewReader(csv.String()), resource.ImportCSV)
				if err != nil {
					b.Fatal(err)
				}
				read := time.Since(start)
				rep, err := svc.Import(ctx, parsed, false)
				elapsed := time.Since(start)
				if err != nil || rep.Failed > 0 {
					b.Fatalf("import: %v %+v", err, rep.Err)
				}
				// Random IMEIs may, rarely, repeat: those rows are refused.
				if rep.Created+rep.Refused != resource.MaxImportRows || rep.Created < resource.MaxImportRows-10 {
					b.Fatalf("created %d, refused %d", rep.Created, rep.Refused)
				}
				rows += read
				total += elapsed
				n++
			}
			b.ReportMetric(float64(resource.MaxImportRows*n)/total.Seconds(), "rows/s")
			b.ReportMetric(total.Seconds()/float64(n), "s/import")
			b.ReportMetric(rows.Seconds()/float64(n), "s-read-csv")
		})
	}
}
