package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// IdempotencyProperty is the MQTT 5 user property that carries an
// idempotency key; a message field "idempotency_key" does the same on
// 3.1.1.
const IdempotencyProperty = "idempotency-key"

// ingestTimeout bounds the ingest of one message.
const ingestTimeout = 10 * time.Second

// ingestError is a refused message: what the device is told on
// devices/{id}/errors, and the MQTT 5 reason code of its PUBACK.
type ingestError struct {
	code    packets.Code
	Code    string `json:"code"`
	Detail  string `json:"detail"`
	Pointer string `json:"pointer,omitempty"`
}

// errorMessage is what is published on devices/{id}/errors for a refused
// message.
type errorMessage struct {
	Topic          string         `json:"topic"`
	PacketID       uint16         `json:"packet_id,omitempty"`
	IdempotencyKey string         `json:"idempotency_key,omitempty"`
	Errors         []*ingestError `json:"errors"`
}

// ingest stores the events of a message published on devices/{id}/events
// through the event service. The broker acknowledges a QoS 1 message once
// ingest returns nil, so only after the commit. A refused message is never
// stored: an MQTT 5 publisher gets a PUBACK with the reason code, and every
// publisher an error message on devices/{id}/errors.
func (b *Broker) ingest(s *session, pk packets.Packet) error {
	key := userProperty(pk, IdempotencyProperty)
	ins, fieldKey, batch, ierr := decodeEvents(pk.Payload)
	if ierr == nil {
		if key == "" {
			key = fieldKey
		}
		ctx, cancel := context.WithTimeout(scopes.NewContext(context.Background(), s.principal), ingestTimeout)
		defer cancel()
		var err error
		if batch {
			_, _, err = b.deps.Events.IngestBatch(ctx, s.deviceID(), ins, key)
		} else {
			_, _, err = b.deps.Events.Ingest(ctx, s.deviceID(), ins[0], key)
		}
		if err == nil {
			return packets.CodeSuccessIgnore // acknowledged, not forwarded
		}
		ierr = b.serviceError(s, err)
	}
	if ierr.code == packets.ErrUnspecifiedError && s.cl.Properties.ProtocolVersion < 5 && pk.FixedHeader.Qos > 0 {
		// Not stored, through no fault of the message: without a PUBACK
		// the 3.1.1 client sends it again when it reconnects.
		return packets.ErrRejectPacket
	}
	b.refused(RefusedPayload, "mqtt event refused", "device_id", s.deviceID(), "code", ierr.Code, "pointer", ierr.Pointer)
	msg, _ := json.Marshal(errorMessage{Topic: pk.TopicName, PacketID: pk.PacketID, IdempotencyKey: key,
		Errors: []*ingestError{ierr}})
	b.publish(errorsTopic(s.deviceID()), msg)
	if s.cl.Properties.ProtocolVersion == 5 && pk.FixedHeader.Qos > 0 {
		return ierr.code
	}
	return packets.CodeSuccessIgnore
}

// serviceError turns an error of the event service into what the device
// is told; internal causes are logged, not told.
func (b *Broker) serviceError(s *session, err error) *ingestError {
	code := resource.ErrorCode(err)
	switch code {
	case resource.EInvalid:
		ie := &ingestError{code: packets.ErrPayloadFormatInvalid, Code: code, Detail: resource.ErrorMessage(err)}
		if f := resource.ErrorField(err); f != "" {
			ie.Pointer = fieldPointer(f)
		}
		return ie
	case resource.EConflict:
		return &ingestError{code: packets.ErrImplementationSpecificError, Code: code, Detail: resource.ErrorMessage(err),
			Pointer: "/idempotency_key"}
	case resource.EForbidden, resource.ENotFound, resource.EUnauthenticated:
		return &ingestError{code: packets.ErrNotAuthorized, Code: resource.EForbidden,
			Detail: "this device token may not publish events (it needs the events:write permission)"}
	case resource.ERateLimited:
		return &ingestError{code: packets.ErrQuotaExceeded, Code: code, Detail: resource.ErrorMessage(err)}
	}
	b.log.Error("mqtt ingest", "device_id", s.deviceID(), "err", err)
	return &ingestError{code: packets.ErrUnspecifiedError, Code: resource.EUnavailable,
		Detail: "the event could not be stored now; send it again"}
}

// fieldPointer turns a service error's field ("payload.latitude",
// "[3].occurred_at") into a JSON pointer into the message
// ("/payload/latitude", "/3/occurred_at").
func fieldPointer(field string) string {
	prefix := ""
	if i, rest, ok := resource.SplitBatchField(field); ok {
		prefix, field = "/"+strconv.Itoa(i), rest
	}
	if field == "type" {
		field = "event_type"
	}
	return prefix + "/" + strings.ReplaceAll(field, ".", "/")
}

