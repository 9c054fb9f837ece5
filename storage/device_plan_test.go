package storage_test

import (
	"strings"
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// explain returns the query plan of a query with ? placeholders, one line
// per plan node.
func explain(t testing.TB, db *storage.DB, analyze bool, query string, args ...any) string {
	t.Helper()
	prefix := "EXPLAIN QUERY PLAN "
	if db.Dialect == storage.Postgres {
		prefix = "EXPLAIN "
		if analyze {
			prefix = "EXPLAIN (ANALYZE, BUFFERS) "
		}
	}
	rows, err := db.QueryContext(t.Context(), db.Rebind(prefix+query), args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		line := vals[len(vals)-1]
		if b, ok := line.([]byte); ok {
			line = string(b)
		}
		lines = append(lines, line.(string))
	}
	return strings.Join(lines, "\n")
}

// TestDeviceListPlans checks that device lists are served by the indexes:
// the list (fault, newest event first) walks
// (customer_id, fault, last_event_at, id) without sorting, and a radius
// filter narrows by the (customer_id, latitude, longitude) box.
func TestDeviceListPlans(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		seedDevices(t, db, 300, 3)
		cust := seedDevices(t, db, 5_000, 4)
		yes := true
		// Each plan twice: the page alone, and with its groups joined
		// (include=group).
		for _, withGroups := range []bool{false, true} {
			t.Run(map[bool]string{false: "Page", true: "WithGroups"}[withGroups], func(t *testing.T) {
				t.Run("FaultByLastEvent", func(t *testing.T) {
					q, args, err := storage.DevicePageSQL(db.Dialect, cust, resource.DeviceQuery{
						Filter: resource.DeviceFilter{Fault: &yes}, Sort: []resource.SortField{{Field: "last_event_at", Desc: true}}, Limit: 25,
					}, withGroups)
					must(t, err)
					plan := explain(t, db, false, q, args...)
					t.Logf("plan:\n%s", plan)
					if !strings.Contains(plan, "devices_customer_id_fault_last_event_at_id_idx") {
						t.Error("the list does not use (customer_id, fault, last_event_at, id)")
					}
					if strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "Sort") {
						t.Error("the list sorts instead of walking the index in order")
					}
				})
				t.Run("SortsWithoutSorting", func(t *testing.T) {
					for _, field := range []string{"created_at", "last_event_at", "name", "imei"} {
						for _, desc := range []bool{false, true} {
							for _, fault := range []*bool{nil, &yes} {
								if fault != nil && field != "last_event_at" {
									continue // only the combination has its own index
								}
								q, args, err := storage.DevicePageSQL(db.Dialect, cust, resource.DeviceQuery{
									Filter: resource.DeviceFilter{Fault: fault}, Sort: []resource.SortField{{Field: field, Desc: desc}}, Limit: 25,
								}, withGroups)
								must(t, err)
								plan := explain(t, db, false, q, args...)
								if strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "Sort") {
									t.Errorf("sort %s desc=%v fault=%v sorts:\n%s", field, desc, fault != nil, plan)
								}
							}
						}
					}
				})
				t.Run("Radius", func(t *testing.T) {
					q, args, err := storage.DevicePageSQL(db.Dialect, cust, resource.DeviceQuery{
						Filter: resource.DeviceFilter{Near: &resource.GeoFilter{Latitude: 52.52, Longitude: 13.405, RadiusLTE: ptr(5000.0)}},
						Sort:   []resource.SortField{{Field: "created_at"}}, Limit: 25,
					}, withGroups)
					must(t, err)
					plan := explain(t, db, false, q, args...)
					t.Logf("plan:\n%s", plan)
					if !strings.Contains(plan, "devices_customer_id_latitude_longitude_id_idx") {
						t.Error("a radius filter does not use the (customer_id, latitude, longitude, id) index")
					}
				})
			})
		}
	})
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }
