package resource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// MaxBatchEvents bounds the events of one batch ingest.
const MaxBatchEvents = 1000

// EventService holds the rules for events: validation, idempotency, the
// scopes table and the tenant of the principal in the context.
type EventService struct {
	Store   EventStore
	Devices DeviceStore
	// Bus fans new events out to live streams; nil publishes nothing (and
	// Follow fails).
	Bus EventBus
	// Streams bounds the live streams each principal holds open (Follow);
	// nil means no bound.
	Streams *Caps
	// Connections, when set, adds the devices' MQTT connection states to
	// Stats (the reader of the device attributes).
	Connections *ConnectionReader
	Now         func() time.Time
}

// Ingest stores one event of a device and updates the device in the same
// transaction (last_event_at, position, fault, and the geofence events of a
// location event that crosses a geogroup's boundary, which are published
// with it). The principal must be an
// application with scope app, or a device token with events:write on this
// very device. With an idempotency key, a retry with the same body returns
// the event stored the first time, with replayed true, and stores nothing;
// EConflict when the key was used with another body. EInvalid pointing at
// "type", "occurred_at", "payload", "payload.KEY" or "idempotency_key";
// ENotFound, EUnauthenticated, EForbidden.
func (s *EventService) Ingest(ctx context.Context, deviceID string, in EventInput, idempotencyKey string) (e *Event, replayed bool, err error) {
	events, replayed, err := s.ingest(ctx, deviceID, []EventInput{in}, idempotencyKey, false)
	if err != nil {
		return nil, false, err
	}
	return events[0], replayed, nil
}

// IngestBatch stores several events of a device, all or nothing, in one
// transaction (for devices that buffered them offline), as Ingest does for
// one. An invalid item fails the whole batch with EInvalid whose Field is
// BatchField(i, field): "[3].payload.latitude" for the latitude of the
// fourth item. EInvalid pointing at "data" for an empty batch or one of
// more than MaxBatchEvents items; otherwise as Ingest.
func (s *EventService) IngestBatch(ctx context.Context, deviceID string, ins []EventInput, idempotencyKey string) (events []*Event, replayed bool, err error) {
	if len(ins) == 0 || len(ins) > MaxBatchEvents {
		if _, err := authorize(ctx, scopes.OpEventsIngest); err != nil {
			return nil, false, err
		}
		return nil, false, Invalidf("data", "a batch must hold 1 to %d events", MaxBatchEvents)
	}
	return s.ingest(ctx, deviceID, ins, idempotencyKey, true)
}

// BatchField returns the Field of an error about field of item i of a
// batch: "[i].field".
func BatchField(i int, field string) string {
	return "[" + strconv.Itoa(i) + "]." + field
}

