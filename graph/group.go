package graph

import (
	"context"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// groupConnection reads the page of device groups the arguments select,
// with the configurations the selection asks for.
func (r *Resolver) groupConnection(ctx context.Context, a pageArgs, q resource.ListQuery[resource.DeviceGroupListFilter]) (*model.DeviceGroupConnection, error) {
	q.Include = includes(ctx, []string{"configuration"})
	items, start, total, err := fetchPage(ctx, a, func(ctx context.Context, page resource.Page) ([]*resource.DeviceGroup, int, error) {
		q.Page = page
		l, err := r.deps.Groups.List(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		prime(ctx, l.Included)
		return l.Groups, l.Total, nil
	})
	if err != nil {
		return nil, err
	}
	return &model.DeviceGroupConnection{
		Edges: edges(items, start, func(c string, n *resource.DeviceGroup) *model.DeviceGroupEdge {
			return &model.DeviceGroupEdge{Cursor: c, Node: n}
		}),
		PageInfo: pageInfo(start, len(items), total), TotalCount: total,
	}, nil
}

// groupPatch decodes the input of updateDeviceGroup.
func groupPatch(in model.UpdateDeviceGroupInput) resource.DeviceGroupPatch {
	return resource.DeviceGroupPatch{Name: optional(in.Name), ConfigurationID: optional(in.ConfigurationID)}
}
