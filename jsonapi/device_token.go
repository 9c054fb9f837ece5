package jsonapi

import (
	"net/http"
	"slices"
	"time"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// deviceTokenPresenter is a device token as a device-tokens resource
// object. Token is set only in the answer that creates it: the token is
// never shown again.
type deviceTokenPresenter struct {
	ID          string           `jsonapi:"primary,device-tokens"`
	Name        string           `jsonapi:"attr,name"`
	Permissions []string         `jsonapi:"attr,permissions"`
	CreatedAt   string           `jsonapi:"attr,created_at"`
	ExpiresAt   *string          `jsonapi:"attr,expires_at"`
	Token       string           `jsonapi:"attr,token,omitempty"`
	Device      *devicePresenter `jsonapi:"relation,device"`
	base        string
}

// JSONAPILinks implements jsonapi.Linkable.
func (p *deviceTokenPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/devices/" + p.Device.ID + "/tokens/" + p.ID}
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable.
func (p *deviceTokenPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links {
	return &jsonapi.Links{"related": p.base + "/devices/" + p.Device.ID}
}

func (a *API) presentDeviceToken(t *resource.DeviceToken, secret string) *deviceTokenPresenter {
	return &deviceTokenPresenter{ID: t.ID, Name: t.Name, Permissions: slices.Clone(t.Permissions), CreatedAt: timeString(t.CreatedAt),
		ExpiresAt: optTime(t.ExpiresAt), Token: secret, Device: &devicePresenter{ID: t.DeviceID, base: a.base}, base: a.base}
}

// deviceTokenSpec is the body of a device token create.
var deviceTokenSpec = bodySpec{typ: typeDeviceTokens, attrs: []string{"name", "permissions", "expires_at"}}

func (a *API) deviceTokenRoutes() []*route {
	ops := []scopes.Operation{scopes.OpDeviceTokens}
	return []*route{
		{method: "GET", path: "/devices/{id}/tokens", ops: ops, h: a.listDeviceTokens},
		{method: "POST", path: "/devices/{id}/tokens", ops: ops, body: true, pointer: attributePointers(), h: a.createDeviceToken},
		{method: "GET", path: "/devices/{id}/tokens/{token_id}", ops: ops, h: a.readDeviceToken},
		{method: "DELETE", path: "/devices/{id}/tokens/{token_id}", ops: ops, h: a.revokeDeviceToken},
	}
}

// listDeviceTokens answers the live tokens of a device (at most
// resource.MaxDeviceTokens), without their secrets, oldest first, in one
// document without pages.
func (a *API) listDeviceTokens(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	tokens, err := a.deps.DeviceTokens.List(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ps := make([]presenter, len(tokens))
	for i, t := range tokens {
		ps[i] = a.presentDeviceToken(t, "")
	}
	return a.writeAll(w, r, http.StatusOK, q, ps)
}

func (a *API) createDeviceToken(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	if keep, ok := q.Fields[typeDeviceTokens]; ok && !slices.Contains(keep, "token") {
		// The token is shown once: no sparse fieldset hides it.
		q.Fields[typeDeviceTokens] = append(slices.Clone(keep), "token")
	}
	o, err := readResource(r, deviceTokenSpec, "")
	if err != nil {
		return err
	}
	name, err := optional[string](o, "name", "a string")
	if err != nil {
		return err
	}
	perms, err := optional[[]string](o, "permissions", "an array of strings")
	if err != nil {
		return err
	}
	expires, err := optional[string](o, "expires_at", "an RFC 3339 time or null")
	if err != nil {
		return err
	}
	in := resource.DeviceTokenInput{Name: value(name)}
	if perms.Set && !perms.Null {
		in.Permissions = perms.Value
		if in.Permissions == nil {
			in.Permissions = []string{}
		}
	}
	if expires.Set && !expires.Null {
		t, err := time.Parse(time.RFC3339Nano, expires.Value)
		if err != nil {
			return badBody("/data/attributes/expires_at", "expires_at must be an RFC 3339 time or null")
		}
		in.ExpiresAt = &t
	}
	t, secret, err := a.deps.DeviceTokens.Create(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return a.writeCreated(w, r, q, a.presentDeviceToken(t, secret), nil)
}

// readDeviceToken answers one live token of a device, without its secret.
func (a *API) readDeviceToken(w http.ResponseWriter, r *http.Request) error {
	q, err := a.oneQuery(r)
	if err != nil {
		return err
	}
	t, err := a.deps.DeviceTokens.Read(r.Context(), r.PathValue("id"), r.PathValue("token_id"))
	if err != nil {
		return err
	}
	return a.writeOne(w, r, http.StatusOK, q, a.presentDeviceToken(t, ""), nil)
}

func (a *API) revokeDeviceToken(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	if err := a.deps.DeviceTokens.Revoke(r.Context(), r.PathValue("id"), r.PathValue("token_id")); err != nil {
		return err
	}
	return noContent(w)
}
