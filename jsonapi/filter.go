package jsonapi

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// This file maps JSON:API's filter[NAME] parameters onto the typed filters
// of the resources, one line per filter: the name, the syntax of its value
// (text, true/false, a number, an RFC 3339 time, a comma list) and the
// field of the resource's filter it sets.

// filterField maps one filter[NAME] onto a field of the typed filter F.
type filterField[F any] struct {
	name string
	// set parses the value of filter[NAME] into its field of f.
	set func(f *F, value string) error
	// setKey, when set, makes the filter a family: filter[NAME.KEY] for
	// any KEY, each parsed by setKey (set is then unused).
	setKey func(f *F, key, value string) error
}

// filterFields are the filters a list route accepts, in the order
// resource's QuerySpec lists them.
type filterFields[F any] []filterField[F]

// apply sets the fields of f from the filter values by name. 400 pointing
// at filter[NAME] for a name the route does not accept or a value of the
// wrong syntax.
func (ff filterFields[F]) apply(f *F, values map[string]string) error {
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names) // report the same unknown filter every time
	for _, name := range names {
		i := slices.IndexFunc(ff, func(x filterField[F]) bool { return x.setKey == nil && x.name == name })
		if i >= 0 {
			if err := ff[i].set(f, values[name]); err != nil {
				return err
			}
			continue
		}
		i = slices.IndexFunc(ff, func(x filterField[F]) bool {
			return x.setKey != nil && strings.HasPrefix(name, x.name+".")
		})
		if i < 0 {
			return badParameter("filter["+name+"]", "unknown filter "+strconv.Quote(name)+"; known: "+ff.known())
		}
		if err := ff[i].setKey(f, strings.TrimPrefix(name, ff[i].name+"."), values[name]); err != nil {
			return err
		}
	}
	return nil
}

// known lists the accepted names for an error message.
func (ff filterFields[F]) known() string {
	if len(ff) == 0 {
		return "none"
	}
	names := make([]string, len(ff))
	for i, x := range ff {
		names[i] = x.name
		if x.setKey != nil {
			names[i] += ".KEY"
		}
	}
	return strings.Join(names, ", ")
}

// names returns the accepted filter names.
func (ff filterFields[F]) names() []string {
	out := make([]string, len(ff))
	for i, x := range ff {
		out[i] = x.name
	}
	return out
}

// textFilter maps filter[name] onto a string field.
func textFilter[F any](name string, field func(*F) **string) filterField[F] {
	return filterField[F]{name: name, set: func(f *F, v string) error {
		*field(f) = &v
		return nil
	}}
}

// boolFilter maps filter[name] (true or false) onto a bool field.
func boolFilter[F any](name string, field func(*F) **bool) filterField[F] {
	return filterField[F]{name: name, set: func(f *F, v string) error {
		var b bool
		switch v {
		case "true":
			b = true
		case "false":
		default:
			return badParameter("filter["+name+"]", "filter["+name+"] must be true or false")
		}
		*field(f) = &b
		return nil
	}}
}

// numberFilter maps filter[name] (a finite decimal number) onto a float
// field.
func numberFilter[F any](name string, field func(*F) **float64) filterField[F] {
	return filterField[F]{name: name, set: func(f *F, v string) error {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return badParameter("filter["+name+"]", "filter["+name+"] must be a number")
		}
		*field(f) = &x
		return nil
	}}
}

// timeFilter maps filter[name] (an RFC 3339 time) onto a time field.
func timeFilter[F any](name string, field func(*F) **time.Time) filterField[F] {
	return filterField[F]{name: name, set: func(f *F, v string) error {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
		if err != nil {
			return badParameter("filter["+name+"]", "filter["+name+"] must be an RFC 3339 time such as 2025-01-02T15:04:05Z")
		}
		*field(f) = &t
		return nil
	}}
}

// listFilter maps filter[name] (a comma list) onto a list field; the
// resource trims the items and refuses a list left empty.
func listFilter[F any](name string, field func(*F) *[]string) filterField[F] {
	return filterField[F]{name: name, set: func(f *F, v string) error {
		*field(f) = strings.Split(v, ",")
		return nil
	}}
}

