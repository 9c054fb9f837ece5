package resource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// EventType is what an event reports; each type has its own payload (see
// ValidatePayload). Its value is the one the APIs and the database show.
type EventType string

// Event types.
const (
	EventLocation    EventType = "location"
	EventTemperature EventType = "temperature"
	EventShock       EventType = "shock"
	EventBattery     EventType = "battery"
	EventStatus      EventType = "status"
	// EventGeofence is a crossing of a geogroup's boundary: assetgate
	// produces it from a location event (see storage's geofence.go); no
	// client may post one.
	EventGeofence EventType = "geofence"
)

// EventTypes returns the event types, in the order documents show them:
// the types devices post, then geofence.
func EventTypes() []EventType {
	return append(IngestEventTypes(), EventGeofence)
}

// IngestEventTypes returns the event types a device or an application may
// post, in the order documents show them.
func IngestEventTypes() []EventType {
	return []EventType{EventLocation, EventTemperature, EventShock, EventBattery, EventStatus}
}

// Event is one report of a device. Its id is a UUIDv7 assigned at ingest;
// the ids of one device's events grow in the order their ingests committed,
// so "the events after id X" is a complete, duplicate-free resume point for
// a live stream.
type Event struct {
	ID         string
	CustomerID string
	DeviceID   string
	Type       EventType
	// OccurredAt is when the device observed the event (UTC).
	OccurredAt time.Time
	// ReceivedAt is when assetgate stored it (UTC).
	ReceivedAt time.Time
	// Payload holds the type's values after validation: float64 numbers
	// and the bool of status.fault, under the keys of ValidatePayload.
	Payload map[string]any
	// PrevID is the id of the device's event stored just before this one
	// ("" for its first). It is set on events returned by ingest and on
	// published events, not on events read back from a store: live streams
	// use it to notice an event they have not seen.
	PrevID string
	// Connection is set on the live-only items of a stream that are not
	// events but a connect or disconnect of the device's MQTT session
	// (Type EventConnection): never stored, not part of the device's id
	// chain, and without an id a stream resumes from.
	Connection *ConnectionChange
}

// EventConnection is the Type of the connection items of live streams
// (Event.Connection); no event of a store has it.
const EventConnection EventType = "connection"

// ConnectionChange is a connect or disconnect of a device's MQTT session,
// as live streams show it.
type ConnectionChange struct {
	Connected bool
	// Reason is why a session ended: client, takeover, revoked, timeout or
	// shutdown ("" on connect). A takeover's disconnect may come after the
	// connect of the session that took over.
	Reason string
	// RemoteAddress is HOST:PORT of the session.
	RemoteAddress string
}

// Payload keys, and the ranges they must lie in (bounds included).
const (
	PayloadLatitude  = "latitude"  // location: degrees, -90..90
	PayloadLongitude = "longitude" // location: degrees, -180..180
	PayloadCelsius   = "celsius"   // temperature: °C, MinCelsius..MaxCelsius
	PayloadG         = "g"         // shock: acceleration in g, 0..MaxShockG
	PayloadPercent   = "percent"   // battery: charge in percent, 0..100
	PayloadFault     = "fault"     // status: boolean
	// geofence: "entered" or "left" (GeofenceEntered, GeofenceLeft), and
	// the id of the geogroup crossed.
	PayloadTransition = "transition"
	PayloadGeogroupID = "geogroup_id"
)

// The transitions of a geofence event.
const (
	GeofenceEntered = "entered"
	GeofenceLeft    = "left"
)

// NewGeofenceEvent returns the geofence event that a location event loc
// produces when its device enters or leaves a geogroup: same customer,
// device, occurrence and receipt times; the store gives it its id.
func NewGeofenceEvent(loc *Event, transition, geogroupID string) *Event {
	return &Event{CustomerID: loc.CustomerID, DeviceID: loc.DeviceID, Type: EventGeofence,
		OccurredAt: loc.OccurredAt, ReceivedAt: loc.ReceivedAt,
		Payload: map[string]any{PayloadTransition: transition, PayloadGeogroupID: geogroupID}}
}

