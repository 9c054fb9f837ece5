package graph

import (
	"context"
	"strings"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// configurationConnection reads the page of configurations the arguments
// select.
func (r *Resolver) configurationConnection(ctx context.Context, a pageArgs, q resource.ListQuery[resource.ConfigurationListFilter]) (*model.ConfigurationConnection, error) {
	items, start, total, err := fetchPage(ctx, a, func(ctx context.Context, page resource.Page) ([]*resource.Configuration, int, error) {
		q.Page = page
		l, err := r.deps.Configurations.List(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		return l.Configurations, l.Total, nil
	})
	if err != nil {
		return nil, err
	}
	return &model.ConfigurationConnection{
		Edges: edges(items, start, func(c string, n *resource.Configuration) *model.ConfigurationEdge {
			return &model.ConfigurationEdge{Cursor: c, Node: n}
		}),
		PageInfo: pageInfo(start, len(items), total), TotalCount: total,
	}, nil
}

// configurationPatch decodes the input of updateConfiguration.
func configurationPatch(in model.UpdateConfigurationInput) resource.ConfigurationPatch {
	return resource.ConfigurationPatch{Name: optional(in.Name), Settings: optional(in.Settings)}
}

// stateOf returns the schema's state of a configuration: the resource
// state upper-cased.
func stateOf(c *resource.Configuration) model.ConfigurationState {
	return model.ConfigurationState(strings.ToUpper(string(c.State)))
}