// eventMembers are the members of one event in a message: the JSON:API
// event attributes, and an idempotency key.
var eventMembers = []string{"event_type", "occurred_at", "payload", "idempotency_key"}

// decodeEvents reads a message of the events topic: one event object
// (the JSON:API event attributes, and optionally "idempotency_key"), an
// array of them (a batch), or {"idempotency_key": ..., "events": [...]}.
func decodeEvents(payload []byte) (ins []resource.EventInput, key string, batch bool, ierr *ingestError) {
	invalid := func(pointer, detail string) *ingestError {
		return &ingestError{code: packets.ErrPayloadFormatInvalid, Code: resource.EInvalid, Detail: detail, Pointer: pointer}
	}
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 {
		return nil, "", false, invalid("", "the message must be a JSON event object or an array of them")
	}
	if trimmed[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, "", true, invalid("", "the message is not valid JSON: an array of event objects is expected")
		}
		ins, ierr = decodeBatch(items, "")
		return ins, "", true, ierr
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return nil, "", false, invalid("", "the message must be a JSON event object or an array of them")
	}
	if raw, ok := m["idempotency_key"]; ok {
		if err := json.Unmarshal(raw, &key); err != nil {
			return nil, "", false, invalid("/idempotency_key", "idempotency_key must be a string")
		}
	}
	if raw, ok := m["events"]; ok {
		for k := range m {
			if k != "events" && k != "idempotency_key" {
				return nil, "", true, invalid("/"+k, fmt.Sprintf("a batch message may not have a member %q", k))
			}
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, "", true, invalid("/events", "events must be an array of event objects")
		}
		ins, ierr = decodeBatch(items, "/events")
		return ins, key, true, ierr
	}
	in, ierr := decodeEvent(m, "")
	if ierr != nil {
		return nil, "", false, ierr
	}
	return []resource.EventInput{in}, key, false, nil
}

func decodeBatch(items []json.RawMessage, pointer string) ([]resource.EventInput, *ingestError) {
	ins := make([]resource.EventInput, len(items))
	for i, raw := range items {
		at := pointer + "/" + strconv.Itoa(i)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return nil, &ingestError{code: packets.ErrPayloadFormatInvalid, Code: resource.EInvalid, Pointer: at,
				Detail: "each item must be an event object"}
		}
		if _, ok := m["idempotency_key"]; ok {
			return nil, &ingestError{code: packets.ErrPayloadFormatInvalid, Code: resource.EInvalid, Pointer: at + "/idempotency_key",
				Detail: "a batch has one idempotency key, in the user property or beside \"events\""}
		}
		var ierr *ingestError
		if ins[i], ierr = decodeEvent(m, at); ierr != nil {
			return nil, ierr
		}
	}
	return ins, nil
}

// decodeEvent reads one event object at pointer.
func decodeEvent(m map[string]json.RawMessage, pointer string) (resource.EventInput, *ingestError) {
	var in resource.EventInput
	invalid := func(member, detail string) (resource.EventInput, *ingestError) {
		return in, &ingestError{code: packets.ErrPayloadFormatInvalid, Code: resource.EInvalid, Detail: detail,
			Pointer: pointer + "/" + member}
	}
	if m == nil {
		return invalid("", "the message must be a JSON event object")
	}
	for k := range m {
		if !slices.Contains(eventMembers, k) {
			return invalid(k, fmt.Sprintf("an event has no member %q", k))
		}
	}
	if err := json.Unmarshal(m["event_type"], &in.Type); err != nil || in.Type == "" {
		return invalid("event_type", "event_type must be one of "+strings.Join(resource.Names(resource.IngestEventTypes()), ", "))
	}
	if raw, ok := m["occurred_at"]; ok && string(bytes.TrimSpace(raw)) != "null" {
		var t string
		if err := json.Unmarshal(raw, &t); err != nil {
			return invalid("occurred_at", "occurred_at must be an RFC 3339 time")
		}
		var err error
		if in.OccurredAt, err = time.Parse(time.RFC3339Nano, t); err != nil {
			return invalid("occurred_at", "occurred_at must be an RFC 3339 time")
		}
	}
	raw, ok := m["payload"]
	if !ok {
		return invalid("payload", "payload is required")
	}
	if err := json.Unmarshal(raw, &in.Payload); err != nil || in.Payload == nil {
		return invalid("payload", "payload must be an object")
	}
	return in, nil
}

// userProperty returns the value of an MQTT 5 user property of pk.
func userProperty(pk packets.Packet, key string) string {
	for _, p := range pk.Properties.User {
		if p.Key == key {
			return p.Val
		}
	}
	return ""
}
