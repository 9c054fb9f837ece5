package resource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/assetgate/assetgate/scopes"
)

// Error codes of device resource calls.
const (
	// EDeviceOffline: the device has no live connection (409).
	EDeviceOffline = "DeviceOffline"
	// EGatewayTimeout: the device did not answer in time (504).
	EGatewayTimeout = "GatewayTimeout"
)

// ResourceKind is what a device resource does with a call (Thinger.io's
// resource kinds).
type ResourceKind string

// Resource kinds.
const (
	// ResourceInput takes "in" (turn a relay on) and answers nothing.
	ResourceInput ResourceKind = "input"
	// ResourceOutput takes nothing and answers "out" (read a sensor).
	ResourceOutput ResourceKind = "output"
	// ResourceIO takes "in" and answers "out".
	ResourceIO ResourceKind = "io"
	// ResourceCallback takes and answers nothing (reboot).
	ResourceCallback ResourceKind = "callback"
)

// takesIn reports whether calls of the kind carry "in".
func (k ResourceKind) takesIn() bool { return k == ResourceInput || k == ResourceIO }

// DeviceResource is one resource a connected device announced.
type DeviceResource struct {
	Name string       `json:"name"`
	Kind ResourceKind `json:"kind"`
	// In is the JSON Schema that "in" must match; nil for none.
	In json.RawMessage `json:"in,omitempty"`
}

// DeviceResources is what a device announced, and whether it is connected.
type DeviceResources struct {
	DeviceID  string
	Connected bool
	Resources []DeviceResource
}

// MaxAnnouncedResources bounds the resources one device announces.
const MaxAnnouncedResources = 100

// ParseAnnouncement reads a device's announcement: a JSON array of
// resources (or {"resources": [...]}) with unique names, known kinds and
// schemas that compile. EInvalid pointing into the message.
func ParseAnnouncement(msg []byte) ([]DeviceResource, error) {
	msg = bytes.TrimSpace(msg)
	if len(msg) > 0 && msg[0] == '{' {
		var wrapped struct {
			Resources json.RawMessage `json:"resources"`
		}
		if err := json.Unmarshal(msg, &wrapped); err != nil || wrapped.Resources == nil {
			return nil, Invalidf("", "an announcement is an array of resources, or {\"resources\": [...]}")
		}
		msg = wrapped.Resources
	}
	var rs []DeviceResource
	if err := json.Unmarshal(msg, &rs); err != nil {
		return nil, Invalidf("", "an announcement is an array of resources {\"name\", \"kind\", \"in\"}")
	}
	if len(rs) > MaxAnnouncedResources {
		return nil, Invalidf("", "a device may announce at most %d resources", MaxAnnouncedResources)
	}
	seen := map[string]bool{}
	for i, r := range rs {
		at := fmt.Sprintf("%d", i)
		if !ValidResourceName(r.Name) {
			return nil, Invalidf(at+".name", "name must be 1 to 64 letters, digits, '-', '_' or '.'")
		}
		if seen[r.Name] {
			return nil, Invalidf(at+".name", "resource %q is announced twice", r.Name)
		}
		seen[r.Name] = true
		switch r.Kind {
		case ResourceInput, ResourceOutput, ResourceIO, ResourceCallback:
		default:
			return nil, Invalidf(at+".kind", "kind must be input, output, io or callback")
		}
		if r.In != nil && string(r.In) != "null" {
			if !r.Kind.takesIn() {
				return nil, Invalidf(at+".in", "only input and io resources take \"in\"")
			}
			if _, err := compileSchema(r.In); err != nil {
				return nil, Invalidf(at+".in", "in is not a usable JSON Schema: %v", err)
			}
		} else {
			rs[i].In = nil
		}
	}
	return rs, nil
}

// ValidResourceName reports whether s may name a resource (and an MQTT
// topic level).
func ValidResourceName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func compileSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	// No schema may make the server fetch anything.
	c.UseLoader(noLoader{})
	if err := c.AddResource("urn:assetgate:in", doc); err != nil {
		return nil, err
	}
	return c.Compile("urn:assetgate:in")
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s: references are not loaded", url)
}

