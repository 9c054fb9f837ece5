package resource

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// Bulk import of devices (POST /devices/import, assetgate device import):
// a CSV or NDJSON file of at most MaxImportRows rows, each created, or
// updated when the customer has a device with its IMEI, or refused with
// the reason. Valid rows are written in chunks of ImportChunk, each chunk
// in one transaction; a refused row never stops the others.

// Limits of an import.
const (
	MaxImportRows = 50_000
	ImportChunk   = 1_000
	// maxImportLine bounds one line of a file (a row with 4 KB of
	// attributes fits many times).
	maxImportLine = 64 << 10
)

// Media types of an import.
const (
	ImportCSV    = "text/csv"
	ImportNDJSON = "application/x-ndjson"
)

// ImportColumns are the columns (CSV header) and keys (NDJSON) of a row;
// name and imei are required, the others may be left out or empty.
var ImportColumns = []string{"name", "imei", "mac", "latitude", "longitude", "group", "attributes"}

// Import result statuses.
const (
	ImportCreated = "created"
	ImportUpdated = "updated"
	ImportRefused = "refused"
	// ImportFailed is a valid row that was not written because the
	// database failed (its chunk rolled back, or a later chunk).
	ImportFailed = "failed"
)

// ErrImportTooLarge is the error of a file over MaxImportRows rows.
var ErrImportTooLarge = errors.New("too many rows")

// ImportRow is one row of an import file as read: the text of its cells
// (NDJSON numbers as their JSON text, attributes as a JSON object's text).
type ImportRow struct {
	// Row numbers the data rows from 1 (a CSV header is not a row).
	Row        int
	Name, IMEI string
	MAC        string
	Latitude   string
	Longitude  string
	Group      string
	Attributes string
	// Err, when set, refuses the row: it could not be read.
	Err *Error
}

// ImportResult is what became of one row.
type ImportResult struct {
	Row    int
	Status string
	IMEI   string
	// DeviceID is the device created or updated (or, in a dry run, that
	// would be updated); "" otherwise.
	DeviceID string
	// Reason and Field say why a row was refused or failed.
	Reason string
	Field  string
}

// ImportReport is the answer of an import: one result per row, in order,
// and the counts.
type ImportReport struct {
	DryRun                            bool
	Results                           []ImportResult
	Created, Updated, Refused, Failed int
	// Err is the store's error when the database failed mid-import (the
	// rows from the failed chunk on are ImportFailed), for the log only.
	Err error
}

// ReadImport reads an import file of the media type (ImportCSV or
// ImportNDJSON). EInvalid for an unknown media type or a bad CSV header;
// ErrImportTooLarge (wrapped in an *Error EInvalid with Field "rows") when it
// has more than MaxImportRows rows. A row that cannot be read is returned
// with its Err set.
func ReadImport(r io.Reader, mediaType string) ([]ImportRow, error) {
	switch mediaType {
	case ImportCSV:
		return readImportCSV(r)
	case ImportNDJSON:
		return readImportNDJSON(r)
	}
	return nil, Errorf(EInvalid, "an import is %s or %s", ImportCSV, ImportNDJSON)
}

// TooManyRows reports whether err is ReadImport's error of a file over
// MaxImportRows rows.
func TooManyRows(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Field == "rows"
}

func tooManyRows() error {
	return &Error{Code: EInvalid, Field: "rows", Message: fmt.Sprintf("an import has at most %d rows", MaxImportRows)}
}

func readImportCSV(r io.Reader) ([]ImportRow, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return []ImportRow{}, nil
	} else if err != nil {
		return nil, Errorf(EInvalid, "the CSV header cannot be read: %s", csvProblem(err))
	}
	cols := make([]int, len(ImportColumns)) // column index of each ImportColumns entry, -1 when absent
	for i := range cols {
		cols[i] = -1
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		j := slices.Index(ImportColumns, h)
		switch {
		case j < 0:
			return nil, Errorf(EInvalid, "unknown CSV column %q; the columns are %s", h, strings.Join(ImportColumns, ", "))
		case cols[j] >= 0:
			return nil, Errorf(EInvalid, "CSV column %q appears twice", h)
		}
		cols[j] = i
	}
	if cols[0] < 0 || cols[1] < 0 {
		return nil, Errorf(EInvalid, "the CSV header must name the columns name and imei (and any of %s)", strings.Join(ImportColumns[2:], ", "))
	}
	rows := []ImportRow{}
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if n > MaxImportRows {
			return nil, tooManyRows()
		}
		row := ImportRow{Row: n}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, Errorf(EInvalid, "the CSV file cannot be read: %s", csvProblem(err))
			}
			row.Err = Errorf(EInvalid, "the row is not valid CSV: %s", csvProblem(err))
			rows = append(rows, row)
			continue
		}
		cell := func(j int) string {
			if cols[j] < 0 || cols[j] >= len(rec) {
				return ""
			}
			return rec[cols[j]]
		}
		if len(rec) != len(header) {
			row.Err = Errorf(EInvalid, "the row has %d cells, the header %d", len(rec), len(header))
		}
		row.Name, row.IMEI, row.MAC, row.Latitude, row.Longitude, row.Group, row.Attributes =
			cell(0), cell(1), cell(2), cell(3), cell(4), cell(5), cell(6)
		rows = append(rows, row)
	}
}

