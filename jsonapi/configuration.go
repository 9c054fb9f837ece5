package jsonapi

import (
	"net/http"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// configurationPresenter is a configuration as a configurations resource
// object.
type configurationPresenter struct {
	ID          string         `jsonapi:"primary,configurations"`
	Name        string         `jsonapi:"attr,name"`
	State       string         `jsonapi:"attr,state"`
	Settings    map[string]any `jsonapi:"attr,settings"`
	PublishedAt *string        `jsonapi:"attr,published_at"`
	CreatedAt   string         `jsonapi:"attr,created_at"`
	UpdatedAt   string         `jsonapi:"attr,updated_at"`
	base        string
}

// JSONAPILinks implements jsonapi.Linkable.
func (p *configurationPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/configurations/" + p.ID}
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable.
func (p *configurationPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links { return nil }

func (a *API) presentConfiguration(c *resource.Configuration) *configurationPresenter {
	return &configurationPresenter{
		ID: c.ID, Name: c.Name, State: string(c.State), Settings: c.Settings.Map(), PublishedAt: optTime(c.PublishedAt),
		CreatedAt: timeString(c.CreatedAt), UpdatedAt: timeString(c.UpdatedAt), base: a.base,
	}
}

// configurationSpec is the body of configuration creates and updates.
var configurationSpec = bodySpec{typ: typeConfigurations, attrs: []string{"name", "settings"}}

func (a *API) configurationRoutes() []*route {
	read := []scopes.Operation{scopes.OpGroupsRead}
	write := []scopes.Operation{scopes.OpGroupsWrite}
	ptr := attributePointers()
	return []*route{
		{method: "GET", path: "/configurations", ops: read, h: a.listConfigurations},
		{method: "POST", path: "/configurations", ops: write, body: true, pointer: ptr, h: a.createConfiguration},
		{method: "GET", path: "/configurations/{id}", ops: read, h: a.getConfiguration},
		{method: "PATCH", path: "/configurations/{id}", ops: write, body: true, pointer: ptr, h: a.updateConfiguration},
		{method: "DELETE", path: "/configurations/{id}", ops: write, h: a.deleteConfiguration},
		{method: "POST", path: "/configurations/{id}/publish", ops: write, h: a.publishConfiguration},
	}
}

func (a *API) listConfigurations(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(a, r.URL.RawQuery, configurationFilters)
	if err != nil {
		return err
	}
	list, err := a.deps.Configurations.List(r.Context(), q)
	if err != nil {
		return err
	}
	ps := make([]presenter, len(list.Configurations))
	for i, c := range list.Configurations {
		ps[i] = a.presentConfiguration(c)
	}
	return a.writeMany(w, r, q.Query(), ps, nil, list.Page, list.Total)
}

func (a *API) getConfiguration(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	c, err := a.deps.Configurations.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeOne(w, r, http.StatusOK, q, a.presentConfiguration(c), nil)
}

// configurationPatch reads the attributes of a configuration document;
// settings are read as a JSON merge patch (RFC 7396) and checked against
// the known keys and ranges by resource. A create applies the patch to no
// settings, so there a null key is simply not set.
func configurationPatch(o *resourceObject) (resource.ConfigurationPatch, error) {
	var p resource.ConfigurationPatch
	var err error
	if p.Name, err = optional[string](o, "name", "a string"); err != nil {
		return p, err
	}
	raw, err := optional[map[string]any](o, "settings", "an object")
	if err != nil {
		return p, err
	}
	switch {
	case !raw.Set:
	case raw.Null:
		p.Settings = resource.Null[resource.SettingsPatch]()
	default:
		s, err := resource.ParseSettingsPatch(raw.Value)
		if err != nil {
			return p, err
		}
		p.Settings = resource.Some(s)
	}
	return p, nil
}

func (a *API) createConfiguration(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	o, err := readResource(r, configurationSpec, "")
	if err != nil {
		return err
	}
	p, err := configurationPatch(o)
	if err != nil {
		return err
	}
	c, err := a.deps.Configurations.Create(r.Context(), resource.ConfigurationInput{Name: value(p.Name), Settings: value(p.Settings).Apply(resource.Settings{})})
	if err != nil {
		return err
	}
	return a.writeCreated(w, r, q, a.presentConfiguration(c), nil)
}

func (a *API) updateConfiguration(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	o, err := readResource(r, configurationSpec, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := configurationPatch(o)
	if err != nil {
		return err
	}
	c, err := a.deps.Configurations.Update(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return a.writeOne(w, r, http.StatusOK, q, a.presentConfiguration(c), nil)
}

func (a *API) deleteConfiguration(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	if err := a.deps.Configurations.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

// publishConfiguration serves POST /configurations/{id}/publish: the
// configuration, now published (one way).
func (a *API) publishConfiguration(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	c, err := a.deps.Configurations.Publish(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeOne(w, r, http.StatusOK, q, a.presentConfiguration(c), nil)
}
