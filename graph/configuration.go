package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"

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

// configurationPatch decodes the input of updateConfiguration: settings
// are a merge patch, each field absent, null or a value.
func configurationPatch(in model.UpdateConfigurationInput) resource.ConfigurationPatch {
	p := resource.ConfigurationPatch{Name: optional(in.Name)}
	switch s, ok := in.Settings.ValueOK(); {
	case !ok:
	case s == nil:
		p.Settings = resource.Null[resource.SettingsPatch]()
	default:
		p.Settings = resource.Some(settingsPatch(s))
	}
	return p
}

// settingsPatch decodes a settings input as a merge patch.
func settingsPatch(in *model.ConfigurationSettingsInput) resource.SettingsPatch {
	return resource.SettingsPatch{
		ReportingIntervalS:      optional(in.ReportingIntervalS),
		TemperatureLogIntervalS: optional(in.TemperatureLogIntervalS),
		ShockThresholdG:         optional(in.ShockThresholdG),
	}
}

// settingsInput decodes the settings of createConfiguration: absent and
// null fields are not set.
func settingsInput(in graphql.Omittable[*model.ConfigurationSettingsInput]) resource.Settings {
	s := in.Value()
	if s == nil {
		return resource.Settings{}
	}
	return settingsPatch(s).Apply(resource.Settings{})
}

// stateOf returns the schema's state of a configuration: the resource
// state upper-cased.
func stateOf(c *resource.Configuration) model.ConfigurationState {
	return model.ConfigurationState(strings.ToUpper(string(c.State)))
}
