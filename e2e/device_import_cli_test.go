package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// TestDeviceImportCLI runs assetgate device import on a CSV and an NDJSON
// file for a customer, on both databases: a dry run that writes nothing,
// the import (created, refused with the reason), a second import that
// updates by IMEI, the text summary, and an unknown customer.
func TestDeviceImportCLI(t *testing.T) {
	for name, mkenv := range cliEnvs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			cust := mustCLI(t, env, "", "customer", "create", "--name", "Importer")["id"].(string)
			dir := t.TempDir()
			imei1, imei2 := testIMEI(), testIMEI()
			csvPath := filepath.Join(dir, "devices.csv")
			csv := "name,imei,latitude,longitude,attributes\n" +
				"Pump 1," + imei1 + ",52.5,13.4,\"{\"\"site\"\":\"\"A\"\"}\"\n" +
				"Pump 2," + imei2 + ",,,\n" +
				"Broken,123,,,\n"
			if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
				t.Fatal(err)
			}
			listed := func(t *testing.T) []*resource.Device {
				t.Helper()
				a := openGraph(t, env)
				ctx := scopes.NewContext(t.Context(), &scopes.Principal{Kind: scopes.KindApplication, CustomerID: cust, Scopes: []string{scopes.App}})
				list, err := a.Devices.List(ctx, resource.ListQuery[resource.DeviceListFilter]{Sort: []resource.SortField{{Field: "name"}}})
				if err != nil {
					t.Fatal(err)
				}
				return list.Devices
			}
			t.Run("DryRun", func(t *testing.T) {
				out := mustCLI(t, env, "", "device", "import", "--customer", cust, "--dry-run", csvPath)
				if out["dry_run"] != true || out["created"] != 2.0 || out["refused"] != 1.0 {
					t.Fatalf("dry run = %v", out)
				}
				if d := listed(t); len(d) != 0 {
					t.Fatalf("a dry run wrote %d devices", len(d))
				}
			})
			t.Run("CSV", func(t *testing.T) {
				r := runCLI(t, env, "", "device", "import", "--customer", cust, csvPath)
				if r.err != nil || !strings.Contains(r.stdout, "3 rows imported: 2 created, 0 updated, 1 refused, 0 failed") ||
					!strings.Contains(r.stdout, "row 3 (123): refused:") {
					t.Fatalf("import: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
				}
				d := listed(t)
				if len(d) != 2 || d[0].Name != "Pump 1" || d[0].Attributes["site"] != "A" || *d[0].Latitude != 52.5 {
					t.Fatalf("devices %+v", d)
				}
			})
			t.Run("NDJSONUpdates", func(t *testing.T) {
				path := filepath.Join(dir, "update.ndjson")
				body := `{"name":"Pump 1b","imei":"` + imei1 + `","attributes":{"site":"B"}}` + "\n"
				if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				out := mustCLI(t, env, "", "device", "import", "--customer", cust, path)
				results := out["results"].([]any)
				if out["updated"] != 1.0 || len(results) != 1 || results[0].(map[string]any)["status"] != "updated" {
					t.Fatalf("import = %v", out)
				}
				d := listed(t)
				if len(d) != 2 || d[0].Name != "Pump 1b" || d[0].Attributes["site"] != "B" {
					t.Fatalf("devices %+v", d)
				}
			})
			t.Run("ErrUnknownCustomer", func(t *testing.T) {
				r := runCLI(t, env, "", "device", "import", "--customer", "0190f5a0-0000-7000-8000-000000000000", csvPath, "--json")
				if r.code != 1 || !strings.Contains(r.stderr, "not found") {
					t.Fatalf("code %d, stderr %q", r.code, r.stderr)
				}
			})
		})
	}
}
