package resource

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// A telemetry series is what a portal draws: the events of one type of a
// device (or of the devices of a group) in a time range, gathered in
// buckets of a fixed interval aligned to the Unix epoch in UTC (a 1h
// bucket starts on the hour, a 1d bucket at 00:00 UTC). Each bucket has
// its start, its count and, per number of the type's payload, the
// minimum, maximum, average and last value. Stores compute the buckets in
// the database; raw events never reach the service.

// SeriesInterval is the width of the buckets of a series, as clients
// write it ("1h").
type SeriesInterval string

// Series intervals.
const (
	SeriesMinute         SeriesInterval = "1m"
	SeriesFiveMinutes    SeriesInterval = "5m"
	SeriesFifteenMinutes SeriesInterval = "15m"
	SeriesHour           SeriesInterval = "1h"
	SeriesSixHours       SeriesInterval = "6h"
	SeriesDay            SeriesInterval = "1d"
)

// seriesWidths maps the intervals to their widths.
var seriesWidths = map[SeriesInterval]time.Duration{
	SeriesMinute: time.Minute, SeriesFiveMinutes: 5 * time.Minute, SeriesFifteenMinutes: 15 * time.Minute,
	SeriesHour: time.Hour, SeriesSixHours: 6 * time.Hour, SeriesDay: 24 * time.Hour,
}

// SeriesIntervals returns the intervals, shortest first.
func SeriesIntervals() []SeriesInterval {
	return []SeriesInterval{SeriesMinute, SeriesFiveMinutes, SeriesFifteenMinutes, SeriesHour, SeriesSixHours, SeriesDay}
}

// Width returns the duration of the interval, or 0 for an unknown one.
func (i SeriesInterval) Width() time.Duration { return seriesWidths[i] }

// Series defaults and bounds.
const (
	// DefaultSeriesInterval is the interval of a query that gives none.
	DefaultSeriesInterval = SeriesHour
	// DefaultSeriesRange is how far before until a query without since
	// starts.
	DefaultSeriesRange = 24 * time.Hour
	// MaxSeriesBuckets bounds the buckets a range may span.
	MaxSeriesBuckets = 1000
)

// Neutral paths and filter names of a series query. The type, since and
// until are filters ("filter.type": JSON:API's filter[type], GraphQL's
// type argument); the interval is a parameter of its own.
const (
	SeriesFilterType  = "type"
	SeriesFilterSince = "since"
	SeriesFilterUntil = "until"
	PathInterval      = "interval"
)

// SeriesFields returns the payload numbers that a series of an event type
// reports, in the order documents show them: latitude and longitude for
// location, celsius for temperature, g for shock, percent for battery, and
// none for status (its payload is a boolean; its buckets carry the count
// only).
func SeriesFields(typ EventType) []string {
	var out []string
	for _, n := range payloadNumbers[typ] {
		out = append(out, n.key)
	}
	return out
}

// SeriesFilter is the filter of a series query as a client gives it,
// typed; nil fields take their defaults.
type SeriesFilter struct {
	// Type is the event type (required; see EventTypes).
	Type *string
	// Since keeps events that occurred at or after it (default: until
	// minus DefaultSeriesRange); Until those that occurred strictly
	// before it (default: now).
	Since *time.Time
	Until *time.Time
}

// SeriesQuery is a series request, each transport mapping its own syntax
// onto it field by field: JSON:API's filter[type], filter[since],
// filter[until] and interval; GraphQL's type, since, until and interval
// arguments.
type SeriesQuery struct {
	Filter SeriesFilter
	// Interval is the bucket width; "" means DefaultSeriesInterval.
	Interval SeriesInterval
}

// SeriesSpec is a checked series query as stores run it.
type SeriesSpec struct {
	// DeviceID confines the series to one device; GroupID, when DeviceID
	// is "", to the devices in a group.
	DeviceID string
	GroupID  string
	Type     EventType
	// Fields are the payload numbers to aggregate (SeriesFields of Type).
	Fields []string
	// Since and Until bound occurred_at: Since <= occurred_at < Until.
	Since, Until time.Time
	// Width is the bucket width, a whole number of seconds.
	Width time.Duration
}

