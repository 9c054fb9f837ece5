package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// deviceImport runs a bulk import of devices for a customer, as POST
// /devices/import does for the customer's applications: it prints the
// counts and each refused or failed row (--json: the whole report).
func (c *cli) deviceImport(ctx context.Context, args []string) error {
	fs := c.flags("device import")
	customer := fs.String("customer", "", "customer `ID`")
	dryRun := fs.Bool("dry-run", false, "check every row and report what would be written, writing nothing")
	format := fs.String("format", "", "csv or ndjson (default: from the file's extension; csv for -)")
	// Flags may come before and after FILE.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return &configError{msg: err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		return &configError{msg: "device import: give one FILE (- for stdin)"}
	}
	if err := c.cfg.validate(); err != nil {
		return err
	}
	if err := required(fs, "customer"); err != nil {
		return err
	}
	file := files[0]
	mt, err := importMediaType(*format, file)
	if err != nil {
		return err
	}
	var in io.Reader = c.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("device import: %w", err)
		}
		defer f.Close()
		in = f
	}
	rows, err := resource.ReadImport(in, mt)
	if err != nil {
		return err
	}
	a, err := c.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.Stores.Customers.FindCustomer(ctx, *customer); err != nil {
		return err
	}
	// The operator acts as the customer's backend application would.
	ctx = scopes.NewContext(ctx, &scopes.Principal{Kind: scopes.KindApplication, CustomerID: *customer, Scopes: []string{scopes.App}})
	rep, err := a.Devices.Import(ctx, rows, *dryRun)
	if err != nil {
		return err
	}
	verb := "imported"
	if rep.DryRun {
		verb = "checked (dry run, nothing written)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows %s: %d created, %d updated, %d refused, %d failed", len(rep.Results), verb,
		rep.Created, rep.Updated, rep.Refused, rep.Failed)
	results := make([]map[string]any, len(rep.Results))
	for i, r := range rep.Results {
		m := map[string]any{"row": r.Row, "status": r.Status, "imei": r.IMEI}
		if r.DeviceID != "" {
			m["device_id"] = r.DeviceID
		}
		if r.Reason != "" {
			m["reason"] = r.Reason
		}
		if r.Field != "" {
			m["field"] = r.Field
		}
		results[i] = m
		if r.Status == resource.ImportRefused || r.Status == resource.ImportFailed {
			fmt.Fprintf(&b, "\nrow %d (%s): %s: %s", r.Row, r.IMEI, r.Status, r.Reason)
		}
	}
	out := map[string]any{"dry_run": rep.DryRun, "rows": len(rep.Results), "created": rep.Created, "updated": rep.Updated,
		"refused": rep.Refused, "failed": rep.Failed, "results": results}
	if err := c.print(out, b.String()); err != nil {
		return err
	}
	if rep.Err != nil {
		return fmt.Errorf("device import: the database failed mid-import: %w", rep.Err)
	}
	return nil
}

// importMediaType is the media type of an import file: --format, or the
// file's extension.
func importMediaType(format, file string) (string, error) {
	switch strings.ToLower(format) {
	case "csv":
		return resource.ImportCSV, nil
	case "ndjson", "jsonl":
		return resource.ImportNDJSON, nil
	case "":
	default:
		return "", &configError{msg: "device import: --format is csv or ndjson"}
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".ndjson", ".jsonl":
		return resource.ImportNDJSON, nil
	}
	return resource.ImportCSV, nil
}
