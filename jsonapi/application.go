package jsonapi

import (
	"net/http"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// applicationPresenter is an OAuth application as an applications resource
// object; its id is the client_id. ClientSecret is set only in the answer
// that creates or rotates the secret.
type applicationPresenter struct {
	ID                          string         `jsonapi:"primary,applications"`
	Name                        string         `jsonapi:"attr,name"`
	GrantTypes                  []string       `jsonapi:"attr,grant_types"`
	RedirectURIs                []string       `jsonapi:"attr,redirect_uris"`
	PostLogoutRedirectURIs      []string       `jsonapi:"attr,post_logout_redirect_uris"`
	TokenEndpointAuthMethod     string         `jsonapi:"attr,token_endpoint_auth_method"`
	PKCEEnforcement             string         `jsonapi:"attr,pkce_enforcement"`
	Scopes                      []string       `jsonapi:"attr,scopes"`
	AccessTokenTTL              int            `jsonapi:"attr,access_token_ttl"`
	RefreshTokenDuration        int            `jsonapi:"attr,refresh_token_duration"`
	RefreshTokenRollingDuration int            `jsonapi:"attr,refresh_token_rolling_duration"`
	DeviceTimeout               int            `jsonapi:"attr,device_timeout"`
	DevicePollingInterval       int            `jsonapi:"attr,device_polling_interval"`
	Enabled                     bool           `jsonapi:"attr,enabled"`
	ClientSecret                string         `jsonapi:"attr,client_secret,omitempty"`
	CreatedAt                   string         `jsonapi:"attr,created_at"`
	UpdatedAt                   string         `jsonapi:"attr,updated_at"`
	Owner                       *userPresenter `jsonapi:"relation,owner"`
	base                        string
}

// JSONAPILinks implements jsonapi.Linkable.
func (p *applicationPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/applications/" + p.ID}
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable: the
// owner is linkage only (users are not addressable by id).
func (p *applicationPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links { return nil }

func (a *API) presentApplication(app *resource.Application, secret string) *applicationPresenter {
	list := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return &applicationPresenter{
		ID: app.ID, Name: app.Name, GrantTypes: list(resource.Names(app.GrantTypes)), RedirectURIs: list(app.RedirectURIs),
		PostLogoutRedirectURIs: list(app.PostLogoutRedirectURIs), TokenEndpointAuthMethod: string(app.TokenEndpointAuthMethod),
		PKCEEnforcement: string(app.PKCEEnforcement), Scopes: list(app.Scopes), AccessTokenTTL: app.AccessTokenTTL,
		RefreshTokenDuration: app.RefreshTokenDuration, RefreshTokenRollingDuration: app.RefreshTokenRollingDuration,
		DeviceTimeout: app.DeviceTimeout, DevicePollingInterval: app.DevicePollingInterval, Enabled: app.Enabled,
		ClientSecret: secret, CreatedAt: timeString(app.CreatedAt), UpdatedAt: timeString(app.UpdatedAt),
		Owner: &userPresenter{ID: app.OwnerID, base: a.base}, base: a.base,
	}
}

// applicationSpec is the body of application creates and updates.
var applicationSpec = bodySpec{typ: typeApplications, attrs: []string{
	"name", "grant_types", "redirect_uris", "post_logout_redirect_uris", "token_endpoint_auth_method",
	"pkce_enforcement", "scopes", "access_token_ttl", "refresh_token_duration", "refresh_token_rolling_duration",
	"device_timeout", "device_polling_interval", "enabled",
}}

func (a *API) applicationRoutes() []*route {
	ops := []scopes.Operation{scopes.OpApplications}
	ptr := attributePointers()
	return []*route{
		{method: "GET", path: "/applications", ops: ops, h: a.listApplications},
		{method: "POST", path: "/applications", ops: ops, body: true, pointer: ptr, h: a.createApplication},
		{method: "GET", path: "/applications/{id}", ops: ops, h: a.getApplication},
		{method: "PATCH", path: "/applications/{id}", ops: ops, body: true, pointer: ptr, h: a.updateApplication},
		{method: "DELETE", path: "/applications/{id}", ops: ops, h: a.deleteApplication},
		{method: "POST", path: "/applications/{id}/secret", ops: ops, h: a.rotateApplicationSecret},
	}
}

func (a *API) listApplications(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(a, r.URL.RawQuery, applicationFilters)
	if err != nil {
		return err
	}
	list, err := a.deps.Applications.List(r.Context(), q)
	if err != nil {
		return err
	}
	ps := make([]presenter, len(list.Applications))
	for i, app := range list.Applications {
		ps[i] = a.presentApplication(app, "")
	}
	return a.writeMany(w, r, q.Query(), ps, nil, list.Page, list.Total)
}

func (a *API) getApplication(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	app, err := a.deps.Applications.Read(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeOne(w, r, http.StatusOK, q, a.presentApplication(app, ""), nil)
}

// applicationPatch reads the attributes of an application document.
func applicationPatch(o *resourceObject) (resource.ApplicationPatch, error) {
	var p resource.ApplicationPatch
	var err error
	if p.Name, err = optional[string](o, "name", "a string"); err != nil {
		return p, err
	}
	if p.TokenEndpointAuthMethod, err = optional[resource.AuthMethod](o, "token_endpoint_auth_method", "a string"); err != nil {
		return p, err
	}
	if p.PKCEEnforcement, err = optional[resource.PKCELevel](o, "pkce_enforcement", "a string"); err != nil {
		return p, err
	}
	if p.GrantTypes, err = optional[[]resource.GrantType](o, "grant_types", "an array of strings"); err != nil {
		return p, err
	}
	lists := []struct {
		name string
		dst  *resource.Optional[[]string]
	}{{"redirect_uris", &p.RedirectURIs}, {"post_logout_redirect_uris", &p.PostLogoutRedirectURIs}, {"scopes", &p.Scopes}}
	for _, f := range lists {
		if *f.dst, err = optional[[]string](o, f.name, "an array of strings"); err != nil {
			return p, err
		}
	}
	ints := []struct {
		name string
		dst  *resource.Optional[int]
	}{{"access_token_ttl", &p.AccessTokenTTL}, {"refresh_token_duration", &p.RefreshTokenDuration},
		{"refresh_token_rolling_duration", &p.RefreshTokenRollingDuration}, {"device_timeout", &p.DeviceTimeout},
		{"device_polling_interval", &p.DevicePollingInterval}}
	for _, f := range ints {
		if *f.dst, err = optional[int](o, f.name, "an integer"); err != nil {
			return p, err
		}
	}
	if p.Enabled, err = optional[bool](o, "enabled", "a boolean"); err != nil {
		return p, err
	}
	return p, nil
}

func (a *API) createApplication(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	o, err := readResource(r, applicationSpec, "")
	if err != nil {
		return err
	}
	p, err := applicationPatch(o)
	if err != nil {
		return err
	}
	in := resource.ApplicationInput{
		Name: value(p.Name), GrantTypes: value(p.GrantTypes), RedirectURIs: value(p.RedirectURIs),
		PostLogoutRedirectURIs: value(p.PostLogoutRedirectURIs), TokenEndpointAuthMethod: value(p.TokenEndpointAuthMethod),
		PKCEEnforcement: value(p.PKCEEnforcement), Scopes: value(p.Scopes), AccessTokenTTL: value(p.AccessTokenTTL),
		RefreshTokenDuration: value(p.RefreshTokenDuration), RefreshTokenRollingDuration: value(p.RefreshTokenRollingDuration),
		DeviceTimeout: value(p.DeviceTimeout), DevicePollingInterval: value(p.DevicePollingInterval),
		Disabled: p.Enabled.Set && !p.Enabled.Null && !p.Enabled.Value,
	}
	app, secret, err := a.deps.Applications.Register(r.Context(), in)
	if err != nil {
		return err
	}
	return a.writeCreated(w, r, q, a.presentApplication(app, secret), nil)
}

func (a *API) updateApplication(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	o, err := readResource(r, applicationSpec, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := applicationPatch(o)
	if err != nil {
		return err
	}
	app, err := a.deps.Applications.Update(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return a.writeOne(w, r, http.StatusOK, q, a.presentApplication(app, ""), nil)
}

func (a *API) deleteApplication(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	if err := a.deps.Applications.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateApplicationSecret serves POST /applications/{id}/secret: the
// application with its new client secret, shown this once.
func (a *API) rotateApplicationSecret(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	app, secret, err := a.deps.Applications.RenewSecret(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeOne(w, r, http.StatusOK, q, a.presentApplication(app, secret), nil)
}
