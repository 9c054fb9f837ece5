package jsonapi

import (
	"net/http"
	"strings"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// devicePresenter is a device as a devices resource object.
type devicePresenter struct {
	ID          string         `jsonapi:"primary,devices"`
	Name        string         `jsonapi:"attr,name"`
	IMEI        string         `jsonapi:"attr,imei"`
	MAC         *string        `jsonapi:"attr,mac"`
	Latitude    *float64       `jsonapi:"attr,latitude"`
	Longitude   *float64       `jsonapi:"attr,longitude"`
	Fault       bool           `jsonapi:"attr,fault"`
	Attributes  map[string]any `jsonapi:"attr,attributes"`
	LastEventAt *string        `jsonapi:"attr,last_event_at"`
	// The MQTT connection, as GET /devices/{id}/stats shows it.
	Connected      bool            `jsonapi:"attr,connected"`
	ConnectedAt    *string         `jsonapi:"attr,connected_at"`
	DisconnectedAt *string         `jsonapi:"attr,disconnected_at"`
	RemoteAddress  *string         `jsonapi:"attr,remote_address"`
	RxBytes        int             `jsonapi:"attr,rx_bytes"`
	TxBytes        int             `jsonapi:"attr,tx_bytes"`
	LastSeenAt     *string         `jsonapi:"attr,last_seen_at"`
	CreatedAt      string          `jsonapi:"attr,created_at"`
	UpdatedAt      string          `jsonapi:"attr,updated_at"`
	Group          *groupPresenter `jsonapi:"relation,group"`
	base           string
}

// JSONAPILinks implements jsonapi.Linkable.
func (p *devicePresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/devices/" + p.ID}
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable.
func (p *devicePresenter) JSONAPIRelationshipLinks(rel string) *jsonapi.Links {
	return &jsonapi.Links{
		"self":    p.base + "/devices/" + p.ID + "/relationships/" + rel,
		"related": p.base + "/devices/" + p.ID + "/" + rel,
	}
}

// appendLinks implements linkWriter: JSONAPILinks.
func (p *devicePresenter) appendLinks(b []byte) []byte {
	b = append(b, '{')
	b = appendLink(b, true, "self", p.base, "/devices/", p.ID)
	return append(b, '}')
}

// appendRelationshipLinks implements linkWriter: JSONAPIRelationshipLinks.
func (p *devicePresenter) appendRelationshipLinks(b []byte, rel string) ([]byte, bool) {
	b = append(b, '{')
	b = appendLink(b, true, "related", p.base, "/devices/", p.ID, "/", rel)
	b = appendLink(b, false, "self", p.base, "/devices/", p.ID, "/relationships/", rel)
	return append(b, '}'), true
}

func (a *API) presentDevice(d *resource.Device) *devicePresenter {
	p := &devicePresenter{
		ID: d.ID, Name: d.Name, IMEI: d.IMEI, MAC: optString(d.MAC), Latitude: d.Latitude, Longitude: d.Longitude,
		Fault: d.Fault, Attributes: attributesMap(d.Attributes), LastEventAt: optTime(d.LastEventAt), CreatedAt: timeString(d.CreatedAt),
		UpdatedAt: timeString(d.UpdatedAt), base: a.base,
		Connected: d.Connection.Connected, ConnectedAt: optTime(d.Connection.ConnectedAt),
		DisconnectedAt: optTime(d.Connection.DisconnectedAt), RemoteAddress: optString(d.Connection.RemoteAddress),
		RxBytes: int(d.Connection.RxBytes), TxBytes: int(d.Connection.TxBytes), LastSeenAt: optTime(d.LastSeenAt()),
	}
	if d.GroupID != "" {
		p.Group = &groupPresenter{ID: d.GroupID, base: a.base}
	}
	return p
}

// attributesMap is a device's attributes as a JSON object ({} when there
// are none).
func attributesMap(a resource.Attributes) map[string]any {
	if a == nil {
		return map[string]any{}
	}
	return a
}

// devicePointer maps the fields of device errors to pointers: an
// attribute key is one reference token, dots and all
// ("attributes.fw.version" is /data/attributes/attributes/fw.version).
func devicePointer(field string) (string, bool) {
	if key, ok := strings.CutPrefix(field, "attributes."); ok {
		return "/data/attributes/attributes/" + escapePointer(key), true
	}
	return attributePointers("group")(field)
}

// deviceSpec is the body of device creates and updates.
var deviceSpec = bodySpec{typ: typeDevices, attrs: []string{"name", "imei", "mac", "latitude", "longitude", "fault", "attributes"},
	rels: map[string]string{"group": typeDeviceGroups}}

func (a *API) deviceRoutes() []*route {
	read := []scopes.Operation{scopes.OpDevicesRead}
	write := []scopes.Operation{scopes.OpDevicesWrite}
	ptr := devicePointer
	return []*route{
		{method: "GET", path: "/devices", ops: read, h: a.listDevices},
		{method: "POST", path: "/devices", ops: write, body: true, pointer: ptr, h: a.createDevice},
		a.importRoute(),
		{method: "GET", path: "/devices/{id}", ops: read, h: a.getDevice},
		{method: "PATCH", path: "/devices/{id}", ops: write, body: true, pointer: ptr, h: a.updateDevice},
		{method: "DELETE", path: "/devices/{id}", ops: write, h: a.deleteDevice},
		{method: "GET", path: "/devices/{id}/relationships/group", ops: read, h: a.getDeviceGroupLinkage},
		{method: "PATCH", path: "/devices/{id}/relationships/group", ops: write, body: true, pointer: linkagePointer, h: a.setDeviceGroup},
		{method: "GET", path: "/devices/{id}/group", ops: []scopes.Operation{scopes.OpDevicesRead, scopes.OpGroupsRead}, h: a.getDeviceGroup},
	}
}

func (a *API) listDevices(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(a, r.URL.RawQuery, deviceFilters)
	if err != nil {
		return err
	}
	list, err := a.deps.Devices.List(r.Context(), q)
	if err != nil {
		return err
	}
	ps := make([]presenter, len(list.Devices))
	for i, d := range list.Devices {
		ps[i] = a.presentDevice(d)
	}
	return a.writeMany(w, r, q.Query(), ps, a.presentIncluded(&list.Included), list.Page, list.Total)
}

// writeDevice writes one device with what q's include asks for.
func (a *API) writeDevice(w http.ResponseWriter, r *http.Request, status int, q resource.Query, d *resource.Device) error {
	var related []presenter
	if len(q.Include) > 0 {
		inc, err := a.deps.Devices.Include(r.Context(), []*resource.Device{d}, q.Include)
		if err != nil {
			return err
		}
		related = a.presentIncluded(inc)
	}
	if status == http.StatusCreated {
		return a.writeCreated(w, r, q, a.presentDevice(d), related)
	}
	return a.writeOne(w, r, status, q, a.presentDevice(d), related)
}

func (a *API) getDevice(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	d, err := a.deps.Devices.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeDevice(w, r, http.StatusOK, q, d)
}

// devicePatch reads the attributes and relationships of a device document.
func devicePatch(o *resourceObject) (resource.DevicePatch, error) {
	var p resource.DevicePatch
	var err error
	for _, f := range []struct {
		name string
		dst  *resource.Optional[string]
	}{{"name", &p.Name}, {"imei", &p.IMEI}, {"mac", &p.MAC}} {
		if *f.dst, err = optional[string](o, f.name, "a string"); err != nil {
			return p, err
		}
	}
	if p.Latitude, err = optional[float64](o, "latitude", "a number"); err != nil {
		return p, err
	}
	if p.Longitude, err = optional[float64](o, "longitude", "a number"); err != nil {
		return p, err
	}
	if p.Fault, err = optional[bool](o, "fault", "a boolean"); err != nil {
		return p, err
	}
	p.GroupID = relationship(o, "group")
	raw, err := optional[map[string]any](o, "attributes", "an object of strings, numbers and booleans")
	switch {
	case err != nil:
		return p, err
	case raw.Null:
		p.Attributes = resource.Null[resource.Attributes]()
	case raw.Set:
		attrs, err := resource.ParseAttributes(raw.Value)
		if err != nil {
			return p, err
		}
		p.Attributes = resource.Some(attrs)
	}
	return p, nil
}

func (a *API) createDevice(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	o, err := readResource(r, deviceSpec, "")
	if err != nil {
		return err
	}
	p, err := devicePatch(o)
	if err != nil {
		return err
	}
	in := resource.DeviceInput{Name: value(p.Name), IMEI: value(p.IMEI), MAC: value(p.MAC), Fault: value(p.Fault), GroupID: value(p.GroupID),
		Attributes: value(p.Attributes)}
	if p.Latitude.Set && !p.Latitude.Null {
		in.Latitude = &p.Latitude.Value
	}
	if p.Longitude.Set && !p.Longitude.Null {
		in.Longitude = &p.Longitude.Value
	}
	d, err := a.deps.Devices.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return a.writeDevice(w, r, http.StatusCreated, q, d)
}

func (a *API) updateDevice(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	o, err := readResource(r, deviceSpec, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := devicePatch(o)
	if err != nil {
		return err
	}
	d, err := a.deps.Devices.Update(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return a.writeDevice(w, r, http.StatusOK, q, d)
}

func (a *API) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	if err := a.deps.Devices.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

// deviceGroupLinkage writes the group relationship document of a device.
func (a *API) deviceGroupLinkage(w http.ResponseWriter, d *resource.Device) {
	base := "/devices/" + d.ID
	writeDocument(w, http.StatusOK, a.linkage(a.url(base+"/relationships/group"), a.url(base+"/group"), typeDeviceGroups, d.GroupID))
}

func (a *API) getDeviceGroupLinkage(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	d, err := a.deps.Devices.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.deviceGroupLinkage(w, d)
	return nil
}

// setDeviceGroup serves PATCH /devices/{id}/relationships/group: data is
// a device-groups identifier, or null for no group.
func (a *API) setDeviceGroup(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	groupID, err := readRelationship(r, typeDeviceGroups)
	if err != nil {
		return err
	}
	d, err := a.deps.Devices.SetGroup(r.Context(), r.PathValue("id"), groupID)
	if err != nil {
		return err
	}
	a.deviceGroupLinkage(w, d)
	return nil
}

// getDeviceGroup serves GET /devices/{id}/group: the device's group, or
// null data when it is in none.
func (a *API) getDeviceGroup(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	g, err := a.deps.Devices.Group(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if g == nil {
		if len(q.Include) > 0 {
			if _, err := a.deps.Groups.Include(r.Context(), nil, q.Include); err != nil {
				return err
			}
		}
		a.writeNull(w, r)
		return nil
	}
	return a.writeGroup(w, r, http.StatusOK, q, g)
}
