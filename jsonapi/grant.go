package jsonapi

import (
	"net/http"
	"slices"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// typeGrants is the type of the consents a user gave applications.
const typeGrants = "grants"

// grantPresenter is a consent the current user gave an application, as a
// grants resource object; its id is the application's client id.
type grantPresenter struct {
	ID              string   `jsonapi:"primary,grants"`
	ApplicationName string   `jsonapi:"attr,application_name"`
	Scopes          []string `jsonapi:"attr,scopes"`
	CreatedAt       string   `jsonapi:"attr,created_at"`
	UpdatedAt       string   `jsonapi:"attr,updated_at"`
	base            string
}

// JSONAPILinks implements jsonapi.Linkable.
func (p *grantPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/users/me/grants/" + p.ID}
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable.
func (p *grantPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links { return nil }

func (a *API) presentGrant(g *resource.Grant) *grantPresenter {
	return &grantPresenter{ID: g.ClientID, ApplicationName: g.ApplicationName, Scopes: slices.Clone(g.Scopes),
		CreatedAt: timeString(g.CreatedAt), UpdatedAt: timeString(g.UpdatedAt), base: a.base}
}

func (a *API) grantRoutes() []*route {
	ops := []scopes.Operation{scopes.OpGrants}
	return []*route{
		{method: "GET", path: "/users/me/grants", ops: ops, h: a.listGrants},
		{method: "DELETE", path: "/users/me/grants/{id}", ops: ops, h: a.revokeGrant},
	}
}

// listGrants answers the current user's grants, oldest first, in one
// document without pages (one per application at most).
func (a *API) listGrants(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	grants, err := a.deps.Grants.List(r.Context())
	if err != nil {
		return err
	}
	ps := make([]presenter, len(grants))
	for i, g := range grants {
		ps[i] = a.presentGrant(g)
	}
	return a.writeAll(w, r, http.StatusOK, q, ps)
}

// revokeGrant serves DELETE /users/me/grants/{id}: the consent is withdrawn
// and the application's tokens for the user are revoked.
func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	if err := a.deps.Grants.Revoke(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