// Payload ranges.
const (
	MinCelsius = -50.0
	MaxCelsius = 150.0
	MaxShockG  = 200.0
)

// numberRange is a required number of a payload and its bounds.
type numberRange struct {
	key      string
	min, max float64
}

// payloadNumbers lists, per event type, the numbers its payload requires.
// status holds a boolean instead (see ValidatePayload).
var payloadNumbers = map[EventType][]numberRange{
	EventLocation:    {{PayloadLatitude, -90, 90}, {PayloadLongitude, -180, 180}},
	EventTemperature: {{PayloadCelsius, MinCelsius, MaxCelsius}},
	EventShock:       {{PayloadG, 0, MaxShockG}},
	EventBattery:     {{PayloadPercent, 0, 100}},
}

// ValidatePayload checks the payload of an event of type typ and returns it
// normalised (numbers as float64). The payloads are:
//
//	location     {"latitude": -90..90, "longitude": -180..180}
//	temperature  {"celsius": -50..150}
//	shock        {"g": 0..200}
//	battery      {"percent": 0..100}
//	status       {"fault": true|false}
//
// Every key is required and no other key is allowed. Numbers may be
// float64, any Go integer, or json.Number. EInvalid pointing at "type" for
// an unknown type or geofence (which only assetgate produces), at
// "payload" for a missing payload, and at "payload.KEY" for a missing,
// unknown, mistyped or out-of-range value.
func ValidatePayload(typ EventType, payload map[string]any) (map[string]any, error) {
	if typ == EventGeofence {
		return nil, Invalidf("type", "geofence events are produced by assetgate when a location event crosses a geogroup's boundary; they cannot be posted")
	}
	nums, isNumeric := payloadNumbers[typ]
	if !isNumeric && typ != EventStatus {
		return nil, Invalidf("type", "type must be one of %s", strings.Join(Names(IngestEventTypes()), ", "))
	}
	if payload == nil {
		return nil, Invalidf("payload", "payload is required")
	}
	out := make(map[string]any, len(payload))
	known := map[string]bool{}
	if typ == EventStatus {
		known[PayloadFault] = true
		v, ok := payload[PayloadFault]
		if !ok {
			return nil, Invalidf("payload."+PayloadFault, "payload.%s is required for %s events", PayloadFault, typ)
		}
		b, ok := v.(bool)
		if !ok {
			return nil, Invalidf("payload."+PayloadFault, "payload.%s must be a boolean", PayloadFault)
		}
		out[PayloadFault] = b
	}
	for _, n := range nums {
		known[n.key] = true
		field := "payload." + n.key
		v, ok := payload[n.key]
		if !ok {
			return nil, Invalidf(field, "%s is required for %s events", field, typ)
		}
		x, ok := payloadNumber(v)
		if !ok {
			return nil, Invalidf(field, "%s must be a number", field)
		}
		if x < n.min || x > n.max {
			return nil, Invalidf(field, "%s must be between %g and %g", field, n.min, n.max)
		}
		out[n.key] = x
	}
	for _, k := range slices.Sorted(maps.Keys(payload)) {
		if !known[k] {
			return nil, Invalidf("payload."+k, "%s events have no payload member %q", typ, k)
		}
	}
	return out, nil
}

// payloadNumber returns v as a finite float64.
func payloadNumber(v any) (float64, bool) {
	var x float64
	switch n := v.(type) {
	case float64:
		x = n
	case float32:
		x = float64(n)
	case int:
		x = float64(n)
	case int32:
		x = float64(n)
	case int64:
		x = float64(n)
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return 0, false
		}
		x = f
	default:
		return 0, false
	}
	return x, x == x && x-x == 0 // not NaN, not ±Inf
}

