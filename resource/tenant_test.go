package resource_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// snapshot is customer A's state as the stores hold it.
type snapshot struct {
	device *resource.Device
	group  *resource.DeviceGroup
	config *resource.Configuration
	draft  *resource.Configuration
	app    *resource.Application
	token  *resource.Token
}

// TestTenantIsolation lets principals of customer B touch every resource of
// customer A through every method: each answers ENotFound (never
// EForbidden, which would reveal that the resource exists), and A's state
// does not change.
func TestTenantIsolation(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		a, b := e.a, e.b
		draft := storagetest.MustCreateConfiguration(t, e.stores.configs, storagetest.NewConfiguration(a.customer.ID, time.Now()))
		app := storagetest.MustCreateApplication(t, e.stores.apps, a.customer.ID, a.user.ID)
		tokenHash := resource.NewID()
		must(t, e.stores.tokens.CreateFamily(t.Context(),
			&resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: app.ID, CustomerID: a.customer.ID, ExpiresAt: time.Now().Add(time.Hour)},
			&resource.Token{Kind: resource.TokenAccess, Hash: tokenHash, ClientID: app.ID, CustomerID: a.customer.ID,
				Scope: scopes.App, IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}))
		var familyID string
		take := func() snapshot {
			t.Helper()
			var s snapshot
			var err error
			s.device, err = e.stores.devices.FindDevice(t.Context(), a.customer.ID, a.device.ID)
			must(t, err)
			s.group, err = e.stores.groups.FindDeviceGroup(t.Context(), a.customer.ID, a.group.ID)
			must(t, err)
			s.config, err = e.stores.configs.FindConfiguration(t.Context(), a.customer.ID, a.config.ID)
			must(t, err)
			s.draft, err = e.stores.configs.FindConfiguration(t.Context(), a.customer.ID, draft.ID)
			must(t, err)
			s.app, err = e.stores.apps.FindApplication(t.Context(), app.ID)
			must(t, err)
			toks, err := e.stores.tokens.ListFamilyTokens(t.Context(), familyID)
			must(t, err)
			if len(toks) == 1 {
				s.token = toks[0]
			}
			return s
		}
		fams, err := e.db.QueryxContext(t.Context(), e.db.Rebind(`SELECT id FROM token_families WHERE client_id = ?`), app.ID)
		must(t, err)
		for fams.Next() {
			must(t, fams.Scan(&familyID))
		}
		fams.Close()
		before := take()
		if before.token == nil {
			t.Fatal("fixture token not found")
		}

		type attempt struct {
			name  string
			do    func(p *scopes.Principal) error
			field string // the Field of the ENotFound, if any
		}
		attempts := []attempt{
			{name: "DeviceFind", do: func(p *scopes.Principal) error { _, err := e.devices.Find(as(t, p), a.device.ID); return err }},
			{name: "DeviceUpdate", do: func(p *scopes.Principal) error {
				_, err := e.devices.Update(as(t, p), a.device.ID, resource.DevicePatch{Name: resource.Some("Stolen")})
				return err
			}},
			{name: "DeviceSetGroup", do: func(p *scopes.Principal) error {
				_, err := e.devices.SetGroup(as(t, p), a.device.ID, b.group.ID)
				return err
			}},
			{name: "DeviceUngroup", do: func(p *scopes.Principal) error { _, err := e.devices.SetGroup(as(t, p), a.device.ID, ""); return err }},
			{name: "DeviceDelete", do: func(p *scopes.Principal) error { return e.devices.Delete(as(t, p), a.device.ID) }},
			{name: "DeviceGroup", do: func(p *scopes.Principal) error { _, err := e.devices.Group(as(t, p), a.device.ID); return err }},
			{name: "OwnDeviceIntoTheirGroup", field: "group", do: func(p *scopes.Principal) error {
				_, err := e.devices.SetGroup(as(t, p), b.device.ID, a.group.ID)
				return err
			}},
			{name: "CreateDeviceInTheirGroup", field: "group", do: func(p *scopes.Principal) error {
				_, err := e.devices.Create(as(t, p), resource.DeviceInput{Name: "x", IMEI: storagetest.NewIMEI(), GroupID: a.group.ID})
				return err
			}},
			{name: "GroupFind", do: func(p *scopes.Principal) error { _, err := e.groups.Find(as(t, p), a.group.ID); return err }},
			{name: "GroupUpdate", do: func(p *scopes.Principal) error {
				_, err := e.groups.Update(as(t, p), a.group.ID, resource.DeviceGroupPatch{Name: resource.Some("Stolen")})
				return err
			}},
			{name: "GroupAssign", do: func(p *scopes.Principal) error {
				_, err := e.groups.AssignConfiguration(as(t, p), a.group.ID, b.config.ID)
				return err
			}},
			{name: "GroupUnassign", do: func(p *scopes.Principal) error {
				_, err := e.groups.AssignConfiguration(as(t, p), a.group.ID, "")
				return err
			}},
			{name: "GroupDelete", do: func(p *scopes.Principal) error { return e.groups.Delete(as(t, p), a.group.ID) }},
			{name: "GroupConfiguration", do: func(p *scopes.Principal) error {
				_, err := e.groups.Configuration(as(t, p), a.group.ID)
				return err
			}},
			{name: "GroupListDevices", do: func(p *scopes.Principal) error {
				_, err := e.groups.ListDevices(as(t, p), a.group.ID, deviceQuery{})
				return err
			}},
			{name: "OwnGroupTheirConfiguration", field: "configuration", do: func(p *scopes.Principal) error {
				_, err := e.groups.AssignConfiguration(as(t, p), b.group.ID, a.config.ID)
				return err
			}},
			{name: "CreateGroupWithTheirConfiguration", field: "configuration", do: func(p *scopes.Principal) error {
				_, err := e.groups.Create(as(t, p), resource.DeviceGroupInput{Name: "x", ConfigurationID: a.config.ID})
				return err
			}},
			{name: "ConfigurationFind", do: func(p *scopes.Principal) error { _, err := e.configs.Find(as(t, p), a.config.ID); return err }},
			{name: "ConfigurationUpdate", do: func(p *scopes.Principal) error {
				_, err := e.configs.Update(as(t, p), draft.ID, resource.ConfigurationPatch{Name: resource.Some("Stolen")})
				return err
			}},
			{name: "ConfigurationPublish", do: func(p *scopes.Principal) error { _, err := e.configs.Publish(as(t, p), draft.ID); return err }},
			{name: "ConfigurationDelete", do: func(p *scopes.Principal) error { return e.configs.Delete(as(t, p), draft.ID) }},
			{name: "ApplicationRead", do: func(p *scopes.Principal) error { _, err := e.apps.Read(as(t, p), app.ID); return err }},
			{name: "ApplicationUpdate", do: func(p *scopes.Principal) error {
				_, err := e.apps.Update(as(t, p), app.ID, resource.ApplicationPatch{Enabled: resource.Some(false)})
				return err
			}},
			{name: "ApplicationRenewSecret", do: func(p *scopes.Principal) error { _, _, err := e.apps.RenewSecret(as(t, p), app.ID); return err }},
			{name: "ApplicationDelete", do: func(p *scopes.Principal) error { return e.apps.Delete(as(t, p), app.ID) }},
		}
		for _, pr := range []struct {
			name string
			p    *scopes.Principal
			only bool // the principal may not perform application operations
		}{{"me", b.me(), false}, {"app", b.app(scopes.App, scopes.Basic), true}} {
			for _, at := range attempts {
				t.Run(pr.name+"/"+at.name, func(t *testing.T) {
					err := at.do(pr.p)
					if pr.only && len(at.name) > 11 && at.name[:11] == "Application" {
						requireCode(t, err, resource.EForbidden) // the table forbids it outright
					} else {
						requireCode(t, err, resource.ENotFound)
						if got := resource.ErrorField(err); got != at.field {
							t.Fatalf("field %q, want %q", got, at.field)
						}
					}
					if after := take(); !reflect.DeepEqual(after, before) {
						t.Fatalf("customer A's state changed:\nbefore %+v\nafter  %+v", before, after)
					}
				})
			}
		}
		t.Run("ListsShowOnlyOwn", func(t *testing.T) {
			ctx := as(t, b.me())
			devs, err := e.devices.List(ctx, deviceQuery{Include: []string{resource.IncludeGroupConfiguration}})
			must(t, err)
			if devs.Total != 1 || devs.Devices[0].ID != b.device.ID || len(devs.Included.Groups) != 1 || devs.Included.Groups[0].ID != b.group.ID {
				t.Fatalf("B's device list: %+v", devs)
			}
			groups, err := e.groups.FindMany(ctx, []string{a.group.ID, b.group.ID})
			must(t, err)
			if len(groups) != 1 || groups[0].ID != b.group.ID {
				t.Fatalf("FindMany gave another customer's groups: %+v", groups)
			}
			confs, err := e.configs.FindMany(ctx, []string{a.config.ID, draft.ID})
			must(t, err)
			if len(confs) != 0 {
				t.Fatalf("FindMany gave another customer's configurations: %+v", confs)
			}
			inc, err := e.devices.Include(ctx, []*resource.Device{a.device}, []string{resource.IncludeGroupConfiguration})
			must(t, err)
			if len(inc.Groups) != 0 || len(inc.Configurations) != 0 {
				t.Fatalf("Include loaded another customer's resources: %+v", inc)
			}
			apps, err := e.apps.List(ctx, appQuery{})
			must(t, err)
			if apps.Total != 0 {
				t.Fatalf("B sees %d applications", apps.Total)
			}
		})
		t.Run("DeviceTokenSeesOnlyItsDevice", func(t *testing.T) {
			sibling := storagetest.MustCreateDevice(t, e.stores.devices, storagetest.NewDevice(a.customer.ID, time.Now()))
			ctx := as(t, a.deviceToken(scopes.DeviceRead))
			_, err := e.devices.Find(ctx, sibling.ID)
			requireCode(t, err, resource.ENotFound)
			list, err := e.devices.List(ctx, deviceQuery{})
			must(t, err)
			if list.Total != 1 || len(list.Devices) != 1 || list.Devices[0].ID != a.device.ID {
				t.Fatalf("device token list: total %d, %+v", list.Total, list.Devices)
			}
		})
	})
}