// SplitBatchField splits a Field made by BatchField into the item index and
// the item's field; ok is false for any other field.
func SplitBatchField(f string) (i int, field string, ok bool) {
	rest, ok := strings.CutPrefix(f, "[")
	if !ok {
		return 0, "", false
	}
	num, field, ok := strings.Cut(rest, "].")
	if !ok {
		return 0, "", false
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 {
		return 0, "", false
	}
	return i, field, true
}

func (s *EventService) ingest(ctx context.Context, deviceID string, ins []EventInput, key string, batch bool) ([]*Event, bool, error) {
	p, err := authorize(ctx, scopes.OpEventsIngest)
	if err != nil {
		return nil, false, err
	}
	if !ValidID(deviceID) || (p.Kind == scopes.KindDevice && deviceID != p.DeviceID) {
		return nil, false, errDeviceNotFound(deviceID)
	}
	if err := validateIdempotencyKey(key); err != nil {
		return nil, false, err
	}
	now := nowUTC(s.Now)
	b := &EventBatch{CustomerID: p.CustomerID, DeviceID: deviceID, IdempotencyKey: key, Events: make([]*Event, len(ins))}
	payloads := make([]map[string]any, len(ins))
	for i, in := range ins {
		payload, err := validateEventInput(in, now)
		if err != nil {
			var re *Error
			if batch && errors.As(err, &re) {
				return nil, false, &Error{Code: re.Code, Message: fmt.Sprintf("event %d: %s", i, re.Message), Field: BatchField(i, re.Field)}
			}
			return nil, false, err
		}
		payloads[i] = payload
		occurred := in.OccurredAt.UTC().Truncate(time.Microsecond)
		if in.OccurredAt.IsZero() {
			occurred = now
		}
		b.Events[i] = &Event{CustomerID: p.CustomerID, DeviceID: deviceID, Type: in.Type,
			OccurredAt: occurred, ReceivedAt: now, Payload: payload}
	}
	if key != "" {
		b.RequestHash = requestHash(batch, ins, payloads)
	}
	events, replayed, err := s.Store.CreateEvents(ctx, b)
	if err != nil {
		if ErrorCode(err) == EConflict {
			return nil, false, &Error{Code: EConflict, Field: "idempotency_key",
				Message: "the idempotency key was used before with another request"}
		}
		// The store refuses an item by its batch field (an event older
		// than the retention): one event's field is the item's own.
		var re *Error
		if errors.As(err, &re) && re.Code == EInvalid {
			if i, field, ok := SplitBatchField(re.Field); ok {
				if !batch {
					return nil, false, &Error{Code: EInvalid, Field: field, Message: re.Message}
				}
				return nil, false, &Error{Code: EInvalid, Field: re.Field, Message: fmt.Sprintf("event %d: %s", i, re.Message)}
			}
		}
		return nil, false, err
	}
	if !replayed && s.Bus != nil {
		s.Bus.Publish(ctx, withDerived(events, b.Derived)...)
	}
	return events, replayed, nil
}

// withDerived returns the events of an ingest and those the store derived
// from them (geofence crossings) in id order, the device's order, which is
// the order live streams expect them in.
func withDerived(events, derived []*Event) []*Event {
	if len(derived) == 0 {
		return events
	}
	all := append(slices.Clone(events), derived...)
	slices.SortFunc(all, func(a, b *Event) int { return strings.Compare(a.ID, b.ID) })
	return all
}

// Find returns an event of the principal's customer (a device token finds
// only its own device's). ENotFound, EUnauthenticated, EForbidden.
func (s *EventService) Find(ctx context.Context, id string) (*Event, error) {
	p, err := authorize(ctx, scopes.OpEventsRead)
	if err != nil {
		return nil, err
	}
	notFound := Errorf(ENotFound, "event %q not found", id)
	if !ValidID(id) {
		return nil, notFound
	}
	e, err := s.Store.FindEvent(ctx, p.CustomerID, id)
	if err != nil {
		return nil, err
	}
	if p.Kind == scopes.KindDevice && e.DeviceID != p.DeviceID {
		return nil, notFound
	}
	return e, nil
}

// List returns a page of the principal's customer's events, newest first
// unless sorted otherwise. A device token sees only its own device's
// events. EInvalid for an unknown or malformed filter, sort or page;
// EUnauthenticated, EForbidden.
func (s *EventService) List(ctx context.Context, q ListQuery[EventListFilter]) (*EventList, error) {
	p, err := authorize(ctx, scopes.OpEventsRead)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, p, eventSpec, q, "")
}

// ListForDevice returns a page of one device's events (GET
// /devices/{id}/events). ENotFound for a device the principal cannot see;
// otherwise as List (the filter must not name devices).
func (s *EventService) ListForDevice(ctx context.Context, deviceID string, q ListQuery[EventListFilter]) (*EventList, error) {
	p, err := authorize(ctx, scopes.OpEventsRead)
	if err != nil {
		return nil, err
	}
	if _, err := s.findDevice(ctx, p, deviceID); err != nil {
		return nil, err
	}
	if q.Filter.Device != nil {
		return nil, Invalidf(filterPath(EventFilterDevice), "the events of a device cannot be filtered by device")
	}
	return s.list(ctx, p, deviceEventSpec, q, deviceID)
}