// SeriesStats are the figures of one payload number in a bucket.
type SeriesStats struct {
	Field string
	Min   float64
	Max   float64
	Avg   float64
	// Last is the value of the bucket's newest event: the greatest
	// occurred_at, and among equal ones the greatest id.
	Last float64
}

// SeriesPoint is one bucket that holds at least one event.
type SeriesPoint struct {
	// Start is the bucket's first instant (UTC); the bucket ends one
	// interval later, exclusive.
	Start time.Time
	Count int
	// Stats has one entry per field of the spec, in its order.
	Stats []SeriesStats
}

// Stat returns the stats of a field, or nil when the point has none.
func (p *SeriesPoint) Stat(field string) *SeriesStats {
	for i := range p.Stats {
		if p.Stats[i].Field == field {
			return &p.Stats[i]
		}
	}
	return nil
}

// Series is the answer to a series query: what it asked, after defaults,
// and its buckets.
type Series struct {
	// SubjectID is the device's or the group's id.
	SubjectID string
	Type      EventType
	Interval  SeriesInterval
	Since     time.Time
	Until     time.Time
	// Points are the buckets that hold events, oldest first; empty
	// buckets are left out (a chart places points by their start).
	Points []*SeriesPoint
}

// SeriesStore computes series. Every method is confined to one customer.
type SeriesStore interface {
	// EventSeries returns, oldest first, the non-empty buckets of the
	// customer's events that spec selects.
	EventSeries(ctx context.Context, customerID string, spec SeriesSpec) ([]*SeriesPoint, error)
}

// SeriesService holds the rules for series: validation, the scopes table
// and the tenant of the principal in the context.
type SeriesService struct {
	Store   SeriesStore
	Devices DeviceStore
	Groups  DeviceGroupStore
	Now     func() time.Time
}

// ForDevice returns the series of a device's events. It needs events:read
// (a device token: events:read, on its own device only). EInvalid pointing
// at "filter.type" (missing or unknown type), "filter.until" (until not
// after since) or PathInterval (unknown interval, or more than
// MaxSeriesBuckets buckets); ENotFound for a device the principal cannot
// see; EUnauthenticated, EForbidden.
func (s *SeriesService) ForDevice(ctx context.Context, deviceID string, q SeriesQuery) (*Series, error) {
	p, err := authorize(ctx, scopes.OpEventsRead)
	if err != nil {
		return nil, err
	}
	if !ValidID(deviceID) || (p.Kind == scopes.KindDevice && deviceID != p.DeviceID) {
		return nil, errDeviceNotFound(deviceID)
	}
	spec, err := q.check(nowUTC(s.Now))
	if err != nil {
		return nil, err
	}
	if _, err := s.Devices.FindDevice(ctx, p.CustomerID, deviceID); err != nil {
		return nil, err
	}
	spec.DeviceID = deviceID
	return s.run(ctx, p.CustomerID, deviceID, q, spec)
}

// ForGroup returns the series of the events of the devices in a group,
// all devices' events in the same buckets. It needs groups:read and
// events:read, so device tokens (which read no groups) are EForbidden.
// ENotFound for another customer's group; otherwise as ForDevice.
func (s *SeriesService) ForGroup(ctx context.Context, groupID string, q SeriesQuery) (*Series, error) {
	if _, err := authorize(ctx, scopes.OpGroupsRead); err != nil {
		return nil, err
	}
	p, err := authorize(ctx, scopes.OpEventsRead)
	if err != nil {
		return nil, err
	}
	if !ValidID(groupID) {
		return nil, Errorf(ENotFound, "device group %q not found", groupID)
	}
	spec, err := q.check(nowUTC(s.Now))
	if err != nil {
		return nil, err
	}
	if _, err := s.Groups.FindDeviceGroup(ctx, p.CustomerID, groupID); err != nil {
		return nil, err
	}
	spec.GroupID = groupID
	return s.run(ctx, p.CustomerID, groupID, q, spec)
}

