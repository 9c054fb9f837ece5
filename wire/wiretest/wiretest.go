// Package wiretest builds service graphs (package wire) for the tests of
// the packages above storage: a configuration for tests, a graph closed
// when its test ends, and a tenant with one of each resource. Only tests
// import it.
package wiretest

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
	"github.com/assetgate/assetgate/wire"
)

// Key is the server key of the test graphs.
const Key = "0123456789abcdef0123456789abcdef"

// Config returns the production defaults with the issuer
// https://api.example.com, Key, and a password hash wait of a minute (so
// that a loaded test machine never answers 503).
func Config() wire.Config {
	cfg := wire.DefaultConfig()
	cfg.Issuer, cfg.Key, cfg.PasswordHashWait = "https://api.example.com", []byte(Key), time.Minute
	return cfg
}

// MustNew builds the graph of cfg and opts and closes it when the test
// ends.
func MustNew(tb testing.TB, cfg wire.Config, opts ...wire.Option) *wire.App {
	tb.Helper()
	a, err := wire.New(tb.Context(), cfg, opts...)
	if err != nil {
		tb.Fatalf("build the service graph: %v", err)
	}
	tb.Cleanup(a.Close)
	return a
}

// Tenant is a customer with a user, a published configuration, a group
// using it, a device in the group, and a geogroup
// (storagetest.SquareGeometry).
type Tenant struct {
	Customer *resource.Customer
	User     *resource.User
	Config   *resource.Configuration
	Group    *resource.DeviceGroup
	Device   *resource.Device
	Geogroup *resource.Geogroup
}

// MustTenant makes a tenant on a: the customer named customer and its user
// (a new address starting with emailPrefix, with password) through the
// services, the rest straight into the stores.
func MustTenant(tb testing.TB, a *wire.App, customer, emailPrefix, password string) Tenant {
	tb.Helper()
	c, err := a.Customers.Create(tb.Context(), customer)
	if err != nil {
		tb.Fatalf("create customer: %v", err)
	}
	u, err := a.Users.Create(tb.Context(), c.ID, emailPrefix+"-"+resource.NewID()+"@example.com", password)
	if err != nil {
		tb.Fatalf("create user: %v", err)
	}
	now := time.Now()
	conf := storagetest.NewConfiguration(c.ID, now)
	conf.State, conf.PublishedAt = resource.ConfigurationPublished, &conf.CreatedAt
	storagetest.MustCreateConfiguration(tb, a.Stores.Configurations, conf)
	g := storagetest.NewDeviceGroup(c.ID, now)
	g.ConfigurationID = conf.ID
	storagetest.MustCreateDeviceGroup(tb, a.Stores.Groups, g)
	d := storagetest.NewDevice(c.ID, now)
	d.GroupID = g.ID
	storagetest.MustCreateDevice(tb, a.Stores.Devices, d)
	geo := storagetest.MustCreateGeogroup(tb, a.Stores.Geogroups, storagetest.NewGeogroup(c.ID, now))
	return Tenant{Customer: c, User: u, Config: conf, Group: g, Device: d, Geogroup: geo}
}