// list checks q against spec and runs it; deviceID, when set, confines the
// list to that device.
func (s *EventService) list(ctx context.Context, p *scopes.Principal, spec QuerySpec, q ListQuery[EventListFilter], deviceID string) (*EventList, error) {
	c, err := spec.check(q.Sort, q.Page, q.Include)
	if err != nil {
		return nil, err
	}
	f, err := q.Filter.Validate()
	if err != nil {
		return nil, err
	}
	if deviceID != "" {
		f.DeviceIDs = []string{deviceID}
	}
	if p.Kind == scopes.KindDevice {
		if len(f.DeviceIDs) > 0 && !slices.Contains(f.DeviceIDs, p.DeviceID) {
			return &EventList{Events: []*Event{}, Page: c.page}, nil
		}
		f.DeviceIDs = []string{p.DeviceID}
	}
	events, total, err := s.Store.ListEvents(ctx, p.CustomerID, EventQuery{Filter: f, Sort: c.sort, Offset: c.page.Offset(), Limit: c.page.Size})
	if err != nil {
		return nil, err
	}
	return &EventList{Events: events, Total: total, Page: c.page}, nil
}

// Stats returns a device's figures: its last event time, how many events
// occurred in the last 24 hours and in all, its last position and its
// fault. It reads device state, so it needs devices:read (a device token:
// device:read on its own device). ENotFound, EUnauthenticated, EForbidden.
func (s *EventService) Stats(ctx context.Context, deviceID string) (*DeviceStats, error) {
	p, err := authorize(ctx, scopes.OpDevicesRead)
	if err != nil {
		return nil, err
	}
	d, err := s.findDevice(ctx, p, deviceID)
	if err != nil {
		return nil, err
	}
	counts, err := s.Store.CountEvents(ctx, p.CustomerID, d.ID, nowUTC(s.Now).Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	st := &DeviceStats{
		DeviceID: d.ID, LastEventAt: d.LastEventAt, EventsLast24h: counts.Recent, TotalEvents: counts.Total,
		Latitude: d.Latitude, Longitude: d.Longitude, Fault: d.Fault,
	}
	if err := s.addConnections(ctx, p.CustomerID, []*DeviceStats{st}); err != nil {
		return nil, err
	}
	return st, nil
}

// addConnections adds the devices' MQTT connection states to their stats
// (nothing without a ConnectionReader, or for a device that never
// connected): the same read as the device attributes.
func (s *EventService) addConnections(ctx context.Context, customerID string, stats []*DeviceStats) error {
	if len(stats) == 0 {
		return nil
	}
	ids := make([]string, len(stats))
	for i, st := range stats {
		ids[i] = st.DeviceID
	}
	cs, err := s.Connections.States(ctx, customerID, ids)
	if err != nil {
		return err
	}
	for _, st := range stats {
		c := cs[st.DeviceID]
		if c == nil {
			continue
		}
		st.Connected, st.ConnectedAt, st.DisconnectedAt = c.Connected, c.ConnectedAt, c.DisconnectedAt
		st.RxBytes, st.TxBytes = int(c.RxBytes), int(c.TxBytes)
		if c.RemoteAddress != "" {
			st.RemoteAddress = &c.RemoteAddress
		}
		st.LastSeenAt = LastSeenAt(st.LastEventAt, c.LastPacketAt)
	}
	for _, st := range stats {
		if st.LastSeenAt == nil {
			st.LastSeenAt = st.LastEventAt
		}
	}
	return nil
}

// findDevice returns a device the principal may see (a device token: only
// its own), or ENotFound.
func (s *EventService) findDevice(ctx context.Context, p *scopes.Principal, id string) (*Device, error) {
	if !ValidID(id) || (p.Kind == scopes.KindDevice && id != p.DeviceID) {
		return nil, errDeviceNotFound(id)
	}
	return s.Devices.FindDevice(ctx, p.CustomerID, id)
}
