package graph

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// deviceConnection reads the page of devices the arguments select through
// list (the devices of the customer, or of a group), with the groups and
// configurations the selection asks for.
func deviceConnection(ctx context.Context, a pageArgs, q resource.ListQuery[resource.DeviceListFilter],
	list func(context.Context, resource.ListQuery[resource.DeviceListFilter]) (*resource.DeviceList, error)) (*model.DeviceConnection, error) {
	items, start, total, err := fetchPage(ctx, a, listDevices(ctx, q, list))
	if err != nil {
		return nil, err
	}
	return &model.DeviceConnection{
		Edges: edges(items, start, func(c string, n *resource.Device) *model.DeviceEdge {
			return &model.DeviceEdge{Cursor: c, Node: n}
		}),
		PageInfo: pageInfo(start, len(items), total), TotalCount: total,
	}, nil
}

// deviceInput decodes the input of createDevice. EInvalid (Field
// "attributes...") for attributes that are not an object of strings,
// numbers and booleans.
func deviceInput(in model.CreateDeviceInput) (resource.DeviceInput, error) {
	d := resource.DeviceInput{
		Name: in.Name, IMEI: in.Imei, MAC: value(in.Mac), Latitude: in.Latitude.Value(), Longitude: in.Longitude.Value(),
		Fault: value(in.Fault), GroupID: value(in.GroupID),
	}
	a, err := attributesInput(in.Attributes)
	d.Attributes = a.Value
	return d, err
}

// devicePatch decodes the input of updateDevice; errors as deviceInput.
func devicePatch(in model.UpdateDeviceInput) (resource.DevicePatch, error) {
	p := resource.DevicePatch{
		Name: optional(in.Name), IMEI: optional(in.Imei), MAC: optional(in.Mac), Latitude: optional(in.Latitude),
		Longitude: optional(in.Longitude), Fault: optional(in.Fault), GroupID: optional(in.GroupID),
	}
	var err error
	p.Attributes, err = attributesInput(in.Attributes)
	return p, err
}

// attributesInput reads the attributes of a device input: absent, null or
// an object.
func attributesInput(o graphql.Omittable[model.JSON]) (resource.Optional[resource.Attributes], error) {
	raw, ok := o.ValueOK()
	switch {
	case !ok:
		return resource.Optional[resource.Attributes]{}, nil
	case len(raw) == 0 || string(raw) == "null":
		return resource.Null[resource.Attributes](), nil
	}
	a, err := resource.ParseAttributesJSON(string(raw))
	if err != nil {
		return resource.Optional[resource.Attributes]{}, err
	}
	return resource.Some(a), nil
}

// attributeMatches decodes the attribute filters of a device filter; a
// value that is not JSON stays nil, which the service refuses.
func attributeMatches(ms []*model.AttributeMatch) []resource.AttributeMatch {
	if len(ms) == 0 {
		return nil
	}
	out := make([]resource.AttributeMatch, len(ms))
	for i, m := range ms {
		dec := json.NewDecoder(bytes.NewReader(m.Value))
		dec.UseNumber()
		var v any
		_ = dec.Decode(&v)
		out[i] = resource.AttributeMatch{Key: m.Key, Value: v}
	}
	return out
}
