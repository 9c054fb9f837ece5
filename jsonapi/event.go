package jsonapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/metrics"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// Resource types of events, device statistics and device tokens.
const (
	typeEvents       = "events"
	typeDeviceStats  = "device-stats"
	typeDeviceTokens = "device-tokens"
)

// IdempotencyKeyHeader carries the idempotency key of an event post; a
// replayed answer carries ReplayedHeader: true.
const (
	IdempotencyKeyHeader = "Idempotency-Key"
	ReplayedHeader       = "Idempotent-Replayed"
)

// eventPresenter is an event as an events resource object. The event type
// is the attribute event_type: JSON:API reserves the member name "type".
type eventPresenter struct {
	ID         string           `jsonapi:"primary,events"`
	EventType  string           `jsonapi:"attr,event_type"`
	OccurredAt string           `jsonapi:"attr,occurred_at"`
	ReceivedAt string           `jsonapi:"attr,received_at"`
	Payload    map[string]any   `jsonapi:"attr,payload"`
	Device     *devicePresenter `jsonapi:"relation,device"`
	base       string
}

// JSONAPILinks implements jsonapi.Linkable.
func (p *eventPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/events/" + p.ID}
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable: the
// device is linkage with a related link.
func (p *eventPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links {
	return &jsonapi.Links{"related": p.base + "/devices/" + p.Device.ID}
}

func (a *API) presentEvent(e *resource.Event) *eventPresenter {
	return &eventPresenter{ID: e.ID, EventType: string(e.Type), OccurredAt: timeString(e.OccurredAt), ReceivedAt: timeString(e.ReceivedAt),
		Payload: e.Payload, Device: &devicePresenter{ID: e.DeviceID, base: a.base}, base: a.base}
}

// deviceStatsPresenter is GET /devices/{id}/stats: a device-stats
// resource object whose id is the device's.
type deviceStatsPresenter struct {
	ID             string           `jsonapi:"primary,device-stats"`
	LastEventAt    *string          `jsonapi:"attr,last_event_at"`
	EventsLast24h  int              `jsonapi:"attr,events_last_24h"`
	TotalEvents    int              `jsonapi:"attr,total_events"`
	Latitude       *float64         `jsonapi:"attr,latitude"`
	Longitude      *float64         `jsonapi:"attr,longitude"`
	Fault          bool             `jsonapi:"attr,fault"`
	Connected      bool             `jsonapi:"attr,connected"`
	ConnectedAt    *string          `jsonapi:"attr,connected_at"`
	DisconnectedAt *string          `jsonapi:"attr,disconnected_at"`
	RemoteAddress  *string          `jsonapi:"attr,remote_address"`
	RxBytes        int              `jsonapi:"attr,rx_bytes"`
	TxBytes        int              `jsonapi:"attr,tx_bytes"`
	LastSeenAt     *string          `jsonapi:"attr,last_seen_at"`
	Device         *devicePresenter `jsonapi:"relation,device"`
	base           string
}

// JSONAPILinks implements jsonapi.Linkable.
func (p *deviceStatsPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/devices/" + p.ID + "/stats"}
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable.
func (p *deviceStatsPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links {
	return &jsonapi.Links{"related": p.base + "/devices/" + p.ID}
}

func (a *API) eventRoutes() []*route {
	read := []scopes.Operation{scopes.OpEventsRead}
	return []*route{
		{method: "GET", path: "/events", ops: read, h: a.listEvents},
		{method: "GET", path: "/events/{id}", ops: read, h: a.getEvent},
		{method: "GET", path: "/devices/{id}/events", ops: read, h: a.listDeviceEvents},
		{method: "POST", path: "/devices/{id}/events", ops: []scopes.Operation{scopes.OpEventsIngest}, body: true,
			pointer: eventPointer, h: a.postEvents},
		{method: "GET", path: "/devices/{id}/stats", ops: []scopes.Operation{scopes.OpDevicesRead}, h: a.getDeviceStats},
	}
}

// eventPointer maps the fields of ingest errors into the request document:
// "payload.latitude" to /data/attributes/payload/latitude, the batch field
// "[3].payload.latitude" to /data/3/attributes/payload/latitude, "type" to
// the event_type attribute and "data" to /data.
func eventPointer(field string) (string, bool) {
	prefix := "/data"
	if i, rest, ok := resource.SplitBatchField(field); ok {
		prefix, field = prefix+"/"+strconv.Itoa(i), rest
	}
	switch {
	case field == "data":
		return "/data", true
	case field == "type":
		field = "event_type"
	case field == "" || field == "idempotency_key":
		return "", false
	}
	parts := strings.Split(field, ".")
	for i, p := range parts {
		parts[i] = escapePointer(p)
	}
	return prefix + "/attributes/" + strings.Join(parts, "/"), true
}

func (a *API) writeEvents(w http.ResponseWriter, r *http.Request, q resource.Query, list *resource.EventList) error {
	ps := make([]presenter, len(list.Events))
	for i, e := range list.Events {
		ps[i] = a.presentEvent(e)
	}
	return a.writeMany(w, r, q, ps, nil, list.Page, list.Total)
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(a, r.URL.RawQuery, eventFilters)
	if err != nil {
		return err
	}
	list, err := a.deps.Events.List(r.Context(), q)
	if err != nil {
		return err
	}
	return a.writeEvents(w, r, q.Query(), list)
}

func (a *API) listDeviceEvents(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(a, r.URL.RawQuery, deviceEventFilters)
	if err != nil {
		return err
	}
	list, err := a.deps.Events.ListForDevice(r.Context(), r.PathValue("id"), q)
	if err != nil {
		return err
	}
	return a.writeEvents(w, r, q.Query(), list)
}

func (a *API) getEvent(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	e, err := a.deps.Events.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeOne(w, r, http.StatusOK, q, a.presentEvent(e), nil)
}

func (a *API) getDeviceStats(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	st, err := a.deps.Events.Stats(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	p := &deviceStatsPresenter{ID: st.DeviceID, LastEventAt: optTime(st.LastEventAt), EventsLast24h: st.EventsLast24h,
		TotalEvents: st.TotalEvents, Latitude: st.Latitude, Longitude: st.Longitude, Fault: st.Fault,
		Connected: st.Connected, ConnectedAt: optTime(st.ConnectedAt), DisconnectedAt: optTime(st.DisconnectedAt),
		RemoteAddress: st.RemoteAddress, RxBytes: st.RxBytes, TxBytes: st.TxBytes, LastSeenAt: optTime(st.LastSeenAt),
		Device: &devicePresenter{ID: st.DeviceID, base: a.base}, base: a.base}
	return a.writeOne(w, r, http.StatusOK, q, p, nil)
}

// postEvents ingests one event (primary data is a resource object) or a
// batch (primary data is an array of them, stored all or nothing). The
// answer is 201 with the event or the events, also for a replay of the
// same request under the same Idempotency-Key (which then carries
// Idempotent-Replayed: true); another request under a used key is 409.
func (a *API) postEvents(w http.ResponseWriter, r *http.Request) error {
	err := a.ingestEvents(w, r)
	if err != nil {
		a.deps.Metrics.EventsIngested(metrics.TransportJSONAPI, metrics.IngestRejected, 1)
	}
	return err
}

// ingestEvents is postEvents without its count of refused requests.
func (a *API) ingestEvents(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	data, err := readDocument(r)
	if err != nil {
		return err
	}
	deviceID := r.PathValue("id")
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '[' {
		var items []json.RawMessage
		if err := strictUnmarshal(data, &items); err != nil {
			return badBody("/data", "primary data must be a resource object or an array of them")
		}
		ins := make([]resource.EventInput, len(items))
		for i, raw := range items {
			if ins[i], err = readEventObject(raw, "/data/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		events, replayed, err := a.deps.Events.IngestBatch(r.Context(), deviceID, ins, key)
		if err != nil {
			return keyConflict(err)
		}
		return a.writeIngested(w, r, q, events, replayed, true)
	}
	in, err := readEventObject(data, "/data")
	if err != nil {
		return err
	}
	e, replayed, err := a.deps.Events.Ingest(r.Context(), deviceID, in, key)
	if err != nil {
		return keyConflict(err)
	}
	return a.writeIngested(w, r, q, []*resource.Event{e}, replayed, false)
}

// writeIngested writes the 201 answer of an ingest.
func (a *API) writeIngested(w http.ResponseWriter, r *http.Request, q resource.Query, events []*resource.Event, replayed, batch bool) error {
	outcome := metrics.IngestAccepted
	if replayed {
		w.Header().Set(ReplayedHeader, "true")
		outcome = metrics.IngestReplayed
	}
	a.deps.Metrics.EventsIngested(metrics.TransportJSONAPI, outcome, len(events))
	if !batch {
		return a.writeCreated(w, r, q, a.presentEvent(events[0]), nil)
	}
	ps := make([]presenter, len(events))
	for i, e := range events {
		ps[i] = a.presentEvent(e)
	}
	return a.writeAll(w, r, http.StatusCreated, q, ps)
}

// idempotencyKey reads the Idempotency-Key header: absent, or 1 to 255
// printable ASCII characters (400 pointing at the header otherwise).
func idempotencyKey(r *http.Request) (string, error) {
	values := r.Header.Values(IdempotencyKeyHeader)
	switch {
	case len(values) == 0:
		return "", nil
	case len(values) > 1:
		return "", &apiError{Status: http.StatusBadRequest, Code: resource.EInvalid, Header: IdempotencyKeyHeader,
			Detail: "send one Idempotency-Key header"}
	}
	key := values[0]
	ok := key != "" && len(key) <= resource.MaxIdempotencyKeyLen
	for _, c := range []byte(key) {
		ok = ok && c > 0x20 && c < 0x7f
	}
	if !ok {
		return "", &apiError{Status: http.StatusBadRequest, Code: resource.EInvalid, Header: IdempotencyKeyHeader,
			Detail: "the Idempotency-Key must be 1 to " + strconv.Itoa(resource.MaxIdempotencyKeyLen) + " printable ASCII characters"}
	}
	return key, nil
}

// keyConflict points a conflict over the idempotency key at its header.
func keyConflict(err error) error {
	if resource.ErrorCode(err) == resource.EConflict && resource.ErrorField(err) == "idempotency_key" {
		return &apiError{Status: http.StatusConflict, Code: resource.EConflict, Header: IdempotencyKeyHeader,
			Detail: resource.ErrorMessage(err)}
	}
	return err
}

// eventAttributes are the members of an event object's attributes.
var eventAttributes = []string{"event_type", "occurred_at", "payload"}

// readEventObject reads one events resource object at pointer: type
// "events" (409 otherwise), no id (client-generated ids are 403), and
// attributes event_type, occurred_at (RFC 3339, optional) and payload (an
// object). Anything malformed is 400 with a pointer; what the payload
// means is the service's check (422).
func readEventObject(raw json.RawMessage, pointer string) (resource.EventInput, error) {
	var in resource.EventInput
	m, err := decodeObject(raw, pointer, "an event")
	if err != nil {
		return in, err
	}
	for _, k := range sortedKeys(m) {
		switch k {
		case "type", "attributes", "meta":
		case "id":
			return in, &apiError{Status: http.StatusForbidden, Code: resource.EForbidden, Pointer: ptrTo(pointer + "/id"),
				Detail: "client-generated ids are not supported"}
		default:
			return in, badBody(pointer+"/"+escapePointer(k), "an event may not have a member "+strconv.Quote(k))
		}
	}
	if err := checkType(m["type"], pointer+"/type", typeEvents); err != nil {
		return in, err
	}
	rawAttrs, ok := m["attributes"]
	if !ok {
		return in, badBody(pointer+"/attributes", "an event must have attributes")
	}
	attrs, err := decodeObject(rawAttrs, pointer+"/attributes", "attributes")
	if err != nil {
		return in, err
	}
	at := func(k string) string { return pointer + "/attributes/" + escapePointer(k) }
	for _, k := range sortedKeys(attrs) {
		if !slices.Contains(eventAttributes, k) {
			return in, badBody(at(k), "events have no attribute "+strconv.Quote(k))
		}
	}
	if err := strictUnmarshal(attrs["event_type"], &in.Type); err != nil || in.Type == "" {
		return in, badBody(at("event_type"), "event_type must be one of "+strings.Join(resource.Names(resource.IngestEventTypes()), ", "))
	}
	if rawTime, ok := attrs["occurred_at"]; ok && string(bytes.TrimSpace(rawTime)) != "null" {
		var s string
		if err := strictUnmarshal(rawTime, &s); err != nil {
			return in, badBody(at("occurred_at"), "occurred_at must be an RFC 3339 time")
		}
		if in.OccurredAt, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return in, badBody(at("occurred_at"), "occurred_at must be an RFC 3339 time")
		}
	}
	rawPayload, ok := attrs["payload"]
	if !ok {
		return in, badBody(at("payload"), "payload is required")
	}
	if err := strictUnmarshal(rawPayload, &in.Payload); err != nil || in.Payload == nil {
		return in, badBody(at("payload"), "payload must be an object")
	}
	return in, nil
}