// attributeFilter maps the family filter[name.KEY] onto a list of
// key/value matches, in the order of the keys.
func attributeFilter[F any](name string, field func(*F) *[]resource.AttributeMatch) filterField[F] {
	return filterField[F]{name: name, setKey: func(f *F, key, v string) error {
		*field(f) = append(*field(f), resource.AttributeMatch{Key: key, Value: v})
		return nil
	}}
}

type (
	deviceFilter        = resource.DeviceListFilter
	groupFilter         = resource.DeviceGroupListFilter
	geogroupFilter      = resource.GeogroupListFilter
	configurationFilter = resource.ConfigurationListFilter
	eventFilter         = resource.EventListFilter
)

// deviceFilters are the filters of the device lists.
var deviceFilters = filterFields[deviceFilter]{
	textFilter(resource.DeviceFilterSearch, func(f *deviceFilter) **string { return &f.Search }),
	textFilter(resource.DeviceFilterIMEI, func(f *deviceFilter) **string { return &f.IMEI }),
	textFilter(resource.DeviceFilterMAC, func(f *deviceFilter) **string { return &f.MAC }),
	boolFilter(resource.DeviceFilterFault, func(f *deviceFilter) **bool { return &f.Fault }),
	textFilter(resource.DeviceFilterGroup, func(f *deviceFilter) **string { return &f.Group }),
	boolFilter(resource.DeviceFilterConnected, func(f *deviceFilter) **bool { return &f.Connected }),
	numberFilter(resource.DeviceFilterLatitude, func(f *deviceFilter) **float64 { return &f.Latitude }),
	numberFilter(resource.DeviceFilterLongitude, func(f *deviceFilter) **float64 { return &f.Longitude }),
	numberFilter(resource.DeviceFilterRadiusLTE, func(f *deviceFilter) **float64 { return &f.RadiusLTE }),
	numberFilter(resource.DeviceFilterRadiusGTE, func(f *deviceFilter) **float64 { return &f.RadiusGTE }),
	textFilter(resource.DeviceFilterGeogroupInside, func(f *deviceFilter) **string { return &f.GeogroupInside }),
	textFilter(resource.DeviceFilterGeogroupOutside, func(f *deviceFilter) **string { return &f.GeogroupOutside }),
	numberFilter(resource.DeviceFilterGeogroupDistance, func(f *deviceFilter) **float64 { return &f.GeogroupDistance }),
	attributeFilter(resource.DeviceFilterAttributes, func(f *deviceFilter) *[]resource.AttributeMatch { return &f.Attributes }),
}

// groupFilters are the filters of the device group list.
var groupFilters = filterFields[groupFilter]{
	textFilter(resource.GroupFilterSearch, func(f *groupFilter) **string { return &f.Search }),
	listFilter(resource.GroupFilterName, func(f *groupFilter) *[]string { return &f.Name }),
}

// geogroupFilters are the filters of the geogroup list.
var geogroupFilters = filterFields[geogroupFilter]{
	textFilter(resource.GeogroupFilterSearch, func(f *geogroupFilter) **string { return &f.Search }),
	listFilter(resource.GeogroupFilterName, func(f *geogroupFilter) *[]string { return &f.Name }),
}

// configurationFilters are the filters of the configuration list.
var configurationFilters = filterFields[configurationFilter]{
	textFilter(resource.ConfigurationFilterSearch, func(f *configurationFilter) **string { return &f.Search }),
	listFilter(resource.ConfigurationFilterName, func(f *configurationFilter) *[]string { return &f.Name }),
	textFilter(resource.ConfigurationFilterState, func(f *configurationFilter) **string { return &f.State }),
}

// eventFilters are the filters of GET /events; deviceEventFilters those of
// the events of one device, which has no device filter.
var (
	eventFilters = filterFields[eventFilter]{
		listFilter(resource.EventFilterDevice, func(f *eventFilter) *[]string { return &f.Device }),
		listFilter(resource.EventFilterType, func(f *eventFilter) *[]string { return &f.Type }),
		timeFilter(resource.EventFilterSince, func(f *eventFilter) **time.Time { return &f.Since }),
		timeFilter(resource.EventFilterUntil, func(f *eventFilter) **time.Time { return &f.Until }),
	}
	deviceEventFilters = eventFilters[1:]
)

// applicationFilters: applications are not filtered.
var applicationFilters = filterFields[resource.ApplicationListFilter]{}
