package scopes_test

import (
	"slices"
	"testing"

	"github.com/assetgate/assetgate/scopes"
)

// allOperations lists every Operation constant. A new constant must be added
// here, and TestTable then fails until the table has a row for it.
var allOperations = []scopes.Operation{
	scopes.OpCurrentUser, scopes.OpApplications, scopes.OpDevicesRead, scopes.OpDevicesWrite,
	scopes.OpGroupsRead, scopes.OpGroupsWrite, scopes.OpGeogroupsRead, scopes.OpGeogroupsWrite, scopes.OpEventsRead, scopes.OpEventsIngest, scopes.OpDeviceTokens, scopes.OpGrants,
	scopes.OpDevicesCall,
}

// design is the scopes table as docs/architecture.md states it, written
// out by hand: me, app, basic, device permission. The table in code must
// say exactly this.
var design = map[scopes.Operation]struct {
	me, app, basic bool
	permission     string
}{
	scopes.OpCurrentUser:    {me: true},
	scopes.OpApplications:   {me: true},
	scopes.OpDevicesRead:    {me: true, app: true, basic: true, permission: scopes.DeviceRead},
	scopes.OpDevicesWrite:   {me: true, app: true},
	scopes.OpGroupsRead:     {me: true, app: true, basic: true},
	scopes.OpGroupsWrite:    {me: true, app: true},
	scopes.OpGeogroupsRead:  {me: true, app: true, basic: true},
	scopes.OpGeogroupsWrite: {me: true, app: true},
	scopes.OpEventsRead:     {me: true, app: true, basic: true, permission: scopes.EventsRead},
	scopes.OpEventsIngest:   {app: true, permission: scopes.EventsWrite},
	scopes.OpDeviceTokens:   {me: true},
	scopes.OpGrants:         {me: true},
	scopes.OpDevicesCall:    {me: true, app: true, permission: scopes.ResourcesCall},
}

func TestTable(t *testing.T) {
	t.Run("OneRowPerOperation", func(t *testing.T) {
		rows := scopes.Table()
		if len(rows) != len(allOperations) {
			t.Fatalf("table has %d rows, want %d", len(rows), len(allOperations))
		}
		for _, op := range allOperations {
			n := 0
			for _, r := range rows {
				if r.Op == op {
					n++
				}
			}
			if n != 1 {
				t.Errorf("operation %s has %d rows, want 1", op, n)
			}
			if _, ok := scopes.Lookup(op); !ok {
				t.Errorf("Lookup(%s) found no row", op)
			}
		}
		if _, ok := scopes.Lookup("no_such_operation"); ok {
			t.Error("Lookup found a row for an unknown operation")
		}
	})
	t.Run("CopiesAreIndependent", func(t *testing.T) {
		rows := scopes.Table()
		rows[0].Scopes[0] = "tampered"
		if slices.Contains(scopes.Table()[0].Scopes, "tampered") {
			t.Fatal("Table returned the table itself, not a copy")
		}
	})
}

func TestAllowed(t *testing.T) {
	const cust = "customer-1"
	user := &scopes.Principal{Kind: scopes.KindUser, CustomerID: cust, UserID: "u", Scopes: []string{scopes.Me}}
	app := &scopes.Principal{Kind: scopes.KindApplication, CustomerID: cust, ClientID: "c", Scopes: []string{scopes.App}}
	basic := &scopes.Principal{Kind: scopes.KindApplication, CustomerID: cust, ClientID: "c", Scopes: []string{scopes.Basic}}
	for _, op := range allOperations {
		want := design[op]
		t.Run(string(op), func(t *testing.T) {
			check := func(name string, p *scopes.Principal, want bool) {
				t.Helper()
				if got := scopes.Allowed(p, op); got != want {
					t.Errorf("%s: Allowed = %v, want %v", name, got, want)
				}
			}
			check("me", user, want.me)
			check("app", app, want.app)
			check("basic", basic, want.basic)
			check("app+basic", &scopes.Principal{Kind: scopes.KindApplication, CustomerID: cust, Scopes: []string{scopes.Basic, scopes.App}}, want.app || want.basic)
			check("nil", nil, false)
			check("no customer", &scopes.Principal{Kind: scopes.KindUser, UserID: "u", Scopes: []string{scopes.Me}}, false)
			// A scope counts only for the kind of principal it is meant for.
			check("user with app scope", &scopes.Principal{Kind: scopes.KindUser, CustomerID: cust, Scopes: []string{scopes.App, scopes.Basic}}, false)
			check("application with me scope", &scopes.Principal{Kind: scopes.KindApplication, CustomerID: cust, Scopes: []string{scopes.Me}}, false)
			for _, perm := range scopes.AllPermissions() {
				dev := &scopes.Principal{Kind: scopes.KindDevice, CustomerID: cust, DeviceID: "d", Permissions: []string{perm}}
				check("device "+perm, dev, perm == want.permission)
			}
			all := &scopes.Principal{Kind: scopes.KindDevice, CustomerID: cust, DeviceID: "d", Permissions: scopes.AllPermissions(),
				Scopes: []string{scopes.Me, scopes.App, scopes.Basic}}
			check("device with every permission", all, want.permission != "")
			noDevice := &scopes.Principal{Kind: scopes.KindDevice, CustomerID: cust, Permissions: scopes.AllPermissions()}
			check("device token without device", noDevice, false)
		})
	}
}

func TestPrincipal(t *testing.T) {
	dev := &scopes.Principal{Kind: scopes.KindDevice, CustomerID: "c", DeviceID: "d", Permissions: []string{scopes.EventsRead}}
	if !dev.IsDevice() || dev.IsUser() || dev.IsApplication() {
		t.Error("device principal: wrong kind helpers")
	}
	if !dev.HasPermission(scopes.EventsRead) || dev.HasPermission(scopes.EventsWrite) {
		t.Error("HasPermission is wrong")
	}
	user := &scopes.Principal{Kind: scopes.KindUser, CustomerID: "c", Scopes: []string{scopes.Me}, Permissions: []string{scopes.EventsRead}}
	if !user.HasScope(scopes.Me) || user.HasScope(scopes.App) {
		t.Error("HasScope is wrong")
	}
	if user.HasPermission(scopes.EventsRead) {
		t.Error("a user principal has device permissions")
	}
	var none *scopes.Principal
	if none.HasScope(scopes.Me) || none.IsUser() || none.HasPermission(scopes.DeviceRead) {
		t.Error("nil principal helpers must say false")
	}
}

func TestContext(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		p := &scopes.Principal{Kind: scopes.KindUser, CustomerID: "c"}
		got, ok := scopes.FromContext(scopes.NewContext(t.Context(), p))
		if !ok || got != p {
			t.Fatalf("FromContext = %v, %v", got, ok)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		if p, ok := scopes.FromContext(t.Context()); ok || p != nil {
			t.Fatalf("FromContext of an empty context = %v, %v", p, ok)
		}
		if p, ok := scopes.FromContext(scopes.NewContext(t.Context(), nil)); ok || p != nil {
			t.Fatalf("FromContext of a nil principal = %v, %v", p, ok)
		}
	})
}
