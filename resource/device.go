package resource

import (
	"context"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// Device is an IoT asset of a customer.
type Device struct {
	ID         string
	CustomerID string
	// GroupID is the device's group, or "" when it is in none.
	GroupID string
	Name    string
	// IMEI is 15 digits with a valid Luhn check digit, unique within the
	// customer.
	IMEI string
	// MAC is XX:XX:XX:XX:XX:XX in upper case, or "" when unknown.
	MAC string
	// Latitude and Longitude are both set (degrees) or both nil.
	Latitude  *float64
	Longitude *float64
	Fault     bool
	// Attributes are the customer's own keys; nil when there are none.
	Attributes Attributes
	// LastEventAt is when the device last sent an event; nil before its
	// first.
	LastEventAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Connection is the device's MQTT connection state, as DeviceService
	// reads it (see ConnectionReader); stores leave it zero.
	Connection DeviceConnectionState
}

// LastSeenAt is the later of the device's last event and its last MQTT
// packet (the PING-style "last seen"); nil when it has neither.
func (d *Device) LastSeenAt() *time.Time { return LastSeenAt(d.LastEventAt, d.Connection.LastPacketAt) }

// DeviceFilter is a checked device filter, as stores apply it. Zero fields
// do not filter.
type DeviceFilter struct {
	// DeviceID keeps only this device (a device token sees only itself).
	DeviceID string
	// GroupID keeps only the devices of a group; a pointer to "" keeps the
	// devices in no group.
	GroupID *string
	// Search keeps devices whose name, IMEI or MAC contains it, compared in
	// lower case; it is lower-case already.
	Search string
	IMEI   string
	// MAC is upper-case already.
	MAC   string
	Fault *bool
	// Connected keeps the connected (true) or the disconnected (false)
	// devices, as the ConnectionMirror's lease rule decides at Now.
	Connected *bool
	Now       time.Time
	Near      *GeoFilter
	// Geogroup keeps the devices inside or outside a geogroup, its
	// geometry filled in.
	Geogroup *GeogroupMatch
	// Attributes keeps the devices that match every one of them.
	Attributes []AttributeCond
}

// IsZero reports whether f filters nothing.
func (f DeviceFilter) IsZero() bool {
	return f.DeviceID == "" && f.GroupID == nil && f.Search == "" && f.IMEI == "" && f.MAC == "" &&
		f.Fault == nil && f.Connected == nil && f.Near == nil && f.Geogroup == nil && len(f.Attributes) == 0
}

// GeoFilter keeps the devices within (RadiusLTE) and/or beyond (RadiusGTE) a
// great-circle distance, in metres, of a point. Devices without a position
// never match.
type GeoFilter struct {
	Latitude  float64
	Longitude float64
	RadiusLTE *float64
	RadiusGTE *float64
}

// DeviceQuery is a checked list query as a DeviceStore runs it. Sort holds
// known fields only (see DeviceQuerySpec); the store adds the id as the last
// key, in the direction of the last field, unless that field is unique.
type DeviceQuery struct {
	Filter DeviceFilter
	Sort   []SortField
	Offset int
	Limit  int
}

// DeviceStore persists devices. Every method is confined to one customer:
// a device of another customer does not exist for it.
type DeviceStore interface {
	// CreateDevice inserts d. EConflict (Field "imei") when the customer
	// has a device with the same IMEI; ENotFound (Field "group") when its
	// group does not exist.
	CreateDevice(ctx context.Context, d *Device) error
	// FindDevice returns a device of the customer, or ENotFound.
	FindDevice(ctx context.Context, customerID, id string) (*Device, error)
	// ListDevices returns the page of the customer's devices that q selects
	// and how many match in all.
	ListDevices(ctx context.Context, customerID string, q DeviceQuery) ([]*Device, int, error)
	// ListDevicesWithGroups is ListDevices that also returns the groups of
	// the page's devices (each once, ordered by id), read with the page.
	ListDevicesWithGroups(ctx context.Context, customerID string, q DeviceQuery) ([]*Device, []*DeviceGroup, int, error)
	// UpdateDevice writes every field of d that a client may change (all
	// but its id, customer, creation time and last event time, which event
	// ingestion keeps). ENotFound; EConflict (Field "imei") for
	// a duplicate IMEI; ENotFound (Field "group") when its group does not
	// exist.
	UpdateDevice(ctx context.Context, d *Device) error
	// DeleteDevice removes a device of the customer; ENotFound.
	DeleteDevice(ctx context.Context, customerID, id string) error
	// ImportDevices writes devices (distinct IMEIs, checked) in one
	// transaction: each is created, or, when the customer has a device
	// with its IMEI, that device gets its group, name, MAC, position,
	// attributes and update time (keeping its id, creation time, fault and
	// last event time). It returns the id of each device and whether it
	// was created. Any error rolls everything back.
	ImportDevices(ctx context.Context, customerID string, devices []*Device) (ids []string, created []bool, err error)
	// ExistingDevices is ImportDevices without writing: the id a write
	// would keep and whether it would create.
	ExistingDevices(ctx context.Context, customerID string, devices []*Device) (ids []string, created []bool, err error)
}

// Device filter names, sort fields and include paths: the names JSON:API
// clients write in filter[NAME], sort and include (GraphQL's filter input
// and orderBy enum are derived from them).
const (
	DeviceFilterSearch    = "search"
	DeviceFilterIMEI      = "imei"
	DeviceFilterMAC       = "mac"
	DeviceFilterFault     = "fault"
	DeviceFilterGroup     = "group"
	DeviceFilterConnected = "connected"
	DeviceFilterLatitude  = "latitude"
	DeviceFilterLongitude = "longitude"
	DeviceFilterRadiusLTE = "radius_lte"
	DeviceFilterRadiusGTE = "radius_gte"

	DeviceFilterGeogroupInside   = "geogroup_inside"
	DeviceFilterGeogroupOutside  = "geogroup_outside"
	DeviceFilterGeogroupDistance = "geogroup_distance"

	// DeviceFilterAttributes is JSON:API's filter[attributes.KEY] and
	// GraphQL's filter.attributes.
	DeviceFilterAttributes = "attributes"

	// DeviceGroupNone as the value of filter[group] keeps the devices that
	// are in no group.
	DeviceGroupNone = "none"

	IncludeGroup              = "group"
	IncludeGroupConfiguration = "group.configuration"
)

// Device sort fields.
const (
	DeviceSortName        = "name"
	DeviceSortIMEI        = "imei"
	DeviceSortCreatedAt   = "created_at"
	DeviceSortLastEventAt = "last_event_at"
)

var deviceSpec = QuerySpec{
	Filters: []string{DeviceFilterSearch, DeviceFilterIMEI, DeviceFilterMAC, DeviceFilterFault, DeviceFilterGroup, DeviceFilterConnected,
		DeviceFilterLatitude, DeviceFilterLongitude, DeviceFilterRadiusLTE, DeviceFilterRadiusGTE,
		DeviceFilterGeogroupInside, DeviceFilterGeogroupOutside, DeviceFilterGeogroupDistance, DeviceFilterAttributes},
	Sorts:       []string{DeviceSortName, DeviceSortIMEI, DeviceSortCreatedAt, DeviceSortLastEventAt},
	Includes:    []string{IncludeGroup, IncludeGroupConfiguration},
	DefaultSort: []SortField{{Field: DeviceSortCreatedAt}},
}

// DeviceQuerySpec returns the filters, sorts and include paths that device
// lists accept.
func DeviceQuerySpec() QuerySpec { return deviceSpec.clone() }

// Included holds the related resources a query asked to include, each once.
type Included struct {
	Groups         []*DeviceGroup
	Configurations []*Configuration
}

// DeviceList is a page of devices.
type DeviceList struct {
	Devices []*Device
	// Total is how many devices match the filter in all (meta.total).
	Total int
	// Page is the page served, with the defaults applied.
	Page     Page
	Included Included
}

// DeviceInput is what a caller gives to create a device.
type DeviceInput struct {
	Name      string
	IMEI      string
	MAC       string
	Latitude  *float64
	Longitude *float64
	Fault     bool
	// GroupID puts the device in a group of the same customer; "" for none.
	GroupID string
	// Attributes are the customer's own keys; nil for none.
	Attributes Attributes
}

// DevicePatch changes some fields of a device; absent fields stay as they
// are. Null clears MAC, the position and the group; Name, IMEI and Fault
// cannot be null. Attributes, when set, replace the whole object (null
// clears it).
type DevicePatch struct {
	Name       Optional[string]
	IMEI       Optional[string]
	MAC        Optional[string]
	Latitude   Optional[float64]
	Longitude  Optional[float64]
	Fault      Optional[bool]
	GroupID    Optional[string]
	Attributes Optional[Attributes]
}

// DeviceService holds the rules for devices: validation, the scopes table
// and the tenant of the principal in the context.
type DeviceService struct {
	Store          DeviceStore
	Groups         DeviceGroupStore
	Configurations ConfigurationStore
	// Geogroups resolves the geogroup filters.
	Geogroups GeogroupStore
	Now       func() time.Time
	// DeviceTokens revokes the tokens of a deleted device; nil revokes
	// none (there are no device tokens without it).
	DeviceTokens DeviceTokenRevoker
	// Connections reads the devices' MQTT connection states into the
	// devices that List, Find and Update return; nil reads none (every
	// device never connected).
	Connections *ConnectionReader
}

// DeviceTokenRevoker revokes every token of a device (implemented by
// DeviceTokenService).
type DeviceTokenRevoker interface {
	// RevokeDeviceTokens revokes the tokens of a device; any error is
	// internal.
	RevokeDeviceTokens(ctx context.Context, customerID, deviceID string) error
}

// List returns a page of the principal's customer's devices (a device token
// sees only its own device). EInvalid for a malformed filter, an unknown
// sort field or include path, or a bad page; EUnauthenticated, EForbidden
// (including groups needs groups:read, see MayInclude).
func (s *DeviceService) List(ctx context.Context, q ListQuery[DeviceListFilter]) (*DeviceList, error) {
	p, err := authorize(ctx, scopes.OpDevicesRead)
	if err != nil {
		return nil, err
	}
	c, err := deviceSpec.check(q.Sort, q.Page, q.Include)
	if err != nil {
		return nil, err
	}
	if err := checkIncludeAllowed(ctx, q.Include); err != nil {
		return nil, err
	}
	f, err := q.Filter.Validate()
	if err != nil {
		return nil, err
	}
	if p.Kind == scopes.KindDevice {
		f.DeviceID = p.DeviceID
	}
	if f.Connected != nil {
		f.Now = nowUTC(s.Now)
	}
	if m := f.Geogroup; m != nil {
		g, err := s.Geogroups.FindGeogroup(ctx, p.CustomerID, m.GeogroupID)
		if ErrorCode(err) == ENotFound {
			return nil, Errorf(ENotFound, "geogroup %q not found", m.GeogroupID).at(m.filterPath())
		} else if err != nil {
			return nil, err
		}
		m.Geometry = g.Geometry
	}
	dq := DeviceQuery{Filter: f, Sort: c.sort, Offset: c.page.Offset(), Limit: c.page.Size}
	if len(q.Include) == 0 {
		devices, total, err := s.Store.ListDevices(ctx, p.CustomerID, dq)
		if err != nil {
			return nil, err
		}
		if err := s.Connections.withConnections(ctx, p.CustomerID, devices...); err != nil {
			return nil, err
		}
		return &DeviceList{Devices: devices, Total: total, Page: c.page}, nil
	}
	// Every include path starts with the group: the page's groups come
	// with the page.
	devices, groups, total, err := s.Store.ListDevicesWithGroups(ctx, p.CustomerID, dq)
	if err != nil {
		return nil, err
	}
	if err := s.Connections.withConnections(ctx, p.CustomerID, devices...); err != nil {
		return nil, err
	}
	list := &DeviceList{Devices: devices, Total: total, Page: c.page}
	inc, err := s.includeGroups(ctx, p.CustomerID, groups, q.Include)
	if err != nil {
		return nil, err
	}
	list.Included = *inc
	return list, nil
}

// Find returns a device of the principal's customer (a device token finds
// only its own). ENotFound, EUnauthenticated, EForbidden.
func (s *DeviceService) Find(ctx context.Context, id string) (*Device, error) {
	p, err := authorize(ctx, scopes.OpDevicesRead)
	if err != nil {
		return nil, err
	}
	d, err := s.find(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := s.Connections.withConnections(ctx, p.CustomerID, d); err != nil {
		return nil, err
	}
	return d, nil
}

// find returns a device the principal may see, or ENotFound.
func (s *DeviceService) find(ctx context.Context, p *scopes.Principal, id string) (*Device, error) {
	if !ValidID(id) || (p.Kind == scopes.KindDevice && id != p.DeviceID) {
		return nil, errDeviceNotFound(id)
	}
	return s.Store.FindDevice(ctx, p.CustomerID, id)
}

// Include returns the resources that the include paths name for devices
// (already read through this service). EInvalid for an unknown path,
// EForbidden when the principal may not read device groups.
func (s *DeviceService) Include(ctx context.Context, devices []*Device, include []string) (*Included, error) {
	p, err := authorize(ctx, scopes.OpDevicesRead)
	if err != nil {
		return nil, err
	}
	if err := deviceSpec.checkInclude(include); err != nil {
		return nil, err
	}
	if err := checkIncludeAllowed(ctx, include); err != nil {
		return nil, err
	}
	return s.include(ctx, p.CustomerID, devices, include)
}

// include loads the groups (and their configurations) of devices when the
// include paths ask for them.
func (s *DeviceService) include(ctx context.Context, customerID string, devices []*Device, include []string) (*Included, error) {
	inc := &Included{}
	if len(include) == 0 {
		return inc, nil
	}
	var ids []string
	seen := map[string]bool{}
	for _, d := range devices {
		if d.GroupID != "" && !seen[d.GroupID] {
			seen[d.GroupID] = true
			ids = append(ids, d.GroupID)
		}
	}
	if len(ids) == 0 {
		return inc, nil
	}
	groups, err := s.Groups.FindDeviceGroups(ctx, customerID, ids)
	if err != nil {
		return nil, err
	}
	return s.includeGroups(ctx, customerID, groups, include)
}

// includeGroups is what include paths ask for of the devices' groups: the
// groups, and their configurations for group.configuration.
func (s *DeviceService) includeGroups(ctx context.Context, customerID string, groups []*DeviceGroup, include []string) (*Included, error) {
	inc := &Included{}
	if len(groups) == 0 {
		return inc, nil
	}
	inc.Groups = groups
	var err error
	for _, path := range include {
		if path == IncludeGroupConfiguration {
			if inc.Configurations, err = groupConfigurations(ctx, s.Configurations, customerID, groups); err != nil {
				return nil, err
			}
		}
	}
	return inc, nil
}

// Group returns the group of a device, or nil when it is in none (GET
// /devices/{id}/group). ENotFound, EUnauthenticated, EForbidden.
func (s *DeviceService) Group(ctx context.Context, deviceID string) (*DeviceGroup, error) {
	p, err := authorize(ctx, scopes.OpDevicesRead)
	if err != nil {
		return nil, err
	}
	if _, err := authorize(ctx, scopes.OpGroupsRead); err != nil {
		return nil, err
	}
	d, err := s.find(ctx, p, deviceID)
	if err != nil || d.GroupID == "" {
		return nil, err
	}
	return s.Groups.FindDeviceGroup(ctx, p.CustomerID, d.GroupID)
}

// Create adds a device to the principal's customer. EInvalid for a bad
// name, IMEI, MAC or position; EConflict for an IMEI the customer already
// uses; ENotFound (Field "group") for an unknown group; EUnauthenticated,
// EForbidden.
func (s *DeviceService) Create(ctx context.Context, in DeviceInput) (*Device, error) {
	p, err := authorize(ctx, scopes.OpDevicesWrite)
	if err != nil {
		return nil, err
	}
	now := nowUTC(s.Now)
	d := &Device{
		ID: NewID(), CustomerID: p.CustomerID, GroupID: in.GroupID, Name: in.Name, IMEI: in.IMEI, MAC: in.MAC,
		Latitude: in.Latitude, Longitude: in.Longitude, Fault: in.Fault, Attributes: in.Attributes.Clone(), CreatedAt: now, UpdatedAt: now,
	}
	if err := s.validate(ctx, d, in.GroupID != ""); err != nil {
		return nil, err
	}
	if err := s.Store.CreateDevice(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// Update changes the fields of a device that patch sets. ENotFound,
// EInvalid, EConflict as for Create; EUnauthenticated, EForbidden.
func (s *DeviceService) Update(ctx context.Context, id string, patch DevicePatch) (*Device, error) {
	p, err := authorize(ctx, scopes.OpDevicesWrite)
	if err != nil {
		return nil, err
	}
	d, err := s.find(ctx, p, id)
	if err != nil {
		return nil, err
	}
	var bad invalids
	_ = bad.add(applyDevicePatch(d, patch))
	checkGroup := patch.GroupID.Set && d.GroupID != "" && len(bad.errs) == 0
	if err := bad.add(s.validate(ctx, d, checkGroup)); err != nil {
		return nil, err
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	d.UpdatedAt = nowUTC(s.Now)
	if err := s.Store.UpdateDevice(ctx, d); err != nil {
		return nil, err
	}
	if err := s.Connections.withConnections(ctx, p.CustomerID, d); err != nil {
		return nil, err
	}
	return d, nil
}

// SetGroup puts a device in a group of the same customer, or in none when
// groupID is "" (PATCH /devices/{id}/relationships/group). ENotFound (Field
// "group" for the group); EUnauthenticated, EForbidden.
func (s *DeviceService) SetGroup(ctx context.Context, deviceID, groupID string) (*Device, error) {
	patch := DevicePatch{GroupID: Null[string]()}
	if groupID != "" {
		patch.GroupID = Some(groupID)
	}
	return s.Update(ctx, deviceID, patch)
}

// Delete removes a device of the principal's customer, with its events,
// and revokes its tokens. ENotFound, EUnauthenticated, EForbidden.
func (s *DeviceService) Delete(ctx context.Context, id string) error {
	p, err := authorize(ctx, scopes.OpDevicesWrite)
	if err != nil {
		return err
	}
	if !ValidID(id) {
		return errDeviceNotFound(id)
	}
	if err := s.Store.DeleteDevice(ctx, p.CustomerID, id); err != nil {
		return err
	}
	if s.DeviceTokens == nil {
		return nil
	}
	// After the delete, which proves the device was the customer's; a
	// token of a deleted device could do nothing anyway.
	return s.DeviceTokens.RevokeDeviceTokens(context.WithoutCancel(ctx), p.CustomerID, id)
}

// applyDevicePatch copies the fields that patch sets into d; EInvalid
// for every field that may not be null.
func applyDevicePatch(d *Device, patch DevicePatch) error {
	var bad invalids
	for _, c := range []struct {
		o     Optional[string]
		field string
		dst   *string
	}{{patch.Name, "name", &d.Name}, {patch.IMEI, "imei", &d.IMEI}} {
		if v, ok, err := nonNull(c.o, c.field); err != nil {
			_ = bad.add(err)
		} else if ok {
			*c.dst = v
		}
	}
	if v, ok, err := nonNull(patch.Fault, "fault"); err != nil {
		_ = bad.add(err)
	} else if ok {
		d.Fault = v
	}
	if patch.MAC.Set {
		d.MAC = patch.MAC.Value
		if patch.MAC.Null {
			d.MAC = ""
		}
	}
	for _, c := range []struct {
		o   Optional[float64]
		dst **float64
	}{{patch.Latitude, &d.Latitude}, {patch.Longitude, &d.Longitude}} {
		if !c.o.Set {
			continue
		}
		*c.dst = nil
		if !c.o.Null {
			v := c.o.Value
			*c.dst = &v
		}
	}
	if patch.GroupID.Set {
		d.GroupID = patch.GroupID.Value
		if patch.GroupID.Null {
			d.GroupID = ""
		}
	}
	if patch.Attributes.Set {
		d.Attributes = nil
		if !patch.Attributes.Null && len(patch.Attributes.Value) > 0 {
			d.Attributes = patch.Attributes.Value.Clone()
		}
	}
	return bad.err()
}

// validate checks and normalises the fields of d, collecting every
// invalid one (Errors for several); when checkGroup is true and the fields
// are valid it also checks that d's group belongs to d's customer.
func (s *DeviceService) validate(ctx context.Context, d *Device, checkGroup bool) error {
	var bad invalids
	var err error
	d.Name, err = normalizeName("name", d.Name)
	_ = bad.add(err)
	_ = bad.add(ValidateIMEI(d.IMEI))
	if d.MAC != "" {
		d.MAC, err = NormalizeMAC(d.MAC)
		_ = bad.add(err)
	}
	_ = bad.add(ValidateCoordinates(d.Latitude, d.Longitude))
	_ = bad.add(d.Attributes.Validate())
	if err := bad.err(); err != nil {
		return err
	}
	if checkGroup {
		notFound := &Error{Code: ENotFound, Field: "group", Message: "device group not found"}
		if !ValidID(d.GroupID) {
			return notFound
		}
		if _, err := s.Groups.FindDeviceGroup(ctx, d.CustomerID, d.GroupID); ErrorCode(err) == ENotFound {
			return notFound
		} else if err != nil {
			return err
		}
	}
	return nil
}

func errDeviceNotFound(id string) error {
	return Errorf(ENotFound, "device %q not found", id)
}
