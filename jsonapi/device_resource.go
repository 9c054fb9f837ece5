package jsonapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// Resource types of device resources and their calls.
const (
	typeDeviceResources = "device-resources"
	typeResourceCalls   = "resource-calls"
)

// deviceResourcesPresenter is GET /devices/{id}/resources: what the device
// announced, and whether it is connected; its id is the device's.
type deviceResourcesPresenter struct {
	ID        string           `jsonapi:"primary,device-resources"`
	Connected bool             `jsonapi:"attr,connected"`
	Resources []map[string]any `jsonapi:"attr,resources"`
	Device    *devicePresenter `jsonapi:"relation,device"`
	base      string
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable.
func (p *deviceResourcesPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links {
	return &jsonapi.Links{"related": p.base + "/devices/" + p.ID}
}

// JSONAPILinks implements jsonapi.Linkable.
func (p *deviceResourcesPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/devices/" + p.ID + "/resources"}
}

// resourceCallPresenter is a call: the answer of POST
// /devices/{id}/resources/{name} (with out) and the audit rows of GET
// /devices/{id}/resource-calls.
type resourceCallPresenter struct {
	ID         string           `jsonapi:"primary,resource-calls"`
	Resource   string           `jsonapi:"attr,resource"`
	Out        any              `jsonapi:"attr,out,omitempty"`
	Caller     string           `jsonapi:"attr,caller"`
	StartedAt  string           `jsonapi:"attr,started_at"`
	DurationMS float64          `jsonapi:"attr,duration_ms"`
	Outcome    string           `jsonapi:"attr,outcome"`
	Device     *devicePresenter `jsonapi:"relation,device"`
	deviceID   string
	base       string
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable.
func (p *resourceCallPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links {
	return &jsonapi.Links{"related": p.base + "/devices/" + p.deviceID}
}

// JSONAPILinks implements jsonapi.Linkable.
func (p *resourceCallPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/devices/" + p.deviceID + "/resource-calls"}
}

var resourceCallSpec = bodySpec{typ: typeResourceCalls, attrs: []string{"in", "timeout"}}

func (a *API) deviceResourceRoutes() []*route {
	return []*route{
		{method: "GET", path: "/devices/{id}/resources", ops: []scopes.Operation{scopes.OpDevicesRead}, h: a.getDeviceResources},
		{method: "POST", path: "/devices/{id}/resources/{name}", ops: []scopes.Operation{scopes.OpDevicesCall}, body: true,
			pointer: resourceCallPointer, h: a.callDeviceResource},
		{method: "GET", path: "/devices/{id}/resource-calls", ops: []scopes.Operation{scopes.OpDevicesRead}, h: a.listResourceCalls},
	}
}

// resourceCallPointer maps "in.KEY" to /data/attributes/in/KEY.
func resourceCallPointer(field string) (string, bool) {
	if field == "" {
		return "", false
	}
	parts := strings.Split(field, ".")
	for i, p := range parts {
		parts[i] = escapePointer(p)
	}
	return "/data/attributes/" + strings.Join(parts, "/"), true
}

func (a *API) getDeviceResources(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	rs, err := a.deps.DeviceResources.Resources(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	p := &deviceResourcesPresenter{ID: rs.DeviceID, Connected: rs.Connected, Resources: []map[string]any{},
		Device: &devicePresenter{ID: rs.DeviceID, base: a.base}, base: a.base}
	for _, res := range rs.Resources {
		m := map[string]any{"name": res.Name, "kind": string(res.Kind)}
		if res.In != nil {
			m["in"] = res.In
		}
		p.Resources = append(p.Resources, m)
	}
	return a.writeOne(w, r, http.StatusOK, q, p, nil)
}

// callDeviceResource calls a resource of a connected device: 200 with the
// call and its out; 409 DeviceOffline; 404 for an unknown resource; 400
// with a pointer for an "in" that does not match the resource's schema;
// 504 when the device does not answer within timeout (seconds, default 10,
// at most 60).
func (a *API) callDeviceResource(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	o, err := readResource(r, resourceCallSpec, "")
	if err != nil {
		return err
	}
	var timeout time.Duration
	if raw, ok := o.attrs["timeout"]; ok && string(bytes.TrimSpace(raw)) != "null" {
		var secs float64
		if err := strictUnmarshal(raw, &secs); err != nil || secs <= 0 || secs > resource.MaxCallTimeout.Seconds() {
			return badBody("/data/attributes/timeout", "timeout must be a number of seconds above 0 and at most 60")
		}
		timeout = time.Duration(secs * float64(time.Second))
	}
	out, row, err := a.deps.DeviceResources.CallAudited(r.Context(), r.PathValue("id"), r.PathValue("name"), o.attrs["in"], timeout)
	var re *resource.Error
	if resource.ErrorCode(err) == resource.EInvalid && errors.As(err, &re) {
		// A call's input is checked against the device's schema: a bad
		// request, pointing at the value that did not match.
		pointer, _ := resourceCallPointer(re.Field)
		return &apiError{Status: http.StatusBadRequest, Code: resource.EInvalid, Pointer: ptrTo(pointer), Detail: re.Message}
	}
	if err != nil {
		return err
	}
	p := a.presentCall(row)
	p.Out = json.RawMessage("null")
	if out != nil {
		p.Out = out
	}
	return a.writeOne(w, r, http.StatusOK, q, p, nil)
}

func (a *API) presentCall(c *resource.ResourceCall) *resourceCallPresenter {
	return &resourceCallPresenter{ID: c.ID, Resource: c.Resource, Caller: c.Caller, StartedAt: timeString(c.StartedAt),
		DurationMS: float64(c.Duration.Microseconds()) / 1000, Outcome: c.Outcome, Device: &devicePresenter{ID: c.DeviceID, base: a.base}, deviceID: c.DeviceID, base: a.base}
}

func (a *API) listResourceCalls(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	calls, err := a.deps.DeviceResources.ListCalls(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ps := make([]presenter, len(calls))
	for i, c := range calls {
		ps[i] = a.presentCall(c)
	}
	return a.writeMany(w, r, q, ps, nil, resource.Page{Number: 1, Size: resource.MaxPageSize}, len(calls))
}
