package graph_test

import (
	"context"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
)

// mustConsent registers an application of tn's user and records that the
// user consented to scope for it, as the authorization server does.
func (e *env) mustConsent(tn tenant, scope string) *resource.Consent {
	ctx := context.Background()
	app, _, err := e.graph.Applications.Create(ctx, tn.user.ID, resource.ApplicationInput{Name: "Consented",
		GrantTypes: []resource.GrantType{resource.GrantAuthorizationCode}, RedirectURIs: []string{"https://rp.example/cb"},
		Scopes: []string{resource.ScopeMe, resource.ScopeOpenID}})
	if err != nil {
		panic(err)
	}
	now := time.Now().UTC()
	c := &resource.Consent{UserID: tn.user.ID, ClientID: app.ID, CustomerID: tn.customer.ID, Scope: scope, CreatedAt: now, UpdatedAt: now}
	if err := e.graph.Stores.OIDC.PutConsent(ctx, c); err != nil {
		panic(err)
	}
	return c
}

// TestGrants: me.grants lists the user's consents (not another user's);
// revokeGrant withdraws one (the revocation of its tokens is tested in
// package oauth); an unknown or another tenant's application is NOT_FOUND.
func TestGrants(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{})
	c := e.mustConsent(e.a, "me openid")
	other := e.mustConsent(e.b, "openid")

	me := e.me(e.a)
	d := e.query(t, me, `{ me { grants { clientId applicationName scopes createdAt } } }`, nil).ok(t)
	grants := d["me"].(map[string]any)["grants"].([]any)
	if len(grants) != 1 {
		t.Fatalf("grants = %v", grants)
	}
	g := grants[0].(map[string]any)
	if g["clientId"] != c.ClientID || g["applicationName"] != "Consented" || len(g["scopes"].([]any)) != 2 {
		t.Fatalf("grant = %v", g)
	}
	e.query(t, me, `mutation($id: ID!) { revokeGrant(input: {clientId: $id}) { revokedClientId } }`,
		map[string]any{"id": other.ClientID}).fails(t, "NOT_FOUND")
	r := e.query(t, me, `mutation($id: ID!) { revokeGrant(input: {clientId: $id}) { revokedClientId } }`,
		map[string]any{"id": c.ClientID}).ok(t)
	if r["revokeGrant"].(map[string]any)["revokedClientId"] != c.ClientID {
		t.Fatalf("revokeGrant = %v", r)
	}
	d = e.query(t, me, `{ me { grants { clientId } } }`, nil).ok(t)
	if got := d["me"].(map[string]any)["grants"].([]any); len(got) != 0 {
		t.Fatalf("grants after revokeGrant = %v", got)
	}
	e.query(t, me, `mutation($id: ID!) { revokeGrant(input: {clientId: $id}) { revokedClientId } }`,
		map[string]any{"id": c.ClientID}).fails(t, "NOT_FOUND")
}
