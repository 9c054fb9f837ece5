package jsonapi

import (
	"net/http"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// userPresenter is a user as a users resource object.
type userPresenter struct {
	ID        string             `jsonapi:"primary,users"`
	Email     string             `jsonapi:"attr,email"`
	CreatedAt string             `jsonapi:"attr,created_at"`
	UpdatedAt string             `jsonapi:"attr,updated_at"`
	Customer  *customerPresenter `jsonapi:"relation,customer"`
	base      string
}

// JSONAPILinks implements jsonapi.Linkable: the current user is the only
// user a client can address.
func (p *userPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/users/me"}
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable.
func (p *userPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links {
	return &jsonapi.Links{"related": p.base + "/users/me/customer"}
}

// customerPresenter is a customer (tenant) as a customers resource object.
type customerPresenter struct {
	ID        string `jsonapi:"primary,customers"`
	Name      string `jsonapi:"attr,name"`
	CreatedAt string `jsonapi:"attr,created_at"`
	UpdatedAt string `jsonapi:"attr,updated_at"`
	base      string
}

// JSONAPILinks implements jsonapi.Linkable: a principal reaches its
// customer through its user.
func (p *customerPresenter) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": p.base + "/users/me/customer"}
}

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable.
func (p *customerPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links { return nil }

func (a *API) presentUser(u *resource.User) *userPresenter {
	return &userPresenter{ID: u.ID, Email: u.Email, CreatedAt: timeString(u.CreatedAt), UpdatedAt: timeString(u.UpdatedAt),
		Customer: &customerPresenter{ID: u.CustomerID, base: a.base}, base: a.base}
}

func (a *API) presentCustomer(c *resource.Customer) *customerPresenter {
	return &customerPresenter{ID: c.ID, Name: c.Name, CreatedAt: timeString(c.CreatedAt), UpdatedAt: timeString(c.UpdatedAt), base: a.base}
}

// passwordSpec is the body of POST /users/me/password.
var passwordSpec = bodySpec{typ: typeUsers, attrs: []string{"old_password", "password", "password_confirmation"}, idOptional: true}

func (a *API) userRoutes() []*route {
	me := []scopes.Operation{scopes.OpCurrentUser}
	return []*route{
		{method: "GET", path: "/users/me", ops: me, h: a.getMe},
		{method: "GET", path: "/users/me/customer", ops: me, h: a.getMyCustomer},
		{method: "POST", path: "/users/me/password", ops: me, body: true, pointer: attributePointers(), h: a.changePassword},
	}
}

// getMe serves GET /users/me: the user with its customer, which is
// included unless include= says otherwise.
func (a *API) getMe(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	for _, inc := range q.Include {
		if inc != "customer" {
			return badParameter("include", "users can include customer only")
		}
	}
	u, c, err := a.deps.Users.Me(r.Context())
	if err != nil {
		return err
	}
	var related []presenter
	if q.Include == nil || len(q.Include) > 0 {
		related = append(related, a.presentCustomer(c))
	}
	return a.writeOne(w, r, http.StatusOK, q, a.presentUser(u), related)
}

// getMyCustomer serves GET /users/me/customer, the related resource of the
// user's customer relationship.
func (a *API) getMyCustomer(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return err
	}
	if q.Include != nil {
		return badParameter("include", "customers have no relationships to include")
	}
	_, c, err := a.deps.Users.Me(r.Context())
	if err != nil {
		return err
	}
	return a.writeOne(w, r, http.StatusOK, q, a.presentCustomer(c), nil)
}

// changePassword serves POST /users/me/password: old_password, password
// and password_confirmation in the attributes of a users resource object;
// 204 on success.
func (a *API) changePassword(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	p, _ := scopes.FromContext(r.Context())
	id := "me"
	if p != nil && p.UserID != "" {
		id = p.UserID
	}
	o, err := readResource(r, passwordSpec, id)
	if err != nil {
		return err
	}
	var in [3]string
	for i, name := range passwordSpec.attrs {
		v, err := optional[string](o, name, "a string")
		if err != nil {
			return err
		}
		in[i] = value(v)
	}
	if err := a.deps.Users.ChangePassword(r.Context(), in[0], in[1], in[2]); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