// csvProblem is the client-safe text of a CSV error.
func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "read error"
}

func readImportNDJSON(r io.Reader) ([]ImportRow, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxImportLine)
	rows := []ImportRow{}
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		n++
		if n > MaxImportRows {
			return nil, tooManyRows()
		}
		rows = append(rows, ndjsonRow(n, line))
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, Errorf(EInvalid, "row %d is longer than %d bytes", n+1, maxImportLine)
	} else if err != nil {
		return nil, Errorf(EInvalid, "the NDJSON file cannot be read")
	}
	return rows, nil
}

// ndjsonRow reads one NDJSON line: an object with the keys of
// ImportColumns; numbers and strings are taken as their text, null as
// empty, attributes as an object.
func ndjsonRow(n int, line []byte) ImportRow {
	row := ImportRow{Row: n}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil || m == nil {
		row.Err = Errorf(EInvalid, "the row is not a JSON object")
		return row
	}
	dst := []*string{&row.Name, &row.IMEI, &row.MAC, &row.Latitude, &row.Longitude, &row.Group, &row.Attributes}
	for _, k := range sortedAttributeKeys(m) {
		j := slices.Index(ImportColumns, k)
		if j < 0 {
			row.Err = Invalidf(k, "unknown key %q; the keys are %s", k, strings.Join(ImportColumns, ", "))
			return row
		}
		raw := bytes.TrimSpace(m[k])
		switch {
		case string(raw) == "null":
		case k == "attributes":
			*dst[j] = string(raw)
		case len(raw) > 0 && raw[0] == '"':
			var s string
			_ = json.Unmarshal(raw, &s) // valid: the line decoded
			*dst[j] = s
		case len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')):
			*dst[j] = string(raw)
		default:
			row.Err = Invalidf(k, "%s must be a string or a number", k)
			return row
		}
	}
	return row
}

// Import creates or updates (by IMEI) a device per row, in chunks of
// ImportChunk rows, each in one transaction (nothing when dryRun: the rows
// are checked, and each valid one is reported as it would be written).
// The group column is a group id or the exact name of one of the
// customer's groups. Refused rows are reported with the reason and never
// stop the others; when the database fails, the chunks committed before
// stay and are reported, and every row from the failed chunk on is
// ImportFailed (Report.Err holds the cause). EUnauthenticated,
// EForbidden; the store's error when it fails before anything was
// written.
func (s *DeviceService) Import(ctx context.Context, rows []ImportRow, dryRun bool) (*ImportReport, error) {
	p, err := authorize(ctx, scopes.OpDevicesWrite)
	if err != nil {
		return nil, err
	}
	if p.Kind == scopes.KindDevice {
		return nil, Errorf(EForbidden, "a device token cannot import devices")
	}
	groups, err := s.importGroups(ctx, p.CustomerID, rows)
	if err != nil {
		return nil, err
	}
	rep := &ImportReport{DryRun: dryRun, Results: make([]ImportResult, len(rows))}
	now := nowUTC(s.Now)
	seen := make(map[string]int, len(rows)) // IMEI -> row
	var valid []int                         // indexes of rows to write
	devices := make([]*Device, len(rows))
	for i, row := range rows {
		res := &rep.Results[i]
		res.Row, res.IMEI = row.Row, strings.TrimSpace(row.IMEI)
		d, err := s.importDevice(p.CustomerID, row, groups, now)
		if err == nil {
			if prev, dup := seen[d.IMEI]; dup {
				err = Invalidf("imei", "the IMEI repeats row %d", prev)
			}
		}
		if err != nil {
			res.Status, res.Reason, res.Field = ImportRefused, ErrorMessage(err), ErrorField(err)
			continue
		}
		res.IMEI = d.IMEI
		seen[d.IMEI] = row.Row
		devices[i] = d
		valid = append(valid, i)
	}
	for start := 0; start < len(valid); start += ImportChunk {
		chunk := valid[start:min(start+ImportChunk, len(valid))]
		batch := make([]*Device, len(chunk))
		for j, i := range chunk {
			batch[j] = devices[i]
		}
		var ids []string
		var created []bool
		if dryRun {
			ids, created, err = s.Store.ExistingDevices(ctx, p.CustomerID, batch)
		} else {
			ids, created, err = s.Store.ImportDevices(ctx, p.CustomerID, batch)
		}
		if err != nil {
			if start == 0 {
				return nil, err // nothing was written: the store's error as such
			}
			rep.Err = err
			for _, i := range valid[start:] {
				res := &rep.Results[i]
				res.Status = ImportFailed
				res.Reason = "not written: the database failed (" + ErrorMessage(err) + "); the rows reported created or updated were committed"
			}
			break
		}
		for j, i := range chunk {
			res := &rep.Results[i]
			res.DeviceID = ids[j]
			res.Status = ImportUpdated
			if created[j] {
				res.Status = ImportCreated
			}
		}
	}
	for _, r := range rep.Results {
		switch r.Status {
		case ImportCreated:
			rep.Created++
		case ImportUpdated:
			rep.Updated++
		case ImportRefused:
			rep.Refused++
		case ImportFailed:
			rep.Failed++
		}
	}
	return rep, nil
}

