package resource_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// call is one service method performing an operation, with whatever
// fixture it needs made beforehand (through the stores, not the rules).
type call struct {
	name string
	do   func(t *testing.T, e *env, ctx context.Context) error
}

// notServedYet lists the operations of the scopes table whose services
// belong to a later issue; their calls are added there. Every other row of
// the table must have calls below (events and device tokens: in
// eventOperationCalls).
var notServedYet = map[scopes.Operation]bool{}

// newPassword is what ChangePassword calls set.
const newPassword = "another horse battery"

// operationCalls returns, for each operation, the service methods that
// perform it on customer A's fixtures.
func operationCalls() map[scopes.Operation][]call {
	newApp := func(t *testing.T, e *env) *resource.Application {
		return storagetest.MustCreateApplication(t, e.stores.apps, e.a.customer.ID, e.a.user.ID)
	}
	newDevice := func(t *testing.T, e *env) *resource.Device {
		return storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(e.a.customer.ID, e.a.customer.CreatedAt))
	}
	newGroup := func(t *testing.T, e *env) *resource.DeviceGroup {
		return storagetest.MustCreateDeviceGroup(t, e.stores.groups, storagetest.NewDeviceGroup(e.a.customer.ID, e.a.customer.CreatedAt))
	}
	newGeogroup := func(t *testing.T, e *env) *resource.Geogroup {
		return storagetest.MustCreateGeogroup(t, e.app.Stores.Geogroups, storagetest.NewGeogroup(e.a.customer.ID, e.a.customer.CreatedAt))
	}
	newDraft := func(t *testing.T, e *env) *resource.Configuration {
		return storagetest.MustCreateConfiguration(t, e.stores.configs, storagetest.NewConfiguration(e.a.customer.ID, e.a.customer.CreatedAt))
	}
	return map[scopes.Operation][]call{
		scopes.OpGrants: {
			{"List", func(t *testing.T, e *env, ctx context.Context) error { _, err := e.app.Grants.List(ctx); return err }},
			{"Revoke", func(t *testing.T, e *env, ctx context.Context) error {
				app := newApp(t, e)
				now := time.Now().UTC()
				must(t, e.app.Stores.OIDC.PutConsent(t.Context(), &resource.Consent{UserID: e.a.user.ID, ClientID: app.ID,
					CustomerID: e.a.customer.ID, Scope: "openid", CreatedAt: now, UpdatedAt: now}))
				return e.app.Grants.Revoke(ctx, app.ID)
			}},
		},
		scopes.OpCurrentUser: {
			{"Me", func(t *testing.T, e *env, ctx context.Context) error { _, _, err := e.users.Me(ctx); return err }},
			{"ChangePassword", func(t *testing.T, e *env, ctx context.Context) error {
				must(t, e.users.SetPassword(t.Context(), e.a.user.ID, testPassword))
				return e.users.ChangePassword(ctx, testPassword, newPassword, newPassword)
			}},
		},
		scopes.OpApplications: {
			{"List", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.apps.List(ctx, appQuery{})
				return err
			}},
			{"Read", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.apps.Read(ctx, newApp(t, e).ID)
				return err
			}},
			{"Register", func(t *testing.T, e *env, ctx context.Context) error {
				_, _, err := e.apps.Register(ctx, resource.ApplicationInput{Name: "Backend", GrantTypes: []resource.GrantType{resource.GrantClientCredentials}})
				return err
			}},
			{"Update", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.apps.Update(ctx, newApp(t, e).ID, resource.ApplicationPatch{Name: resource.Some("Renamed")})
				return err
			}},
			{"RenewSecret", func(t *testing.T, e *env, ctx context.Context) error {
				_, _, err := e.apps.RenewSecret(ctx, newApp(t, e).ID)
				return err
			}},
			{"Delete", func(t *testing.T, e *env, ctx context.Context) error { return e.apps.Delete(ctx, newApp(t, e).ID) }},
		},
		scopes.OpDevicesRead: {
			{"List", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.devices.List(ctx, deviceQuery{})
				return err
			}},
			// A device token reads its own device: the fixture's.
			{"Find", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.devices.Find(ctx, e.a.device.ID)
				return err
			}},
			{"Include", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.devices.Include(ctx, []*resource.Device{e.a.device}, nil)
				return err
			}},
		},
		scopes.OpDevicesWrite: {
			{"Create", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.devices.Create(ctx, resource.DeviceInput{Name: "New", IMEI: storagetest.NewIMEI()})
				return err
			}},
			{"Update", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.devices.Update(ctx, newDevice(t, e).ID, resource.DevicePatch{Fault: resource.Some(true)})
				return err
			}},
			{"SetGroup", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.devices.SetGroup(ctx, newDevice(t, e).ID, e.a.group.ID)
				return err
			}},
			{"Delete", func(t *testing.T, e *env, ctx context.Context) error {
				return e.devices.Delete(ctx, newDevice(t, e).ID)
			}},
		},
		scopes.OpGroupsRead: {
			{"GroupList", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.groups.List(ctx, groupQuery{})
				return err
			}},
			{"GroupFind", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.groups.Find(ctx, e.a.group.ID)
				return err
			}},
			{"GroupFindMany", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.groups.FindMany(ctx, []string{e.a.group.ID})
				return err
			}},
			{"GroupInclude", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.groups.Include(ctx, []*resource.DeviceGroup{e.a.group}, []string{resource.IncludeConfiguration})
				return err
			}},
			{"GroupConfiguration", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.groups.Configuration(ctx, e.a.group.ID)
				return err
			}},
			{"ConfigurationList", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.configs.List(ctx, configQuery{})
				return err
			}},
			{"ConfigurationFind", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.configs.Find(ctx, e.a.config.ID)
				return err
			}},
			{"ConfigurationFindMany", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.configs.FindMany(ctx, []string{e.a.config.ID})
				return err
			}},
		},
		scopes.OpGeogroupsRead: {
			{"GeogroupList", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.app.Geogroups.List(ctx, resource.ListQuery[resource.GeogroupListFilter]{})
				return err
			}},
			{"GeogroupFind", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.app.Geogroups.Find(ctx, newGeogroup(t, e).ID)
				return err
			}},
		},
		scopes.OpGeogroupsWrite: {
			{"GeogroupCreate", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.app.Geogroups.Create(ctx, resource.GeogroupInput{Name: "New", Geometry: []byte(storagetest.SquareGeometry)})
				return err
			}},
			{"GeogroupUpdate", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.app.Geogroups.Update(ctx, newGeogroup(t, e).ID, resource.GeogroupPatch{Name: resource.Some("Renamed")})
				return err
			}},
			{"GeogroupDelete", func(t *testing.T, e *env, ctx context.Context) error {
				return e.app.Geogroups.Delete(ctx, newGeogroup(t, e).ID)
			}},
		},
		scopes.OpGroupsWrite: {
			{"GroupCreate", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.groups.Create(ctx, resource.DeviceGroupInput{Name: "New", ConfigurationID: e.a.config.ID})
				return err
			}},
			{"GroupUpdate", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.groups.Update(ctx, newGroup(t, e).ID, resource.DeviceGroupPatch{Name: resource.Some("Renamed")})
				return err
			}},
			{"GroupAssignConfiguration", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.groups.AssignConfiguration(ctx, newGroup(t, e).ID, e.a.config.ID)
				return err
			}},
			{"GroupDelete", func(t *testing.T, e *env, ctx context.Context) error { return e.groups.Delete(ctx, newGroup(t, e).ID) }},
			{"ConfigurationCreate", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.configs.Create(ctx, resource.ConfigurationInput{Name: "New"})
				return err
			}},
			{"ConfigurationUpdate", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.configs.Update(ctx, newDraft(t, e).ID, resource.ConfigurationPatch{Name: resource.Some("Renamed")})
				return err
			}},
			{"ConfigurationPublish", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.configs.Publish(ctx, newDraft(t, e).ID)
				return err
			}},
			{"ConfigurationDelete", func(t *testing.T, e *env, ctx context.Context) error {
				return e.configs.Delete(ctx, newDraft(t, e).ID)
			}},
		},
	}
}

