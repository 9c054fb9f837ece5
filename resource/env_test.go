package resource_test

import (
	"context"
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/wire"
	"github.com/assetgate/assetgate/wire/wiretest"
)

// testPassword is the password of every user the tests make.
const testPassword = "correct horse battery"

// env is a service graph (built by wire.New, as the server builds it) on
// a database, and two customers, A and B, each with a user, a group, a
// published configuration and a device.
type env struct {
	db       *storage.DB
	app      *wire.App
	stores   stores
	users    *resource.UserService
	apps     *resource.ApplicationService
	devices  *resource.DeviceService
	groups   *resource.DeviceGroupService
	configs  *resource.ConfigurationService
	a, b     tenant
	tokenKey []byte
	// Events and device tokens (event_env_test.go).
	events       *resource.EventService
	deviceTokens *resource.DeviceTokenService
	bus          wire.EventBus
}

// stores are the SQL stores behind the services, for setting up and
// checking state without going through the rules.
type stores struct {
	customers *storage.CustomerStore
	users     *storage.UserStore
	apps      *storage.CachedApplicationStore
	devices   *storage.DeviceStore
	groups    *storage.DeviceGroupStore
	configs   *storage.ConfigurationStore
	tokens    *storage.SQLTokenStore
	// Events and device tokens (event_env_test.go).
	events       *storage.EventStore
	deviceTokens *storage.DeviceTokenStore
}

// tenant is one customer's fixtures.
type tenant struct {
	customer *resource.Customer
	user     *resource.User
	group    *resource.DeviceGroup
	config   *resource.Configuration // published, assigned to group
	device   *resource.Device        // in group
}

// newEnv builds the service graph on db; change, when given, changes its
// configuration.
func newEnv(t *testing.T, db *storage.DB, change ...func(*wire.Config)) *env {
	t.Helper()
	e := &env{db: db, tokenKey: []byte(wiretest.Key)}
	cfg := wiretest.Config()
	for _, c := range change {
		c(&cfg)
	}
	e.app = mustApp(t, cfg, db)
	s := e.app.Stores
	e.stores = stores{
		customers: s.Customers, users: s.Users, apps: s.Applications, devices: s.Devices, groups: s.Groups,
		configs: s.Configurations, tokens: s.SQLTokens, events: s.Events, deviceTokens: s.DeviceTokens,
	}
	e.users, e.apps, e.devices, e.groups, e.configs = e.app.Users, e.app.Applications, e.app.Devices, e.app.Groups, e.app.Configurations
	e.events, e.deviceTokens, e.bus = e.app.Events, e.app.DeviceTokens, e.app.Bus
	e.a, e.b = e.newTenant(t), e.newTenant(t)
	return e
}

// mustApp builds a service graph of cfg on db and closes it when the test
// ends.
func mustApp(t *testing.T, cfg wire.Config, db *storage.DB, opts ...wire.Option) *wire.App {
	t.Helper()
	return wiretest.MustNew(t, cfg, append([]wire.Option{wire.WithDB(db)}, opts...)...)
}

func (e *env) newTenant(t *testing.T) tenant {
	t.Helper()
	tn := wiretest.MustTenant(t, e.app, "Tenant", "user", testPassword)
	return tenant{customer: tn.Customer, user: tn.User, group: tn.Group, config: tn.Config, device: tn.Device}
}

// Principals of a tenant.

func (tn tenant) me() *scopes.Principal {
	return &scopes.Principal{Kind: scopes.KindUser, CustomerID: tn.customer.ID, UserID: tn.user.ID,
		ClientID: resource.NewID(), FamilyID: resource.NewFamilyID(), Scopes: []string{scopes.Me}}
}

func (tn tenant) app(scope ...string) *scopes.Principal {
	return &scopes.Principal{Kind: scopes.KindApplication, CustomerID: tn.customer.ID, ClientID: resource.NewID(),
		FamilyID: resource.NewFamilyID(), Scopes: scope}
}

func (tn tenant) deviceToken(permissions ...string) *scopes.Principal {
	return &scopes.Principal{Kind: scopes.KindDevice, CustomerID: tn.customer.ID, DeviceID: tn.device.ID,
		FamilyID: resource.NewFamilyID(), Permissions: permissions}
}

// as returns a context carrying p.
func as(t *testing.T, p *scopes.Principal) context.Context {
	return scopes.NewContext(t.Context(), p)
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// requireCode fails unless err carries code ("" for none).
func requireCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := resource.ErrorCode(err); got != code {
		tb.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// requireInvalid fails unless err is EInvalid pointing at field.
func requireInvalid(tb testing.TB, err error, field string) {
	tb.Helper()
	requireCode(tb, err, resource.EInvalid)
	if got := resource.ErrorField(err); got != field {
		tb.Fatalf("error %v: field %q, want %q", err, got, field)
	}
}

func float(v float64) *float64 { return &v }
