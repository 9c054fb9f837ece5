package resource

import (
	"math"
	"strings"
)

// maxSearchLen bounds search filter values.
const maxSearchLen = 200

// DeviceListFilter is the filter of a device list as a client gives it,
// typed; nil fields do not filter. Each transport maps its own syntax onto
// it field by field (JSON:API's filter[radius_lte], GraphQL's
// filter.radiusLte); Validate checks it.
type DeviceListFilter struct {
	// Search keeps devices whose name, IMEI or MAC contains it,
	// case-insensitively.
	Search *string
	IMEI   *string
	// MAC is a MAC address in any form NormalizeMAC reads.
	MAC   *string
	Fault *bool
	// Connected keeps the devices connected over MQTT (true) or not
	// (false).
	Connected *bool
	// Group is a device group id, or DeviceGroupNone for the devices in no
	// group.
	Group *string
	// Latitude, Longitude and at least one of RadiusLTE and RadiusGTE
	// (metres) make a geo filter; all nil for none.
	Latitude  *float64
	Longitude *float64
	RadiusLTE *float64
	RadiusGTE *float64
	// GeogroupInside or GeogroupOutside (a geogroup id, at most one of
	// them) keeps the devices inside or outside that geogroup;
	// GeogroupDistance (metres) widens inside to "or within that distance
	// of the boundary" and narrows outside to "farther than that".
	GeogroupInside   *string
	GeogroupOutside  *string
	GeogroupDistance *float64
	// Attributes keeps the devices whose attributes match each of them: a
	// value matches a stored string equal to it, a stored number equal
	// to it when it is a JSON number ("12", "1.5e3"), a stored boolean
	// when it is true or false.
	Attributes []AttributeMatch
}

// Validate checks f and returns it as stores apply it. EInvalid pointing
// at the filter's path ("filter.radiusLte") for a malformed value or an
// incomplete geo filter.
func (f DeviceListFilter) Validate() (DeviceFilter, error) {
	var out DeviceFilter
	for _, t := range []struct {
		name string
		v    *string
	}{{DeviceFilterSearch, f.Search}, {DeviceFilterIMEI, f.IMEI}, {DeviceFilterMAC, f.MAC}, {DeviceFilterGroup, f.Group}} {
		if err := checkTextFilter(t.name, t.v); err != nil {
			return out, err
		}
	}
	if f.Search != nil {
		v := strings.ToLower(strings.TrimSpace(*f.Search))
		if len(v) > maxSearchLen {
			return out, Invalidf(filterPath(DeviceFilterSearch), "filter[search] must be at most %d characters", maxSearchLen)
		}
		out.Search = v
	}
	if f.IMEI != nil {
		out.IMEI = strings.TrimSpace(*f.IMEI)
		if out.IMEI == "" {
			return out, Invalidf(filterPath(DeviceFilterIMEI), "filter[imei] must not be empty")
		}
	}
	if f.MAC != nil {
		mac, err := NormalizeMAC(strings.TrimSpace(*f.MAC))
		if err != nil {
			return out, Invalidf(filterPath(DeviceFilterMAC), "filter[mac] must be a MAC address: 12 hexadecimal digits, with or without ':', '-' or '.' separators")
		}
		out.MAC = mac
	}
	out.Fault = f.Fault
	out.Connected = f.Connected
	if f.Group != nil {
		switch v := *f.Group; {
		case v == DeviceGroupNone:
			none := ""
			out.GroupID = &none
		case ValidID(v):
			out.GroupID = &v
		default:
			return out, Invalidf(filterPath(DeviceFilterGroup), "filter[group] must be a device group id or %q", DeviceGroupNone)
		}
	}
	near, err := f.geo()
	if err != nil {
		return out, err
	}
	out.Near = near
	if out.Geogroup, err = f.geogroup(); err != nil {
		return out, err
	}
	if len(f.Attributes) > 0 {
		if out.Attributes, err = attributeConds(f.Attributes); err != nil {
			return out, err
		}
	}
	return out, nil
}

