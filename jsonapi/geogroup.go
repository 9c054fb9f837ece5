package jsonapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// geogroupPresenter is a geogroup as a geogroups resource object; the
// geometry is its GeoJSON.
type geogroupPresenter struct {
	ID        string         `jsonapi:"primary,geogroups"`
	Name      string         `jsonapi:"attr,name"`
	Geometry  map[string]any `jsonapi:"attr,geometry"`
	CreatedAt string         `jsonapi:"attr,created_at"`
	UpdatedAt string         `jsonapi:"attr,updated_at"`
	base      string
}

// JSONAPILinks implements jsonapi.Linkable.
func (p *geogroupPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/geogroups/" + p.ID}
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable; a
// geogroup has no relationships.
func (p *geogroupPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links { return nil }

func (a *API) presentGeogroup(g *resource.Geogroup) (*geogroupPresenter, error) {
	p := &geogroupPresenter{ID: g.ID, Name: g.Name, CreatedAt: timeString(g.CreatedAt), UpdatedAt: timeString(g.UpdatedAt), base: a.base}
	raw, err := json.Marshal(g.Geometry)
	if err == nil {
		err = json.Unmarshal(raw, &p.Geometry)
	}
	if err != nil {
		return nil, fmt.Errorf("present geogroup %s: %w", g.ID, err)
	}
	return p, nil
}

// geogroupSpec is the body of geogroup creates and updates.
var geogroupSpec = bodySpec{typ: typeGeogroups, attrs: []string{"name", "geometry"}}

func (a *API) geogroupRoutes() []*route {
	read := []scopes.Operation{scopes.OpGeogroupsRead}
	write := []scopes.Operation{scopes.OpGeogroupsWrite}
	ptr := attributePointers()
	return []*route{
		{method: "GET", path: "/geogroups", ops: read, h: a.listGeogroups},
		{method: "POST", path: "/geogroups", ops: write, body: true, pointer: ptr, h: a.createGeogroup},
		{method: "GET", path: "/geogroups/{id}", ops: read, h: a.getGeogroup},
		{method: "PATCH", path: "/geogroups/{id}", ops: write, body: true, pointer: ptr, h: a.updateGeogroup},
		{method: "DELETE", path: "/geogroups/{id}", ops: write, h: a.deleteGeogroup},
	}
}

func (a *API) listGeogroups(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(a, r.URL.RawQuery, geogroupFilters)
	if err != nil {
		return err
	}
	list, err := a.deps.Geogroups.List(r.Context(), q)
	if err != nil {
		return err
	}
	ps := make([]presenter, len(list.Geogroups))
	for i, g := range list.Geogroups {
		if ps[i], err = a.presentGeogroup(g); err != nil {
			return err
		}
	}
	return a.writeMany(w, r, q.Query(), ps, nil, list.Page, list.Total)
}

func (a *API) writeGeogroup(w http.ResponseWriter, r *http.Request, status int, q resource.Query, g *resource.Geogroup) error {
	p, err := a.presentGeogroup(g)
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		return a.writeCreated(w, r, q, p, nil)
	}
	return a.writeOne(w, r, status, q, p, nil)
}

func (a *API) getGeogroup(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	g, err := a.deps.Geogroups.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeGeogroup(w, r, http.StatusOK, q, g)
}

// geometryAttribute reads the geometry attribute: absent, null, or an
// object passed on as its JSON text (its rules are the service's).
func geometryAttribute(o *resourceObject) (resource.Optional[[]byte], error) {
	m, err := optional[map[string]any](o, "geometry", "a GeoJSON geometry object")
	if err != nil || !m.Set || m.Null {
		return resource.Optional[[]byte]{Set: m.Set, Null: m.Null}, err
	}
	return resource.Some([]byte(o.attrs["geometry"])), nil
}

func (a *API) createGeogroup(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	o, err := readResource(r, geogroupSpec, "")
	if err != nil {
		return err
	}
	name, err := optional[string](o, "name", "a string")
	if err != nil {
		return err
	}
	geom, err := geometryAttribute(o)
	if err != nil {
		return err
	}
	g, err := a.deps.Geogroups.Create(r.Context(), resource.GeogroupInput{Name: value(name), Geometry: value(geom)})
	if err != nil {
		return err
	}
	return a.writeGeogroup(w, r, http.StatusCreated, q, g)
}

func (a *API) updateGeogroup(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	o, err := readResource(r, geogroupSpec, r.PathValue("id"))
	if err != nil {
		return err
	}
	name, err := optional[string](o, "name", "a string")
	if err != nil {
		return err
	}
	geom, err := geometryAttribute(o)
	if err != nil {
		return err
	}
	g, err := a.deps.Geogroups.Update(r.Context(), r.PathValue("id"), resource.GeogroupPatch{Name: name, Geometry: geom})
	if err != nil {
		return err
	}
	return a.writeGeogroup(w, r, http.StatusOK, q, g)
}

func (a *API) deleteGeogroup(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	if err := a.deps.Geogroups.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