// TestScopeMatrix runs every service call of every operation of the scopes
// table as every kind of principal of the resource's own customer: no
// principal is EUnauthenticated, a principal the table allows succeeds, any
// other is EForbidden.
func TestScopeMatrix(t *testing.T) {
	ops := operationCalls()
	for op, calls := range eventOperationCalls() {
		ops[op] = append(ops[op], calls...)
	}
	for _, r := range scopes.Table() {
		if len(ops[r.Op]) == 0 && !notServedYet[r.Op] {
			t.Errorf("operation %s (%s) is in the scopes table but no service call performs it", r.Op, r.Description)
		}
	}
	for op := range ops {
		if _, ok := scopes.Lookup(op); !ok {
			t.Errorf("operation %s has service calls but no row in the scopes table", op)
		}
	}
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		principals := []struct {
			name string
			p    *scopes.Principal
		}{
			{"none", nil},
			{"me", e.a.me()},
			{"app", e.a.app(scopes.App)},
			{"basic", e.a.app(scopes.Basic)},
			{"app+basic", e.a.app(scopes.App, scopes.Basic)},
			{"device:read", e.a.deviceToken(scopes.DeviceRead)},
			{"events:read", e.a.deviceToken(scopes.EventsRead)},
			{"events:write", e.a.deviceToken(scopes.EventsWrite)},
			{"device:all", e.a.deviceToken(scopes.AllPermissions()...)},
		}
		for _, r := range scopes.Table() {
			for _, c := range ops[r.Op] {
				for _, pr := range principals {
					t.Run(string(r.Op)+"/"+c.name+"/"+pr.name, func(t *testing.T) {
						ctx := t.Context()
						want := resource.EUnauthenticated
						if pr.p != nil {
							ctx = scopes.NewContext(ctx, pr.p)
							want = resource.EForbidden
							if scopes.Allowed(pr.p, r.Op) {
								want = ""
							}
						}
						requireCode(t, c.do(t, e, ctx), want)
					})
				}
			}
		}
	})
}

