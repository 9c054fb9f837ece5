package resource

import (
	"math"
	"strconv"
	"strings"
)

// maxSearchLen bounds search filter values.
const maxSearchLen = 200

// parseDeviceFilter turns the filter of a device query (names already
// checked against deviceSpec) into a DeviceFilter. EInvalid pointing at
// filter[NAME] for a malformed value or an incomplete geo filter.
func parseDeviceFilter(raw map[string]string) (DeviceFilter, error) {
	var f DeviceFilter
	if v, ok := raw[DeviceFilterSearch]; ok {
		v = strings.ToLower(strings.TrimSpace(v))
		if len(v) > maxSearchLen {
			return f, Invalidf("filter[search]", "filter[search] must be at most %d characters", maxSearchLen)
		}
		f.Search = v
	}
	if v, ok := raw[DeviceFilterIMEI]; ok {
		f.IMEI = strings.TrimSpace(v)
		if f.IMEI == "" {
			return f, Invalidf("filter[imei]", "filter[imei] must not be empty")
		}
	}
	if v, ok := raw[DeviceFilterMAC]; ok {
		mac, err := NormalizeMAC(strings.TrimSpace(v))
		if err != nil {
			return f, Invalidf("filter[mac]", "filter[mac] must be a MAC address: 12 hexadecimal digits, with or without ':', '-' or '.' separators")
		}
		f.MAC = mac
	}
	if v, ok := raw[DeviceFilterFault]; ok {
		b, err := parseBoolFilter(DeviceFilterFault, v)
		if err != nil {
			return f, err
		}
		f.Fault = &b
	}
	if v, ok := raw[DeviceFilterGroup]; ok {
		switch {
		case v == DeviceGroupNone:
			none := ""
			f.GroupID = &none
		case ValidID(v):
			f.GroupID = &v
		default:
			return f, Invalidf("filter[group]", "filter[group] must be a device group id or %q", DeviceGroupNone)
		}
	}
	near, err := parseGeoFilter(raw)
	if err != nil {
		return f, err
	}
	f.Near = near
	return f, nil
}

// parseGeoFilter reads filter[latitude], filter[longitude],
// filter[radius_lte] and filter[radius_gte]: a centre and at least one
// radius, or none of them.
func parseGeoFilter(raw map[string]string) (*GeoFilter, error) {
	var vals [4]*float64
	names := [4]string{DeviceFilterLatitude, DeviceFilterLongitude, DeviceFilterRadiusLTE, DeviceFilterRadiusGTE}
	given := false
	for i, name := range names {
		v, ok := raw[name]
		if !ok {
			continue
		}
		given = true
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, Invalidf("filter["+name+"]", "filter[%s] must be a number", name)
		}
		vals[i] = &x
	}
	if !given {
		return nil, nil
	}
	lat, lon, lte, gte := vals[0], vals[1], vals[2], vals[3]
	switch {
	case lat == nil:
		return nil, Invalidf("filter[latitude]", "a geo filter needs filter[latitude] and filter[longitude]")
	case lon == nil:
		return nil, Invalidf("filter[longitude]", "a geo filter needs filter[latitude] and filter[longitude]")
	case lte == nil && gte == nil:
		return nil, Invalidf("filter[radius_lte]", "a geo filter needs filter[radius_lte] or filter[radius_gte] (metres)")
	case *lat < -90 || *lat > 90:
		return nil, Invalidf("filter[latitude]", "filter[latitude] must be between -90 and 90")
	case *lon < -180 || *lon > 180:
		return nil, Invalidf("filter[longitude]", "filter[longitude] must be between -180 and 180")
	case lte != nil && *lte < 0:
		return nil, Invalidf("filter[radius_lte]", "filter[radius_lte] must not be negative")
	case gte != nil && *gte < 0:
		return nil, Invalidf("filter[radius_gte]", "filter[radius_gte] must not be negative")
	}
	return &GeoFilter{Latitude: *lat, Longitude: *lon, RadiusLTE: lte, RadiusGTE: gte}, nil
}
