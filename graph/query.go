package graph

import (
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// This file maps the filter and orderBy arguments of the list fields onto
// the typed queries of the resources, field by field: one line per filter
// field, and an order enum value is the sort field in lower case (a test
// holds the schema's inputs and enums equal to the resource's QuerySpec).
// The services validate the values; an error points at a neutral path
// ("filter.radiusLte") that argumentPath renders as an argument path.

// deviceQuery returns the query of a device list field.
func deviceQuery(f *model.DeviceFilter, orderBy []*model.DeviceOrder) resource.ListQuery[resource.DeviceListFilter] {
	q := resource.ListQuery[resource.DeviceListFilter]{Sort: sortOf(orderBy, func(o *model.DeviceOrder) (model.DeviceOrderField, model.OrderDirection) {
		return o.Field, o.Direction
	})}
	if f != nil {
		q.Filter = resource.DeviceListFilter{
			Search: f.Search.Value(), IMEI: f.Imei.Value(), MAC: f.Mac.Value(), Fault: f.Fault.Value(), Group: f.Group.Value(), Connected: f.Connected.Value(),
			Latitude: f.Latitude.Value(), Longitude: f.Longitude.Value(), RadiusLTE: f.RadiusLte.Value(), RadiusGTE: f.RadiusGte.Value(),
			GeogroupInside: f.GeogroupInside.Value(), GeogroupOutside: f.GeogroupOutside.Value(), GeogroupDistance: f.GeogroupDistance.Value(),
			Attributes: attributeMatches(f.Attributes.Value()),
		}
	}
	return q
}

// groupQuery returns the query of the deviceGroups field.
func groupQuery(f *model.DeviceGroupFilter, orderBy []*model.DeviceGroupOrder) resource.ListQuery[resource.DeviceGroupListFilter] {
	q := resource.ListQuery[resource.DeviceGroupListFilter]{Sort: sortOf(orderBy, func(o *model.DeviceGroupOrder) (model.DeviceGroupOrderField, model.OrderDirection) {
		return o.Field, o.Direction
	})}
	if f != nil {
		q.Filter = resource.DeviceGroupListFilter{Search: f.Search.Value(), Name: f.Name.Value()}
	}
	return q
}

// configurationQuery returns the query of the configurations field.
func configurationQuery(f *model.ConfigurationFilter, orderBy []*model.ConfigurationOrder) resource.ListQuery[resource.ConfigurationListFilter] {
	q := resource.ListQuery[resource.ConfigurationListFilter]{Sort: sortOf(orderBy, func(o *model.ConfigurationOrder) (model.ConfigurationOrderField, model.OrderDirection) {
		return o.Field, o.Direction
	})}
	if f != nil {
		q.Filter = resource.ConfigurationListFilter{Search: f.Search.Value(), Name: f.Name.Value(), State: enumValue(f.State)}
	}
	return q
}

// eventQuery returns the query of the events field.
func eventQuery(f *model.EventFilter, orderBy []*model.EventOrder) resource.ListQuery[resource.EventListFilter] {
	q := resource.ListQuery[resource.EventListFilter]{Sort: eventSort(orderBy)}
	if f != nil {
		q.Filter = resource.EventListFilter{Device: f.Device.Value(), Type: enumList(f.Type), Since: f.Since.Value(), Until: f.Until.Value()}
	}
	return q
}

// deviceEventQuery returns the query of the events field of a device.
func deviceEventQuery(f *model.DeviceEventFilter, orderBy []*model.EventOrder) resource.ListQuery[resource.EventListFilter] {
	q := resource.ListQuery[resource.EventListFilter]{Sort: eventSort(orderBy)}
	if f != nil {
		q.Filter = resource.EventListFilter{Type: enumList(f.Type), Since: f.Since.Value(), Until: f.Until.Value()}
	}
	return q
}

func eventSort(orderBy []*model.EventOrder) []resource.SortField {
	return sortOf(orderBy, func(o *model.EventOrder) (model.EventOrderField, model.OrderDirection) { return o.Field, o.Direction })
}

// sortOf maps an orderBy list to sort fields: the order enum value in
// lower case (CREATED_AT is created_at) and its direction.
func sortOf[O any, F ~string](orderBy []*O, field func(*O) (F, model.OrderDirection)) []resource.SortField {
	if len(orderBy) == 0 {
		return nil
	}
	out := make([]resource.SortField, len(orderBy))
	for i, o := range orderBy {
		f, dir := field(o)
		out[i] = resource.SortField{Field: strings.ToLower(string(f)), Desc: dir == model.OrderDirectionDesc}
	}
	return out
}

// enumValue maps an optional enum to its value in lower case (PUBLISHED is
// published); nil for absent or null.
func enumValue[E ~string](o graphql.Omittable[*E]) *string {
	v := o.Value()
	if v == nil {
		return nil
	}
	s := strings.ToLower(string(*v))
	return &s
}

// enumList maps an optional list of enums to their values in lower case;
// nil for absent or null, empty for an empty list.
func enumList[E ~string](o graphql.Omittable[[]E]) []string {
	v := o.Value()
	if v == nil {
		return nil
	}
	out := make([]string, len(v))
	for i, e := range v {
		out[i] = strings.ToLower(string(e))
	}
	return out
}