func (s *SeriesService) run(ctx context.Context, customerID, subjectID string, q SeriesQuery, spec SeriesSpec) (*Series, error) {
	points, err := s.Store.EventSeries(ctx, customerID, spec)
	if err != nil {
		return nil, err
	}
	interval := q.Interval
	if interval == "" {
		interval = DefaultSeriesInterval
	}
	return &Series{SubjectID: subjectID, Type: spec.Type, Interval: interval, Since: spec.Since, Until: spec.Until,
		Points: points}, nil
}

// check validates q and applies the defaults, with now the time of the
// request.
func (q SeriesQuery) check(now time.Time) (SeriesSpec, error) {
	var spec SeriesSpec
	f := q.Filter
	if f.Type != nil {
		if err := CheckText(filterPath(SeriesFilterType), *f.Type); err != nil {
			return spec, err
		}
	}
	types := strings.Join(Names(EventTypes()), ", ")
	switch {
	case f.Type == nil || strings.TrimSpace(*f.Type) == "":
		return spec, Invalidf(filterPath(SeriesFilterType), "a series needs an event type: one of %s", types)
	case !slices.Contains(EventTypes(), EventType(strings.TrimSpace(*f.Type))):
		return spec, Invalidf(filterPath(SeriesFilterType), "the event type must be one of %s", types)
	}
	spec.Type = EventType(strings.TrimSpace(*f.Type))
	spec.Fields = SeriesFields(spec.Type)
	interval := q.Interval
	if interval == "" {
		interval = DefaultSeriesInterval
	}
	spec.Width = interval.Width()
	if spec.Width == 0 {
		return spec, Invalidf(PathInterval, "the interval must be one of %s", strings.Join(Names(SeriesIntervals()), ", "))
	}
	spec.Until = now
	if f.Until != nil {
		spec.Until = f.Until.UTC().Truncate(time.Microsecond)
	}
	spec.Since = spec.Until.Add(-DefaultSeriesRange)
	if f.Since != nil {
		spec.Since = f.Since.UTC().Truncate(time.Microsecond)
	}
	if !spec.Since.Before(spec.Until) {
		return spec, Invalidf(filterPath(SeriesFilterUntil), "until must be after since")
	}
	if n := SeriesBuckets(spec.Since, spec.Until, spec.Width); n > MaxSeriesBuckets {
		return spec, Invalidf(PathInterval, "the range from since to until spans %d buckets of %s; at most %d are allowed: "+
			"choose a longer interval or a shorter range", n, interval, MaxSeriesBuckets)
	}
	return spec, nil
}

// SeriesBuckets returns how many buckets of width the range [since, until)
// touches, counting a partial first and last bucket (since < until).
func SeriesBuckets(since, until time.Time, width time.Duration) int64 {
	w := int64(width / time.Microsecond)
	first := floorDiv(since.UnixMicro(), w)
	last := floorDiv(until.UnixMicro()-1, w)
	return last - first + 1
}

// SeriesBucketStart returns the start of the bucket of width that holds t.
func SeriesBucketStart(t time.Time, width time.Duration) time.Time {
	w := int64(width / time.Microsecond)
	return time.UnixMicro(floorDiv(t.UnixMicro(), w) * w).UTC()
}

// floorDiv is a / b rounded down (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// SeriesPointID returns the id of a point in documents:
// SUBJECT:TYPE:INTERVAL:START, START in RFC 3339 UTC, unique for a
// subject's series of one type and interval.
func SeriesPointID(subjectID string, typ EventType, interval SeriesInterval, start time.Time) string {
	return subjectID + ":" + string(typ) + ":" + string(interval) + ":" + start.UTC().Format(time.RFC3339)
}

// String returns the interval as clients write it.
func (i SeriesInterval) String() string { return string(i) }

// WidthSeconds returns the bucket width in whole seconds.
func (spec SeriesSpec) WidthSeconds() int64 { return int64(spec.Width / time.Second) }
