package graph

import (
	"context"

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

// deviceInput decodes the input of createDevice.
func deviceInput(in model.CreateDeviceInput) resource.DeviceInput {
	return resource.DeviceInput{
		Name: in.Name, IMEI: in.Imei, MAC: value(in.Mac), Latitude: in.Latitude.Value(), Longitude: in.Longitude.Value(),
		Fault: value(in.Fault), GroupID: value(in.GroupID),
	}
}

// devicePatch decodes the input of updateDevice.
func devicePatch(in model.UpdateDeviceInput) resource.DevicePatch {
	return resource.DevicePatch{
		Name: optional(in.Name), IMEI: optional(in.Imei), MAC: optional(in.Mac), Latitude: optional(in.Latitude),
		Longitude: optional(in.Longitude), Fault: optional(in.Fault), GroupID: optional(in.GroupID),
	}
}
