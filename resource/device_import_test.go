package resource_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// failingImports is the real device store whose ImportDevices fails from
// its failAt-th call on (counting from 1), like a database that goes
// away mid-import.
type failingImports struct {
	*storage.DeviceStore
	calls, failAt int
}

func (f *failingImports) ImportDevices(ctx context.Context, customerID string, devices []*resource.Device) ([]string, []bool, error) {
	f.calls++
	if f.calls >= f.failAt {
		return nil, nil, fmt.Errorf("import devices: %w", errors.New("connection reset by 10.0.0.7"))
	}
	return f.DeviceStore.ImportDevices(ctx, customerID, devices)
}

// TestDeviceImportDatabaseFails imports 2,500 rows (three chunks) into a
// store that fails on the second chunk: the first chunk is committed and
// reported created, every row from the second chunk on is failed with a
// client-safe reason, Report.Err keeps the cause; a store failing on the
// first chunk is the store's error, nothing written.
func TestDeviceImportDatabaseFails(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		var b strings.Builder
		b.WriteString("name,imei\n")
		for i := range 2_500 {
			fmt.Fprintf(&b, "d%d,%s\n", i, storagetest.NewIMEI())
		}
		rows, err := resource.ReadImport(strings.NewReader(b.String()), resource.ImportCSV)
		must(t, err)
		ctx := as(t, e.b.app("app"))
		count := func(t *testing.T) int {
			t.Helper()
			list, err := e.devices.List(ctx, resource.ListQuery[resource.DeviceListFilter]{})
			must(t, err)
			return list.Total
		}
		before := count(t)
		t.Run("SecondChunk", func(t *testing.T) {
			svc := *e.devices
			svc.Store = &failingImports{DeviceStore: e.stores.devices, failAt: 2}
			rep, err := svc.Import(ctx, rows, false)
			must(t, err)
			if rep.Created != resource.ImportChunk || rep.Failed != len(rows)-resource.ImportChunk || rep.Err == nil {
				t.Fatalf("created %d, failed %d, err %v", rep.Created, rep.Failed, rep.Err)
			}
			for i, r := range rep.Results {
				want := resource.ImportCreated
				if i >= resource.ImportChunk {
					want = resource.ImportFailed
				}
				if r.Status != want {
					t.Fatalf("row %d: %s, want %s", r.Row, r.Status, want)
				}
				if r.Status == resource.ImportFailed && (strings.Contains(r.Reason, "10.0.0.7") || r.Reason == "") {
					t.Fatalf("row %d: reason %q", r.Row, r.Reason)
				}
			}
			if n := count(t); n != before+resource.ImportChunk {
				t.Fatalf("%d devices, want %d", n, before+resource.ImportChunk)
			}
		})
		t.Run("FirstChunk", func(t *testing.T) {
			svc := *e.devices
			svc.Store = &failingImports{DeviceStore: e.stores.devices, failAt: 1}
			var b strings.Builder
			b.WriteString("name,imei\nnew," + storagetest.NewIMEI() + "\n")
			rows, err := resource.ReadImport(strings.NewReader(b.String()), resource.ImportCSV)
			must(t, err)
			n := count(t)
			if _, err := svc.Import(ctx, rows, false); err == nil {
				t.Fatal("no error")
			}
			if count(t) != n {
				t.Fatal("written")
			}
		})
	})
}

// TestAttributesValidate is the matrix of attribute objects.
func TestAttributesValidate(t *testing.T) {
	long := strings.Repeat("k", resource.MaxAttributeKey)
	for _, c := range []struct {
		name  string
		raw   map[string]any
		field string // "" for valid
	}{
		{"Empty", map[string]any{}, ""},
		{"Types", map[string]any{"s": "x", "n": 1.5, "b": false, "fw.version": "1", "a-b_C9": 0.0}, ""},
		{"LongestKey", map[string]any{long: "x"}, ""},
		{"KeyTooLong", map[string]any{long + "k": "x"}, "attributes." + long + "k"},
		{"EmptyKey", map[string]any{"": "x"}, "attributes."},
		{"Space", map[string]any{"a b": "x"}, "attributes.a b"},
		{"Unicode", map[string]any{"größe": "x"}, "attributes.größe"},
		{"Null", map[string]any{"x": nil}, "attributes.x"},
		{"Object", map[string]any{"x": map[string]any{}}, "attributes.x"},
		{"Array", map[string]any{"x": []any{}}, "attributes.x"},
		{"NUL", map[string]any{"x": "a\x00b"}, "attributes.x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := resource.ParseAttributes(c.raw)
			if c.field == "" {
				must(t, err)
				return
			}
			requireInvalid(t, err, c.field)
		})
	}
	t.Run("TooMany", func(t *testing.T) {
		m := map[string]any{}
		for i := range resource.MaxAttributes + 1 {
			m[fmt.Sprintf("k%d", i)] = i
		}
		_, err := resource.ParseAttributes(m)
		requireInvalid(t, err, "attributes")
		delete(m, "k0")
		_, err = resource.ParseAttributes(m)
		must(t, err)
	})
	t.Run("TooLarge", func(t *testing.T) {
		// {"a":"…"} is 8 bytes plus the value.
		_, err := resource.ParseAttributes(map[string]any{"a": strings.Repeat("x", resource.MaxAttributesLen-8)})
		must(t, err)
		_, err = resource.ParseAttributes(map[string]any{"a": strings.Repeat("x", resource.MaxAttributesLen-7)})
		requireInvalid(t, err, "attributes")
	})
}