// checkIn validates in against the resource's schema. EInvalid whose Field
// is "in" or "in.KEY.0" (the failing location).
func checkIn(r DeviceResource, in json.RawMessage) error {
	if r.In == nil {
		return nil
	}
	sch, err := compileSchema(r.In)
	if err != nil {
		return Invalidf("in", "the device announced an unusable schema")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(in))
	if err != nil {
		return Invalidf("in", "in is not valid JSON")
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		leaf := ve
		for len(leaf.Causes) > 0 {
			leaf = leaf.Causes[0]
		}
		field := strings.Join(append([]string{"in"}, leaf.InstanceLocation...), ".")
		return Invalidf(field, "in does not match the resource's schema: %s", leaf.Error())
	}
	return err
}

// DeviceCaller reaches connected devices (the MQTT listener, on whichever
// replica holds the device's session).
type DeviceCaller interface {
	// Announced returns whether the device is connected and what it
	// announced.
	Announced(ctx context.Context, customerID, deviceID string) (connected bool, rs []DeviceResource, err error)
	// Call sends in to a resource of the device and waits for its "out"
	// until ctx is done. EDeviceOffline; EGatewayTimeout without a reply.
	Call(ctx context.Context, customerID, deviceID, name string, in json.RawMessage) (out json.RawMessage, err error)
}

// ResourceCall is the audit row of one call.
type ResourceCall struct {
	ID         string
	CustomerID string
	DeviceID   string
	Resource   string
	// Caller names the principal: "user:ID", "application:CLIENT_ID" or
	// "device_token:ID".
	Caller    string
	StartedAt time.Time
	Duration  time.Duration
	// Outcome is "ok", or the error code the call ended with.
	Outcome string
}

// ResourceCallStore keeps the audit rows of calls.
type ResourceCallStore interface {
	CreateResourceCall(ctx context.Context, c *ResourceCall) error
	// ListResourceCalls returns the latest calls of a device of the
	// customer, newest first, at most limit.
	ListResourceCalls(ctx context.Context, customerID, deviceID string, limit int) ([]*ResourceCall, error)
}

// Call time-outs.
const (
	DefaultCallTimeout = 10 * time.Second
	MaxCallTimeout     = 60 * time.Second
)

// DeviceResourceService holds the rules for calling device resources.
type DeviceResourceService struct {
	Devices DeviceStore
	// Caller is nil when there is no MQTT listener: every device is
	// offline.
	Caller DeviceCaller
	Calls  ResourceCallStore
	Now    func() time.Time
}

// Resources returns what a device announced (devices:read; a device token
// of the device with device:read). ENotFound, EUnauthenticated,
// EForbidden.
func (s *DeviceResourceService) Resources(ctx context.Context, deviceID string) (*DeviceResources, error) {
	p, err := authorize(ctx, scopes.OpDevicesRead)
	if err != nil {
		return nil, err
	}
	d, err := s.findDevice(ctx, p, deviceID)
	if err != nil {
		return nil, err
	}
	out := &DeviceResources{DeviceID: d.ID, Resources: []DeviceResource{}}
	if s.Caller == nil {
		return out, nil
	}
	connected, rs, err := s.Caller.Announced(ctx, p.CustomerID, d.ID)
	if err != nil {
		return nil, err
	}
	out.Connected = connected
	if connected && rs != nil {
		out.Resources = rs
	}
	return out, nil
}

// Call calls a resource of a connected device and returns its "out" (nil
// for input and callback resources). It needs devices:call (me or app),
// or a device token of the device with resources:call, or
// resources:call:NAME for this resource. Every call that reaches the
// device's check is audited. ENotFound (device or resource), EInvalid
// ("in", "timeout"), EDeviceOffline, EGatewayTimeout, EUnauthenticated,
// EForbidden.
func (s *DeviceResourceService) Call(ctx context.Context, deviceID, name string, in json.RawMessage, timeout time.Duration) (json.RawMessage, error) {
	out, _, err := s.CallAudited(ctx, deviceID, name, in, timeout)
	return out, err
}

// CallAudited is Call that also returns the audit row of a successful
// call.
func (s *DeviceResourceService) CallAudited(ctx context.Context, deviceID, name string, in json.RawMessage, timeout time.Duration) (json.RawMessage, *ResourceCall, error) {
	out, row, err := s.callAudited(ctx, deviceID, name, in, timeout)
	if err != nil {
		return nil, nil, err
	}
	return out, row, nil
}

