package jsonapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestDeviceImport imports CSV and NDJSON files through POST
// /devices/import on both databases: rows created, updated by IMEI and
// refused with their reason, a dry run that writes nothing, another
// tenant's group refused, 413 over the row limit, 415 for other media
// types. Every answer is validated against the JSON:API schema.
func TestDeviceImport(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			post := func(t *testing.T, token, mediaType, query, body string) response {
				t.Helper()
				return f.do(t, "POST", "/api/v1/devices/import"+query, token, body, "Content-Type", mediaType)
			}
			results := func(t *testing.T, doc map[string]any) []map[string]any {
				t.Helper()
				var out []map[string]any
				for _, d := range doc["data"].([]any) {
					o := d.(map[string]any)
					if o["type"] != "device-import-results" {
						t.Fatalf("type %v", o["type"])
					}
					out = append(out, o)
				}
				return out
			}
			count := func(t *testing.T, query string) int {
				t.Helper()
				doc := f.do(t, "GET", "/api/v1/devices?"+query, f.a.app, nil).doc(t, http.StatusOK)
				return int(doc["meta"].(map[string]any)["total"].(float64))
			}
			before := count(t, "")
			imeis := []string{storagetest.NewIMEI(), storagetest.NewIMEI(), storagetest.NewIMEI()}
			csvFile := "name,imei,mac,latitude,longitude,group,attributes\n" +
				"Truck 1," + imeis[0] + ",00:1a:2b:3c:4d:5e,52.52,13.405," + f.a.group.Name + ",\"{\"\"fleet\"\":\"\"north\"\",\"\"axles\"\":3}\"\n" +
				"Truck 2," + imeis[1] + ",,,," + f.a.group.ID + ",\n" +
				"Bad IMEI,12345,,,,,\n" +
				"Their group," + storagetest.NewIMEI() + ",,,," + f.b.group.ID + ",\n" +
				"Their group by name," + storagetest.NewIMEI() + ",,,," + f.b.group.Name + "x,\n" +
				"Bad position," + storagetest.NewIMEI() + ",,95,10,,\n" +
				"Bad attributes," + storagetest.NewIMEI() + ",,,,,\"{\"\"deep\"\":{}}\"\n" +
				"Repeated," + imeis[0] + ",,,,,\n" +
				"," + imeis[2] + ",,,,,\n"
			var truck1 string
			t.Run("DryRunWritesNothing", func(t *testing.T) {
				doc := post(t, f.a.app, "text/csv", "?dry_run=true", csvFile).doc(t, http.StatusOK)
				meta := doc["meta"].(map[string]any)
				if meta["dry_run"] != true || meta["created"] != 2.0 || meta["refused"] != 7.0 || meta["rows"] != 9.0 {
					t.Fatalf("meta %v", meta)
				}
				if n := count(t, ""); n != before {
					t.Fatalf("a dry run wrote: %d devices, %d before", n, before)
				}
			})
			t.Run("CSV", func(t *testing.T) {
				doc := post(t, f.a.app, "text/csv; charset=utf-8", "", csvFile).doc(t, http.StatusOK)
				meta := doc["meta"].(map[string]any)
				if meta["dry_run"] != false || meta["created"] != 2.0 || meta["updated"] != 0.0 || meta["refused"] != 7.0 || meta["failed"] != 0.0 {
					t.Fatalf("meta %v", meta)
				}
				rs := results(t, doc)
				want := []struct{ status, field string }{
					{"created", ""}, {"created", ""}, {"refused", "imei"}, {"refused", "group"}, {"refused", "group"},
					{"refused", "latitude"}, {"refused", "attributes.deep"}, {"refused", "imei"}, {"refused", "name"},
				}
				for i, w := range want {
					a := rs[i]["attributes"].(map[string]any)
					if rs[i]["id"] != fmt.Sprint(i+1) || a["row"] != float64(i+1) || a["status"] != w.status || (w.field != "" && a["field"] != w.field) {
						t.Errorf("row %d: %v, want %s %s", i+1, rs[i], w.status, w.field)
					}
					if w.status == "refused" && a["reason"] == "" {
						t.Errorf("row %d refused without a reason", i+1)
					}
				}
				if r := rs[7]["attributes"].(map[string]any)["reason"].(string); !strings.Contains(r, "row 1") {
					t.Errorf("repeated IMEI reason %q", r)
				}
				truck1 = rs[0]["relationships"].(map[string]any)["device"].(map[string]any)["data"].(map[string]any)["id"].(string)
				d := data(t, f.do(t, "GET", "/api/v1/devices/"+truck1, f.a.app, nil).doc(t, http.StatusOK))
				a := attrs(d)
				if a["name"] != "Truck 1" || a["mac"] != "00:1A:2B:3C:4D:5E" || a["latitude"] != 52.52 ||
					a["attributes"].(map[string]any)["axles"] != 3.0 {
					t.Fatalf("device %v", a)
				}
				if g := d["relationships"].(map[string]any)["group"].(map[string]any)["data"].(map[string]any)["id"]; g != f.a.group.ID {
					t.Fatalf("group %v (by name), want %s", g, f.a.group.ID)
				}
				if n := count(t, ""); n != before+2 {
					t.Fatalf("%d devices, want %d", n, before+2)
				}
				if n := count(t, "filter[attributes.fleet]=north"); n != 1 {
					t.Fatalf("attribute filter finds %d imported devices", n)
				}
			})
			t.Run("NDJSONUpdatesByIMEI", func(t *testing.T) {
				body := `{"name":"Truck 1 renamed","imei":"` + imeis[0] + `","latitude":48.1,"longitude":11.6,"attributes":{"fleet":"south"}}` + "\n\n" +
					`{"name":"New","imei":"` + imeis[2] + `","group":"` + f.a.group.Name + `"}` + "\n" +
					`{"name":"Unknown key","imei":"` + storagetest.NewIMEI() + `","colour":"red"}` + "\n" +
					`not json` + "\n"
				doc := post(t, f.a.me, "application/x-ndjson", "", body).doc(t, http.StatusOK)
				meta := doc["meta"].(map[string]any)
				if meta["created"] != 1.0 || meta["updated"] != 1.0 || meta["refused"] != 2.0 {
					t.Fatalf("meta %v", meta)
				}
				rs := results(t, doc)
				if id := rs[0]["relationships"].(map[string]any)["device"].(map[string]any)["data"].(map[string]any)["id"]; id != truck1 {
					t.Fatalf("the update made device %v, want %s", id, truck1)
				}
				a := attrs(data(t, f.do(t, "GET", "/api/v1/devices/"+truck1, f.a.app, nil).doc(t, http.StatusOK)))
				if a["name"] != "Truck 1 renamed" || a["latitude"] != 48.1 || a["mac"] != nil || a["attributes"].(map[string]any)["fleet"] != "south" {
					t.Fatalf("updated device %v", a)
				}
				if n := count(t, "filter[imei]="+imeis[0]); n != 1 {
					t.Fatalf("%d devices with the IMEI", n)
				}
			})
			t.Run("OtherTenantUnchanged", func(t *testing.T) {
				doc := f.do(t, "GET", "/api/v1/devices", f.b.app, nil).doc(t, http.StatusOK)
				if n := doc["meta"].(map[string]any)["total"]; n != 1.0 {
					t.Fatalf("tenant b has %v devices", n)
				}
				// B imports A's IMEI: a device of B's own, A's untouched.
				doc = post(t, f.b.app, "text/csv", "", "name,imei\nB's,"+imeis[0]+"\n").doc(t, http.StatusOK)
				rs := results(t, doc)
				if rs[0]["attributes"].(map[string]any)["status"] != "created" {
					t.Fatalf("B's row %v", rs[0])
				}
				if id := rs[0]["relationships"].(map[string]any)["device"].(map[string]any)["data"].(map[string]any)["id"]; id == truck1 {
					t.Fatal("B's import updated A's device")
				}
				if a := attrs(data(t, f.do(t, "GET", "/api/v1/devices/"+truck1, f.a.app, nil).doc(t, http.StatusOK))); a["name"] != "Truck 1 renamed" {
					t.Fatalf("A's device changed: %v", a)
				}
			})
			t.Run("ErrTooManyRows", func(t *testing.T) {
				var b strings.Builder
				b.WriteString("name,imei\n")
				for i := range 50_001 {
					fmt.Fprintf(&b, "d%d,%015d\n", i, i)
				}
				e := post(t, f.a.app, "text/csv", "", b.String()).errorOf(t, http.StatusRequestEntityTooLarge)
				if !strings.Contains(e["detail"].(string), "50000") {
					t.Fatalf("error %v", e)
				}
				if n := count(t, ""); n != before+3 {
					t.Fatalf("a refused import wrote: %d devices", n)
				}
			})
			t.Run("ErrMediaType", func(t *testing.T) {
				e := post(t, f.a.app, "application/json", "", `[]`).errorOf(t, http.StatusUnsupportedMediaType)
				if source(e, "header") != "Content-Type" {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("ErrHeader", func(t *testing.T) {
				post(t, f.a.app, "text/csv", "", "name,colour\nx,red\n").errorOf(t, http.StatusBadRequest)
				post(t, f.a.app, "text/csv", "", "name,mac\nx,00:11:22:33:44:55\n").errorOf(t, http.StatusBadRequest)
			})
			t.Run("ErrQuery", func(t *testing.T) {
				e := post(t, f.a.app, "text/csv", "?dry_run=maybe", "name,imei\n").errorOf(t, http.StatusBadRequest)
				if source(e, "parameter") != "dry_run" {
					t.Fatalf("error %v", e)
				}
			})
			t.Run("ErrScope", func(t *testing.T) {
				post(t, f.a.basic, "text/csv", "", "name,imei\n").errorOf(t, http.StatusForbidden)
				post(t, f.a.dev, "text/csv", "", "name,imei\n").errorOf(t, http.StatusForbidden)
			})
		})
	}
}
