package jsonapi

import (
	"net/http"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// groupPresenter is a device group as a device-groups resource object.
type groupPresenter struct {
	ID            string                  `jsonapi:"primary,device-groups"`
	Name          string                  `jsonapi:"attr,name"`
	CreatedAt     string                  `jsonapi:"attr,created_at"`
	UpdatedAt     string                  `jsonapi:"attr,updated_at"`
	Configuration *configurationPresenter `jsonapi:"relation,configuration"`
	base          string
}

// JSONAPILinks implements jsonapi.Linkable.
func (p *groupPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/device-groups/" + p.ID}
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable: the
// configuration relationship has a relationship URL; the configuration
// itself is at its own URL.
func (p *groupPresenter) JSONAPIRelationshipLinks(rel string) *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/device-groups/" + p.ID + "/relationships/" + rel}
}

// appendLinks implements linkWriter: JSONAPILinks.
func (p *groupPresenter) appendLinks(b []byte) []byte {
	b = append(b, '{')
	b = appendLink(b, true, "self", p.base, "/device-groups/", p.ID)
	return append(b, '}')
}

// appendRelationshipLinks implements linkWriter: JSONAPIRelationshipLinks.
func (p *groupPresenter) appendRelationshipLinks(b []byte, rel string) ([]byte, bool) {
	b = append(b, '{')
	b = appendLink(b, true, "self", p.base, "/device-groups/", p.ID, "/relationships/", rel)
	return append(b, '}'), true
}

func (a *API) presentGroup(g *resource.DeviceGroup) *groupPresenter {
	p := &groupPresenter{ID: g.ID, Name: g.Name, CreatedAt: timeString(g.CreatedAt), UpdatedAt: timeString(g.UpdatedAt), base: a.base}
	if g.ConfigurationID != "" {
		p.Configuration = &configurationPresenter{ID: g.ConfigurationID, base: a.base}
	}
	return p
}

// groupSpec is the body of device group creates and updates.
var groupSpec = bodySpec{typ: typeDeviceGroups, attrs: []string{"name"},
	rels: map[string]string{"configuration": typeConfigurations}}

func (a *API) groupRoutes() []*route {
	read := []scopes.Operation{scopes.OpGroupsRead}
	write := []scopes.Operation{scopes.OpGroupsWrite}
	ptr := attributePointers("configuration")
	return []*route{
		{method: "GET", path: "/device-groups", ops: read, h: a.listGroups},
		{method: "POST", path: "/device-groups", ops: write, body: true, pointer: ptr, h: a.createGroup},
		{method: "GET", path: "/device-groups/{id}", ops: read, h: a.getGroup},
		{method: "PATCH", path: "/device-groups/{id}", ops: write, body: true, pointer: ptr, h: a.updateGroup},
		{method: "DELETE", path: "/device-groups/{id}", ops: write, h: a.deleteGroup},
		{method: "GET", path: "/device-groups/{id}/relationships/configuration", ops: read, h: a.getGroupConfigurationLinkage},
		{method: "PATCH", path: "/device-groups/{id}/relationships/configuration", ops: write, body: true, pointer: linkagePointer, h: a.assignConfiguration},
	}
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(a, r.URL.RawQuery, groupFilters)
	if err != nil {
		return err
	}
	list, err := a.deps.Groups.List(r.Context(), q)
	if err != nil {
		return err
	}
	ps := make([]presenter, len(list.Groups))
	for i, g := range list.Groups {
		ps[i] = a.presentGroup(g)
	}
	return a.writeMany(w, r, q.Query(), ps, a.presentIncluded(&list.Included), list.Page, list.Total)
}

// writeGroup writes one group with what q's include asks for.
func (a *API) writeGroup(w http.ResponseWriter, r *http.Request, status int, q resource.Query, g *resource.DeviceGroup) error {
	var related []presenter
	if len(q.Include) > 0 {
		inc, err := a.deps.Groups.Include(r.Context(), []*resource.DeviceGroup{g}, q.Include)
		if err != nil {
			return err
		}
		related = a.presentIncluded(inc)
	}
	if status == http.StatusCreated {
		return a.writeCreated(w, r, q, a.presentGroup(g), related)
	}
	return a.writeOne(w, r, status, q, a.presentGroup(g), related)
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	g, err := a.deps.Groups.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeGroup(w, r, http.StatusOK, q, g)
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	o, err := readResource(r, groupSpec, "")
	if err != nil {
		return err
	}
	name, err := optional[string](o, "name", "a string")
	if err != nil {
		return err
	}
	g, err := a.deps.Groups.Create(r.Context(), resource.DeviceGroupInput{
		Name: value(name), ConfigurationID: value(relationship(o, "configuration")),
	})
	if err != nil {
		return err
	}
	return a.writeGroup(w, r, http.StatusCreated, q, g)
}

func (a *API) updateGroup(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	o, err := readResource(r, groupSpec, r.PathValue("id"))
	if err != nil {
		return err
	}
	name, err := optional[string](o, "name", "a string")
	if err != nil {
		return err
	}
	g, err := a.deps.Groups.Update(r.Context(), r.PathValue("id"), resource.DeviceGroupPatch{
		Name: name, ConfigurationID: relationship(o, "configuration"),
	})
	if err != nil {
		return err
	}
	return a.writeGroup(w, r, http.StatusOK, q, g)
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	if err := a.deps.Groups.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

// groupConfigurationLinkage writes the configuration relationship
// document of a group.
func (a *API) groupConfigurationLinkage(w http.ResponseWriter, g *resource.DeviceGroup) {
	self := a.url("/device-groups/" + g.ID + "/relationships/configuration")
	related := ""
	if g.ConfigurationID != "" {
		related = a.url("/configurations/" + g.ConfigurationID)
	}
	writeDocument(w, http.StatusOK, a.linkage(self, related, typeConfigurations, g.ConfigurationID))
}

func (a *API) getGroupConfigurationLinkage(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	g, err := a.deps.Groups.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.groupConfigurationLinkage(w, g)
	return nil
}

// assignConfiguration serves PATCH
// /device-groups/{id}/relationships/configuration: data is a published
// configuration's identifier, or null to unassign.
func (a *API) assignConfiguration(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	configurationID, err := readRelationship(r, typeConfigurations)
	if err != nil {
		return err
	}
	g, err := a.deps.Groups.AssignConfiguration(r.Context(), r.PathValue("id"), configurationID)
	if err != nil {
		return err
	}
	a.groupConfigurationLinkage(w, g)
	return nil
}