// importDevice checks one row and returns its device (a new id; the store
// keeps the existing device's id, creation and last event times when the
// IMEI is known).
func (s *DeviceService) importDevice(customerID string, row ImportRow, groups map[string]string, now time.Time) (*Device, error) {
	if row.Err != nil {
		return nil, row.Err
	}
	d := &Device{ID: NewID(), CustomerID: customerID, Name: row.Name, IMEI: strings.TrimSpace(row.IMEI),
		MAC: strings.TrimSpace(row.MAC), CreatedAt: now, UpdatedAt: now}
	var bad invalids
	for _, c := range []struct {
		name string
		text string
		dst  **float64
	}{{"latitude", row.Latitude, &d.Latitude}, {"longitude", row.Longitude, &d.Longitude}} {
		t := strings.TrimSpace(c.text)
		if t == "" {
			continue
		}
		v, err := strconv.ParseFloat(t, 64)
		if err != nil || !jsonNumber.MatchString(t) {
			_ = bad.add(Invalidf(c.name, "%s must be a number", c.name))
			continue
		}
		*c.dst = &v
	}
	if g := strings.TrimSpace(row.Group); g != "" {
		id, ok := groups[g]
		if !ok {
			_ = bad.add(Invalidf("group", "device group %q not found (a group id or the name of one of the customer's groups)", g))
		}
		d.GroupID = id
	}
	a, err := ParseAttributesJSON(row.Attributes)
	if err != nil {
		_ = bad.add(err)
	}
	if len(a) > 0 {
		d.Attributes = a
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	if err := s.validate(context.Background(), d, false); err != nil {
		return nil, err
	}
	return d, nil
}

// importGroups resolves the group cells of rows: each maps to the id of
// the customer's group with that id, or else with that exact name. Cells
// that name nothing of the customer's are left out (their rows are
// refused); another customer's group is never found.
func (s *DeviceService) importGroups(ctx context.Context, customerID string, rows []ImportRow) (map[string]string, error) {
	out := map[string]string{}
	var cells []string
	seen := map[string]bool{}
	for _, r := range rows {
		if g := strings.TrimSpace(r.Group); g != "" && !seen[g] && StorableText(g) {
			seen[g] = true
			cells = append(cells, g)
		}
	}
	var ids []string
	for _, g := range cells {
		if ValidID(g) {
			ids = append(ids, g)
		}
	}
	for start := 0; start < len(ids); start += MaxPageSize {
		found, err := s.Groups.FindDeviceGroups(ctx, customerID, ids[start:min(start+MaxPageSize, len(ids))])
		if err != nil {
			return nil, err
		}
		for _, g := range found {
			out[g.ID] = g.ID
		}
	}
	var names []string
	for _, g := range cells {
		if _, ok := out[g]; !ok {
			names = append(names, g)
		}
	}
	for start := 0; start < len(names); start += MaxPageSize {
		part := names[start:min(start+MaxPageSize, len(names))]
		found, _, err := s.Groups.ListDeviceGroups(ctx, customerID, DeviceGroupQuery{
			Filter: DeviceGroupFilter{Names: part}, Sort: []SortField{{Field: GroupSortName}}, Limit: 2 * len(part)})
		if err != nil {
			return nil, err
		}
		for _, g := range found {
			if _, dup := out[g.Name]; !dup {
				out[g.Name] = g.ID
			}
		}
	}
	return out, nil
}