func (s *DeviceResourceService) callAudited(ctx context.Context, deviceID, name string, in json.RawMessage, timeout time.Duration) (json.RawMessage, *ResourceCall, error) {
	p, ok := scopes.FromContext(ctx)
	if !ok {
		return nil, nil, Errorf(EUnauthenticated, "authentication required")
	}
	if p.Kind == scopes.KindDevice {
		if !p.HasPermission(scopes.ResourcesCall) && !p.HasPermission(scopes.ResourcesCall+":"+name) {
			return nil, nil, &Error{Code: EForbidden, Message: "the device token does not allow calling resource " + name,
				Operation: scopes.OpDevicesCall}
		}
	} else if _, err := authorize(ctx, scopes.OpDevicesCall); err != nil {
		return nil, nil, err
	}
	d, err := s.findDevice(ctx, p, deviceID)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case timeout == 0:
		timeout = DefaultCallTimeout
	case timeout < 0 || timeout > MaxCallTimeout:
		return nil, nil, Invalidf("timeout", "timeout must be between 1 and %d seconds", int(MaxCallTimeout/time.Second))
	}
	started := nowUTC(s.Now)
	out, err := s.call(ctx, p, d, name, in, timeout)
	audit := ErrorCode(err)
	if err != nil && audit != EDeviceOffline && audit != EGatewayTimeout && audit != EInvalid && audit != ENotFound {
		return nil, nil, err
	}
	if audit == "" {
		audit = "ok"
	}
	row := &ResourceCall{ID: NewID(), CustomerID: p.CustomerID, DeviceID: d.ID, Resource: name, Caller: callerOf(p),
		StartedAt: started, Duration: nowUTC(s.Now).Sub(started), Outcome: audit}
	if aerr := s.Calls.CreateResourceCall(context.WithoutCancel(ctx), row); aerr != nil {
		return nil, nil, aerr
	}
	return out, row, err
}

func (s *DeviceResourceService) call(ctx context.Context, p *scopes.Principal, d *Device, name string, in json.RawMessage, timeout time.Duration) (json.RawMessage, error) {
	offline := Errorf(EDeviceOffline, "device %q is not connected", d.ID)
	if s.Caller == nil {
		return nil, offline
	}
	connected, rs, err := s.Caller.Announced(ctx, p.CustomerID, d.ID)
	if err != nil {
		return nil, err
	}
	if !connected {
		return nil, offline
	}
	i := slices.IndexFunc(rs, func(r DeviceResource) bool { return r.Name == name })
	if i < 0 {
		return nil, Errorf(ENotFound, "device %q announced no resource %q", d.ID, name)
	}
	r := rs[i]
	hasIn := len(bytes.TrimSpace(in)) > 0 && string(bytes.TrimSpace(in)) != "null"
	switch {
	case r.Kind.takesIn() && !hasIn:
		return nil, Invalidf("in", "resource %q (%s) takes \"in\"", name, r.Kind)
	case !r.Kind.takesIn() && hasIn:
		return nil, Invalidf("in", "resource %q (%s) takes no \"in\"", name, r.Kind)
	}
	if hasIn {
		if err := checkIn(r, in); err != nil {
			return nil, err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := s.Caller.Call(cctx, p.CustomerID, d.ID, name, in)
	if err != nil {
		return nil, err
	}
	if r.Kind == ResourceInput || r.Kind == ResourceCallback {
		return nil, nil
	}
	return out, nil
}

// ListCalls returns the latest audited calls of a device, newest first
// (devices:read). ENotFound, EUnauthenticated, EForbidden.
func (s *DeviceResourceService) ListCalls(ctx context.Context, deviceID string) ([]*ResourceCall, error) {
	p, err := authorize(ctx, scopes.OpDevicesRead)
	if err != nil {
		return nil, err
	}
	d, err := s.findDevice(ctx, p, deviceID)
	if err != nil {
		return nil, err
	}
	return s.Calls.ListResourceCalls(ctx, p.CustomerID, d.ID, MaxPageSize)
}

func (s *DeviceResourceService) findDevice(ctx context.Context, p *scopes.Principal, id string) (*Device, error) {
	if !ValidID(id) || (p.Kind == scopes.KindDevice && id != p.DeviceID) {
		return nil, errDeviceNotFound(id)
	}
	return s.Devices.FindDevice(ctx, p.CustomerID, id)
}

// callerOf names a principal in the audit rows.
func callerOf(p *scopes.Principal) string {
	switch p.Kind {
	case scopes.KindUser:
		return "user:" + p.UserID
	case scopes.KindDevice:
		return "device_token:" + p.TokenID
	}
	return "application:" + p.ClientID
}