// geogroup checks the geogroup filter; the geometry is the service's to
// fill in.
func (f DeviceListFilter) geogroup() (*GeogroupMatch, error) {
	in, out, d := f.GeogroupInside, f.GeogroupOutside, f.GeogroupDistance
	for _, t := range []struct {
		name string
		v    *string
	}{{DeviceFilterGeogroupInside, in}, {DeviceFilterGeogroupOutside, out}} {
		if err := checkTextFilter(t.name, t.v); err != nil {
			return nil, err
		}
		if t.v != nil && !ValidID(strings.TrimSpace(*t.v)) {
			return nil, Errorf(ENotFound, "geogroup %q not found", *t.v).at(filterPath(t.name))
		}
	}
	switch {
	case in == nil && out == nil && d == nil:
		return nil, nil
	case in != nil && out != nil:
		return nil, Invalidf(filterPath(DeviceFilterGeogroupOutside), "filter[geogroup_inside] and filter[geogroup_outside] cannot be combined")
	case in == nil && out == nil:
		return nil, Invalidf(filterPath(DeviceFilterGeogroupDistance), "filter[geogroup_distance] needs filter[geogroup_inside] or filter[geogroup_outside]")
	case d != nil && (math.IsNaN(*d) || *d < 0 || *d > MaxCircleRadius):
		return nil, Invalidf(filterPath(DeviceFilterGeogroupDistance), "filter[geogroup_distance] must be a distance in metres from 0 to %d", MaxCircleRadius)
	}
	m := &GeogroupMatch{}
	if in != nil {
		m.GeogroupID = strings.TrimSpace(*in)
	} else {
		m.GeogroupID, m.Outside = strings.TrimSpace(*out), true
	}
	if d != nil {
		m.Distance = *d
	}
	return m, nil
}

// geogroupFilterPath is the path of the geogroup filter that names m's
// geogroup.
func (m *GeogroupMatch) filterPath() string {
	if m.Outside {
		return filterPath(DeviceFilterGeogroupOutside)
	}
	return filterPath(DeviceFilterGeogroupInside)
}

// geo checks the geo filter: a centre and at least one radius, or none of
// them.
func (f DeviceListFilter) geo() (*GeoFilter, error) {
	lat, lon, lte, gte := f.Latitude, f.Longitude, f.RadiusLTE, f.RadiusGTE
	if lat == nil && lon == nil && lte == nil && gte == nil {
		return nil, nil
	}
	for i, v := range []*float64{lat, lon, lte, gte} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			name := [...]string{DeviceFilterLatitude, DeviceFilterLongitude, DeviceFilterRadiusLTE, DeviceFilterRadiusGTE}[i]
			return nil, Invalidf(filterPath(name), "filter[%s] must be a number", name)
		}
	}
	switch {
	case lat == nil:
		return nil, Invalidf(filterPath(DeviceFilterLatitude), "a geo filter needs filter[latitude] and filter[longitude]")
	case lon == nil:
		return nil, Invalidf(filterPath(DeviceFilterLongitude), "a geo filter needs filter[latitude] and filter[longitude]")
	case lte == nil && gte == nil:
		return nil, Invalidf(filterPath(DeviceFilterRadiusLTE), "a geo filter needs filter[radius_lte] or filter[radius_gte] (metres)")
	case *lat < -90 || *lat > 90:
		return nil, Invalidf(filterPath(DeviceFilterLatitude), "filter[latitude] must be between -90 and 90")
	case *lon < -180 || *lon > 180:
		return nil, Invalidf(filterPath(DeviceFilterLongitude), "filter[longitude] must be between -180 and 180")
	case lte != nil && *lte < 0:
		return nil, Invalidf(filterPath(DeviceFilterRadiusLTE), "filter[radius_lte] must not be negative")
	case gte != nil && *gte < 0:
		return nil, Invalidf(filterPath(DeviceFilterRadiusGTE), "filter[radius_gte] must not be negative")
	}
	return &GeoFilter{Latitude: *lat, Longitude: *lon, RadiusLTE: lte, RadiusGTE: gte}, nil
}
