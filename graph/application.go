package graph

import (
	"context"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// applicationConnection reads the page of applications the arguments
// select.
func (r *Resolver) applicationConnection(ctx context.Context, a pageArgs) (*model.ApplicationConnection, error) {
	items, start, total, err := fetchPage(ctx, a, func(ctx context.Context, page resource.Page) ([]*resource.Application, int, error) {
		l, err := r.deps.Applications.List(ctx, resource.ListQuery[resource.ApplicationListFilter]{Page: page})
		if err != nil {
			return nil, 0, err
		}
		return l.Applications, l.Total, nil
	})
	if err != nil {
		return nil, err
	}
	return &model.ApplicationConnection{
		Edges: edges(items, start, func(c string, n *resource.Application) *model.ApplicationEdge {
			return &model.ApplicationEdge{Cursor: c, Node: n}
		}),
		PageInfo: pageInfo(start, len(items), total), TotalCount: total,
	}, nil
}

// applicationInput decodes the input of createApplication.
func applicationInput(in model.CreateApplicationInput) resource.ApplicationInput {
	out := resource.ApplicationInput{
		Name: in.Name, GrantTypes: resource.ValuesOf[resource.GrantType](in.GrantTypes), RedirectURIs: in.RedirectUris.Value(),
		PostLogoutRedirectURIs: in.PostLogoutRedirectUris.Value(), Scopes: in.Scopes.Value(),
		TokenEndpointAuthMethod: resource.AuthMethod(value(in.TokenEndpointAuthMethod)),
		PKCEEnforcement:         resource.PKCELevel(value(in.PkceEnforcement)),
		AccessTokenTTL:          value(in.AccessTokenTTL), RefreshTokenDuration: value(in.RefreshTokenDuration),
		RefreshTokenRollingDuration: value(in.RefreshTokenRollingDuration), DeviceTimeout: value(in.DeviceTimeout),
		DevicePollingInterval: value(in.DevicePollingInterval),
	}
	if enabled := in.Enabled.Value(); enabled != nil {
		out.Disabled = !*enabled
	}
	return out
}

// applicationPatch decodes the input of updateApplication.
func applicationPatch(in model.UpdateApplicationInput) resource.ApplicationPatch {
	return resource.ApplicationPatch{
		Name: optional(in.Name), GrantTypes: optionalNames[resource.GrantType](optionalList(in.GrantTypes)),
		RedirectURIs: optionalList(in.RedirectUris), PostLogoutRedirectURIs: optionalList(in.PostLogoutRedirectUris),
		TokenEndpointAuthMethod: optionalName[resource.AuthMethod](optional(in.TokenEndpointAuthMethod)),
		PKCEEnforcement:         optionalName[resource.PKCELevel](optional(in.PkceEnforcement)),
		Scopes:                  optionalList(in.Scopes), AccessTokenTTL: optional(in.AccessTokenTTL),
		RefreshTokenDuration: optional(in.RefreshTokenDuration), RefreshTokenRollingDuration: optional(in.RefreshTokenRollingDuration),
		DeviceTimeout: optional(in.DeviceTimeout), DevicePollingInterval: optional(in.DevicePollingInterval), Enabled: optional(in.Enabled),
	}
}
