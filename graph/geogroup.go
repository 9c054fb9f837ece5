package graph

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// geogroupQuery returns the query of the geogroups field.
func geogroupQuery(f *model.GeogroupFilter, orderBy []*model.GeogroupOrder) resource.ListQuery[resource.GeogroupListFilter] {
	q := resource.ListQuery[resource.GeogroupListFilter]{Sort: sortOf(orderBy, func(o *model.GeogroupOrder) (model.GeogroupOrderField, model.OrderDirection) {
		return o.Field, o.Direction
	})}
	if f != nil {
		q.Filter = resource.GeogroupListFilter{Search: f.Search.Value(), Name: f.Name.Value()}
	}
	return q
}

// geogroupConnection reads the page of geogroups the arguments select.
func (r *Resolver) geogroupConnection(ctx context.Context, a pageArgs, q resource.ListQuery[resource.GeogroupListFilter]) (*model.GeogroupConnection, error) {
	items, start, total, err := fetchPage(ctx, a, func(ctx context.Context, page resource.Page) ([]*resource.Geogroup, int, error) {
		q.Page = page
		l, err := r.deps.Geogroups.List(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		return l.Geogroups, l.Total, nil
	})
	if err != nil {
		return nil, err
	}
	return &model.GeogroupConnection{
		Edges: edges(items, start, func(c string, n *resource.Geogroup) *model.GeogroupEdge {
			return &model.GeogroupEdge{Cursor: c, Node: n}
		}),
		PageInfo: pageInfo(start, len(items), total), TotalCount: total,
	}, nil
}

// geogroupPatch decodes the input of updateGeogroup.
func geogroupPatch(in model.UpdateGeogroupInput) resource.GeogroupPatch {
	p := resource.GeogroupPatch{Name: optional(in.Name)}
	if v, ok := in.Geometry.ValueOK(); ok {
		p.Geometry = resource.Some([]byte(v))
		if len(v) == 0 || strings.TrimSpace(string(v)) == "null" {
			p.Geometry = resource.Null[[]byte]()
		}
	}
	return p
}

// geometryJSON is the GeoJSON of a geometry.
func geometryJSON(g *resource.Geometry) (model.JSON, error) {
	b, err := json.Marshal(g)
	return model.JSON(b), err
}
