package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assetgate/assetgate/resource"
)

var _ resource.SeriesStore = (*EventStore)(nil)

// EventSeries computes the buckets of a series in one statement. The
// innermost query reads the events the spec selects (through the
// customer_id, device_id, occurred_at index) with their bucket and payload
// numbers; the middle one aggregates them per bucket (COUNT, MIN, MAX,
// AVG, and the newest occurred_at, by hashing on PostgreSQL: the OFFSET 0
// keeps the planner from sorting the events); the outer one looks up,
// per bucket, the payload of the event at that newest occurred_at with
// the greatest id (in the order of the customer_id, device_id,
// occurred_at, id index), the source of the last values. The bucket is date_bin
// on PostgreSQL and integer arithmetic on Unix seconds on SQLite; payload
// numbers are read with ->> on PostgreSQL (JSONB) and json_extract on
// SQLite (TEXT). Only the buckets leave the database.
func (s *EventStore) EventSeries(ctx context.Context, customerID string, spec resource.SeriesSpec) ([]*resource.SeriesPoint, error) {
	width := spec.WidthSeconds()
	if width <= 0 {
		return nil, fmt.Errorf("series: bucket width %s", spec.Width)
	}
	for _, f := range spec.Fields {
		if !isPayloadKey(f) {
			return nil, fmt.Errorf("series: unknown payload field %q", f)
		}
	}
	w := strconv.FormatInt(width, 10)
	bucket, start, fence := "(unixepoch(occurred_at) / "+w+") * "+w, "b", ""
	value := func(doc, field string) string { return "json_extract(" + doc + ", '$." + field + "')" }
	if s.db.Dialect == Postgres {
		bucket = "date_bin(INTERVAL '" + w + " seconds', occurred_at, TIMESTAMPTZ '1970-01-01 00:00:00+00')"
		start, fence = "CAST(EXTRACT(EPOCH FROM b) AS BIGINT)", " OFFSET 0"
		value = func(doc, field string) string { return "CAST(" + doc + "->>'" + field + "' AS DOUBLE PRECISION)" }
	}
	c := &conds{}
	c.add("customer_id = ?", customerID)
	if spec.DeviceID != "" {
		c.add("device_id = ?", spec.DeviceID)
	} else {
		c.add("device_id IN (SELECT id FROM devices WHERE customer_id = ? AND group_id = ?)", customerID, spec.GroupID)
	}
	c.add("type = ?", string(spec.Type))
	c.add("occurred_at >= ?", dbTime(spec.Since))
	c.add("occurred_at < ?", dbTime(spec.Until))
	retained, retainedArgs := s.retained("occurred_at", customerID) // older events are never returned
	c.add(retained, retainedArgs...)

	var events, buckets, outer strings.Builder
	events.WriteString("SELECT " + bucket + " AS b, occurred_at")
	buckets.WriteString("SELECT b, COUNT(*) AS n, MAX(occurred_at) AS newest")
	outer.WriteString("SELECT " + start + ", n")
	for i, f := range spec.Fields {
		v := "v" + strconv.Itoa(i)
		events.WriteString(", " + value("payload", f) + " AS " + v)
		buckets.WriteString(", MIN(" + v + ") AS min" + v + ", MAX(" + v + ") AS max" + v + ", AVG(" + v + ") AS avg" + v)
		outer.WriteString(", min" + v + ", max" + v + ", avg" + v + ", " + value("last", f))
	}
	events.WriteString(" FROM events" + c.where() + fence)
	buckets.WriteString(" FROM (" + events.String() + ") e GROUP BY b")
	newest := "(SELECT payload FROM events" + c.where() + " AND occurred_at = a.newest ORDER BY occurred_at DESC, id DESC LIMIT 1) AS last"
	query := outer.String() + " FROM (SELECT a.*, " + newest + " FROM (" + buckets.String() + ") a) x ORDER BY b"
	args := append(slices.Clone(c.args), c.args...)

	rows, err := s.db.QueryContext(ctx, s.db.Rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	defer rows.Close()
	points := []*resource.SeriesPoint{}
	for rows.Next() {
		var start int64
		var count int
		nums := make([]sql.NullFloat64, 4*len(spec.Fields))
		dest := []any{&start, &count}
		for i := range nums {
			dest = append(dest, &nums[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("series: %w", err)
		}
		p := &resource.SeriesPoint{Start: time.Unix(start, 0).UTC(), Count: count, Stats: []resource.SeriesStats{}}
		for i, f := range spec.Fields {
			n := nums[4*i : 4*i+4]
			if !n[0].Valid || !n[3].Valid { // not a number of these events
				continue
			}
			p.Stats = append(p.Stats, resource.SeriesStats{Field: f, Min: n[0].Float64, Max: n[1].Float64,
				Avg: n[2].Float64, Last: n[3].Float64})
		}
		points = append(points, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	return points, nil
}

// isPayloadKey reports whether f is a payload number of some event type:
// the only names EventSeries writes into its SQL text.
func isPayloadKey(f string) bool {
	for _, t := range resource.EventTypes() {
		for _, k := range resource.SeriesFields(t) {
			if k == f {
				return true
			}
		}
	}
	return false
}