// TestApplicationScopes checks that applications take exactly the scopes
// of the scopes table: an application registers with each of them (with
// the grant its scope needs) and keeps it, and neither a device permission
// nor an unknown name is a scope.
func TestApplicationScopes(t *testing.T) {
	e := newEnv(t, storagetest.MustOpenDB(t, storage.SQLite))
	ctx := as(t, e.a.me())
	register := func(scope string) (*resource.Application, error) {
		// A user scope needs a grant a user takes part in; an application
		// scope needs client_credentials. Try both.
		app, _, err := e.apps.Register(ctx, resource.ApplicationInput{Name: "Web " + scope,
			GrantTypes: []resource.GrantType{resource.GrantAuthorizationCode}, RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{scope}})
		if err == nil {
			return app, nil
		}
		app, _, err = e.apps.Register(ctx, resource.ApplicationInput{Name: "Backend " + scope,
			GrantTypes: []resource.GrantType{resource.GrantClientCredentials}, Scopes: []string{scope}})
		return app, err
	}
	inTable := map[string]bool{}
	for _, r := range scopes.Table() {
		for _, sc := range r.Scopes {
			inTable[sc] = true
		}
	}
	if len(inTable) != 3 {
		t.Fatalf("the scopes table uses %d scopes, want 3 (me, app, basic)", len(inTable))
	}
	t.Run("OK", func(t *testing.T) {
		for sc := range inTable {
			t.Run(sc, func(t *testing.T) {
				app, err := register(sc)
				requireCode(t, err, "")
				stored, err := e.apps.Read(ctx, app.ID)
				must(t, err)
				if len(stored.Scopes) != 1 || stored.Scopes[0] != sc {
					t.Fatalf("registered with scope %q, stored %v", sc, stored.Scopes)
				}
			})
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, sc := range append(scopes.AllPermissions(), "admin", "") {
			t.Run(fmt.Sprintf("%q", sc), func(t *testing.T) {
				_, err := register(sc)
				requireInvalid(t, err, "scopes")
			})
		}
	})
}