// EventInput is one event as a device or an application posts it.
type EventInput struct {
	Type EventType
	// OccurredAt is when the device observed the event; zero means "now"
	// (the time of ingest).
	OccurredAt time.Time
	Payload    map[string]any
}

// maxFutureSkew is how far in the future an event's occurred_at may lie
// (device clocks drift).
const maxFutureSkew = 5 * time.Minute

// validateEventInput checks in and returns the normalised payload.
// EInvalid pointing at "type", "occurred_at", "payload" or "payload.KEY".
func validateEventInput(in EventInput, now time.Time) (map[string]any, error) {
	payload, err := ValidatePayload(in.Type, in.Payload)
	if err != nil {
		return nil, err
	}
	if !in.OccurredAt.IsZero() {
		if in.OccurredAt.After(now.Add(maxFutureSkew)) {
			return nil, Invalidf("occurred_at", "occurred_at must not be more than %s in the future", maxFutureSkew)
		}
		if in.OccurredAt.Year() < 2000 {
			return nil, Invalidf("occurred_at", "occurred_at must not be before the year 2000")
		}
	}
	return payload, nil
}

// requestHash returns the SHA-256 (hex) of a normalised ingest request, the
// body an idempotency key is bound to: what the client sent (the type, the
// occurred_at it gave, if any, and the payload), not the defaults ingest
// filled in. batch distinguishes a batch of one from a single event.
func requestHash(batch bool, ins []EventInput, payloads []map[string]any) string {
	type item struct {
		Type       string         `json:"t"`
		OccurredAt string         `json:"o,omitempty"`
		Payload    map[string]any `json:"p"`
	}
	items := make([]item, len(ins))
	for i, in := range ins {
		items[i] = item{Type: string(in.Type), Payload: payloads[i]}
		if !in.OccurredAt.IsZero() {
			items[i].OccurredAt = in.OccurredAt.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
		}
	}
	b, err := json.Marshal(struct {
		Batch bool   `json:"b"`
		Items []item `json:"i"`
	}{batch, items}) // map keys are sorted: the encoding is canonical
	if err != nil {
		panic(fmt.Sprintf("resource: hash ingest request: %v", err)) // payloads hold floats and bools only
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// MaxIdempotencyKeyLen bounds idempotency keys.
const MaxIdempotencyKeyLen = 255

// validateIdempotencyKey checks that key is empty or 1 to 255 printable
// ASCII characters; EInvalid pointing at "idempotency_key".
func validateIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKeyLen {
		return Invalidf("idempotency_key", "the idempotency key must be at most %d characters", MaxIdempotencyKeyLen)
	}
	for _, c := range []byte(key) {
		if c < 0x21 || c > 0x7e {
			return Invalidf("idempotency_key", "the idempotency key must be printable ASCII without spaces")
		}
	}
	return nil
}

// EventBatch is what an EventStore writes in one transaction: events of
// one device, and the idempotency key they were posted with.
type EventBatch struct {
	CustomerID string
	DeviceID   string
	// Events have everything but ID and PrevID, which the store assigns.
	Events []*Event
	// Derived is set by the store: the events it produced from Events in
	// the same transaction (geofence crossings), with their ids and
	// PrevIDs; their ids interleave with those of Events (each follows the
	// location event that made it). Empty for a replay.
	Derived []*Event
	// IdempotencyKey is "" for none. With a key, the store stores it on
	// the first event and KEY#i on event i > 0, each with RequestHash.
	IdempotencyKey string
	RequestHash    string
}

// EventFilter is a checked event filter as stores apply it; zero fields do
// not filter.
type EventFilter struct {
	// DeviceIDs keeps the events of these devices.
	DeviceIDs []string
	// Types keeps the events of these types.
	Types []EventType
	// Since keeps events that occurred at or after it; Until those that
	// occurred strictly before it.
	Since *time.Time
	Until *time.Time
}

// EventQuery is a checked event list query as a store runs it. Sort holds
// occurred_at only; the store adds the id as the last key.
type EventQuery struct {
	Filter EventFilter
	Sort   []SortField
	Offset int
	Limit  int
}

// EventCounts are the event figures of one device.
type EventCounts struct {
	Total int
	// Recent counts the events that occurred at or after the since time
	// given to the store.
	Recent int
}

// EventStore persists events. Every method is confined to one customer.
type EventStore interface {
	// CreateEvents stores the events of a batch, all or nothing, in one
	// transaction that also updates their device: last_event_at becomes
	// the latest occurred_at if later, the position that of the latest
	// location event and fault that of the latest status event, each only
	// when the device has no later event of that type. It assigns ids
	// (UUIDv7, each greater than every id the device had, in commit
	// order) and PrevID. With an idempotency key that the device used
	// before, it stores nothing and returns the events stored then, with
	// replayed true, when their request hash is the batch's; EConflict
	// when it differs (or the key was used for another number of events).
	// ENotFound when the device is not the customer's.
	//
	// A location event that becomes the device's position (none later by
	// occurred_at) and moves it into or out of a geogroup of its customer
	// adds a geofence event (NewGeofenceEvent) per geogroup crossed, in
	// the same transaction, with the next ids after it; they are put in
	// b.Derived. The device's memberships are kept by the store, in that
	// transaction too, so each crossing yields exactly one event.
	CreateEvents(ctx context.Context, b *EventBatch) (events []*Event, replayed bool, err error)
	// FindEvent returns an event of the customer, or ENotFound.
	FindEvent(ctx context.Context, customerID, id string) (*Event, error)
	// ListEvents returns the page of the customer's events that q selects
	// and how many match in all.
	ListEvents(ctx context.Context, customerID string, q EventQuery) ([]*Event, int, error)
	// EventsAfter returns, by id, up to limit events of a device of the
	// customer whose id is greater than afterID ("" for all).
	EventsAfter(ctx context.Context, customerID, deviceID, afterID string, limit int) ([]*Event, error)
	// LastEventID returns the greatest event id of a device of the
	// customer, or "" when it has none.
	LastEventID(ctx context.Context, customerID, deviceID string) (string, error)
	// CustomerEventsAfter returns, by id, up to limit events of any
	// device of the customer whose id is greater than afterID ("" for
	// all).
	CustomerEventsAfter(ctx context.Context, customerID, afterID string, limit int) ([]*Event, error)
	// LastCustomerEventID returns the greatest event id of the customer,
	// or "" when it has none.
	LastCustomerEventID(ctx context.Context, customerID string) (string, error)
	// CountEvents returns how many events a device of the customer has, in
	// all and since the given time.
	CountEvents(ctx context.Context, customerID, deviceID string, since time.Time) (*EventCounts, error)
	// DeviceStatsMany returns, in one read, the stats of the customer's
	// devices among deviceIDs, as Stats makes them from FindDevice and
	// CountEvents with since; ids of other devices are left out.
	DeviceStatsMany(ctx context.Context, customerID string, deviceIDs []string, since time.Time) ([]*DeviceStats, error)
}

// Event filter names and sort fields, as JSON:API clients write them in
// filter[NAME] and sort.
const (
	EventFilterDevice = "device"
	EventFilterType   = "type"
	EventFilterSince  = "since"
	EventFilterUntil  = "until"
)

// EventSortOccurredAt is the sort field of event lists.
const EventSortOccurredAt = "occurred_at"

var eventSpec = QuerySpec{
	Filters:     []string{EventFilterDevice, EventFilterType, EventFilterSince, EventFilterUntil},
	Sorts:       []string{EventSortOccurredAt},
	DefaultSort: []SortField{{Field: EventSortOccurredAt, Desc: true}},
}

// deviceEventSpec is eventSpec without the device filter, for the events of
// one device.
var deviceEventSpec = QuerySpec{
	Filters:     []string{EventFilterType, EventFilterSince, EventFilterUntil},
	Sorts:       eventSpec.Sorts,
	DefaultSort: eventSpec.DefaultSort,
}

// EventQuerySpec returns the filters and sorts that GET /events accepts.
func EventQuerySpec() QuerySpec { return eventSpec.clone() }

// DeviceEventQuerySpec returns the filters and sorts that the events list of
// one device accepts.
func DeviceEventQuerySpec() QuerySpec { return deviceEventSpec.clone() }

// EventList is a page of events.
type EventList struct {
	Events []*Event
	// Total is how many events match in all (meta.total).
	Total int
	Page  Page
}

// DeviceStats sums up a device's state and events (GET
// /devices/{id}/stats).
type DeviceStats struct {
	DeviceID string
	// LastEventAt is when the device's latest event occurred; nil before
	// its first.
	LastEventAt *time.Time
	// EventsLast24h counts the events that occurred in the 24 hours before
	// the request.
	EventsLast24h int
	TotalEvents   int
	// Latitude and Longitude are the device's last known position (both
	// nil when unknown).
	Latitude  *float64
	Longitude *float64
	Fault     bool
	// The MQTT connection (Thinger.io's device stats): whether the device
	// is connected, since when, from where, and the bytes of the session;
	// zero values for a device that never connected.
	Connected      bool
	ConnectedAt    *time.Time
	DisconnectedAt *time.Time
	RemoteAddress  *string
	RxBytes        int
	TxBytes        int
	// LastSeenAt is the later of LastEventAt and the last MQTT packet (the
	// device attribute last_seen_at); nil when there is neither.
	LastSeenAt *time.Time
}

// EventListFilter is the filter of an event list as a client gives it,
// typed; nil fields do not filter.
type EventListFilter struct {
	// Device keeps the events of these devices (1 to MaxPageSize ids).
	Device []string
	// Type keeps the events of these types (see EventTypes).
	Type []string
	// Since keeps events that occurred at or after it; Until those that
	// occurred strictly before it.
	Since *time.Time
	Until *time.Time
}

// Validate checks f and returns it as stores apply it. EInvalid pointing
// at the filter's path ("filter.until").
func (f EventListFilter) Validate() (EventFilter, error) {
	var out EventFilter
	if err := checkListFilter(EventFilterDevice, f.Device); err != nil {
		return out, err
	}
	if err := checkListFilter(EventFilterType, f.Type); err != nil {
		return out, err
	}
	if f.Device != nil {
		ids := cleanList(f.Device)
		if len(ids) == 0 || len(ids) > MaxPageSize {
			return out, Invalidf(filterPath(EventFilterDevice), "filter[device] must list 1 to %d device ids", MaxPageSize)
		}
		for _, id := range ids {
			if !ValidID(id) {
				return out, Invalidf(filterPath(EventFilterDevice), "filter[device] must list device ids")
			}
		}
		out.DeviceIDs = ids
	}
	if f.Type != nil {
		types := cleanList(f.Type)
		if len(types) == 0 {
			return out, Invalidf(filterPath(EventFilterType), "filter[type] must list event types")
		}
		for _, t := range types {
			if !slices.Contains(EventTypes(), EventType(t)) {
				return out, Invalidf(filterPath(EventFilterType), "filter[type] must list event types: %s", strings.Join(Names(EventTypes()), ", "))
			}
		}
		out.Types = ValuesOf[EventType](types)
	}
	for _, t := range []struct {
		v   *time.Time
		dst **time.Time
	}{{f.Since, &out.Since}, {f.Until, &out.Until}} {
		if t.v != nil {
			u := t.v.UTC()
			*t.dst = &u
		}
	}
	if out.Since != nil && out.Until != nil && !out.Since.Before(*out.Until) {
		return out, Invalidf(filterPath(EventFilterUntil), "filter[until] must be after filter[since]")
	}
	return out, nil
}
