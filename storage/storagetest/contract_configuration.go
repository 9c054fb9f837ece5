package storagetest

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// NewConfiguration returns a draft of the given customer with every setting
// set, created at the given time.
func NewConfiguration(customerID string, created time.Time) *resource.Configuration {
	id := resource.NewID()
	report, temp, shock := 300, 60, 2.5
	return &resource.Configuration{
		ID: id, CustomerID: customerID, Name: "Configuration " + id, State: resource.ConfigurationDraft,
		Settings:  resource.Settings{ReportingIntervalS: &report, TemperatureLogIntervalS: &temp, ShockThresholdG: &shock},
		CreatedAt: created, UpdatedAt: created,
	}
}

// MustCreateConfiguration inserts c into s.
func MustCreateConfiguration(tb testing.TB, s resource.ConfigurationStore, c *resource.Configuration) *resource.Configuration {
	tb.Helper()
	if err := s.CreateConfiguration(tb.Context(), c); err != nil {
		tb.Fatalf("create configuration: %v", err)
	}
	return c
}

func configurationIDs(list []*resource.Configuration) []string {
	ids := []string{}
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids
}

// TestConfigurationStore runs the contract of resource.ConfigurationStore
// against configs; the other stores must share its database.
func TestConfigurationStore(t *testing.T, configs resource.ConfigurationStore, groups resource.DeviceGroupStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	other := MustCreateCustomer(t, customers)
	find := func(t *testing.T, customerID, id string) *resource.Configuration {
		t.Helper()
		got, err := configs.FindConfiguration(t.Context(), customerID, id)
		requireCode(t, err, "")
		return got
	}
	publish := func(t *testing.T, c *resource.Configuration) {
		t.Helper()
		c.State, c.PublishedAt = resource.ConfigurationPublished, timePtr(testTime(time.Minute))
		requireCode(t, configs.UpdateConfiguration(t.Context(), c, resource.ConfigurationDraft), "")
	}
	t.Run("Create", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			c := NewConfiguration(cust.ID, testTime(0).In(otherZone()))
			requireCode(t, configs.CreateConfiguration(t.Context(), c), "")
			want := *c
			want.CreatedAt, want.UpdatedAt = testTime(0), testTime(0)
			requireEqual(t, find(t, cust.ID, c.ID), &want)
		})
		t.Run("EmptySettings", func(t *testing.T) {
			c := NewConfiguration(cust.ID, testTime(0))
			c.Settings = resource.Settings{}
			MustCreateConfiguration(t, configs, c)
			requireEqual(t, find(t, cust.ID, c.ID), c)
		})
		t.Run("Published", func(t *testing.T) {
			c := NewConfiguration(cust.ID, testTime(0))
			c.State, c.PublishedAt = resource.ConfigurationPublished, timePtr(testTime(time.Hour).In(otherZone()))
			MustCreateConfiguration(t, configs, c)
			requireEqual(t, *find(t, cust.ID, c.ID).PublishedAt, testTime(time.Hour))
		})
	})
	t.Run("Find", func(t *testing.T) {
		c := MustCreateConfiguration(t, configs, NewConfiguration(cust.ID, testTime(0)))
		t.Run("ErrNotFoundOtherCustomer", func(t *testing.T) {
			_, err := configs.FindConfiguration(t.Context(), other.ID, c.ID)
			requireCode(t, err, resource.ENotFound)
		})
		t.Run("Many", func(t *testing.T) {
			d := MustCreateConfiguration(t, configs, NewConfiguration(cust.ID, testTime(0)))
			theirs := MustCreateConfiguration(t, configs, NewConfiguration(other.ID, testTime(0)))
			got, err := configs.FindConfigurations(t.Context(), cust.ID, []string{d.ID, theirs.ID, c.ID})
			requireCode(t, err, "")
			requireEqual(t, got, []*resource.Configuration{c, d})
		})
	})
	t.Run("Update", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			c := MustCreateConfiguration(t, configs, NewConfiguration(cust.ID, testTime(0)))
			u := *c
			u.Name, u.Settings, u.UpdatedAt = "Renamed", resource.Settings{}, testTime(time.Hour)
			requireCode(t, configs.UpdateConfiguration(t.Context(), &u, resource.ConfigurationDraft), "")
			requireEqual(t, find(t, cust.ID, c.ID), &u)
		})
		t.Run("Publish", func(t *testing.T) {
			c := MustCreateConfiguration(t, configs, NewConfiguration(cust.ID, testTime(0)))
			publish(t, c)
			requireEqual(t, find(t, cust.ID, c.ID), c)
		})
		t.Run("ErrConflictState", func(t *testing.T) {
			c := MustCreateConfiguration(t, configs, NewConfiguration(cust.ID, testTime(0)))
			publish(t, c)
			u := *c
			u.Name = "Changed after publishing"
			requireCode(t, configs.UpdateConfiguration(t.Context(), &u, resource.ConfigurationDraft), resource.EConflict)
			requireEqual(t, find(t, cust.ID, c.ID), c)
		})
		t.Run("ErrNotFoundOtherCustomer", func(t *testing.T) {
			c := MustCreateConfiguration(t, configs, NewConfiguration(cust.ID, testTime(0)))
			u := *c
			u.CustomerID, u.Name = other.ID, "Stolen"
			requireCode(t, configs.UpdateConfiguration(t.Context(), &u, resource.ConfigurationDraft), resource.ENotFound)
			requireEqual(t, find(t, cust.ID, c.ID), c)
		})
	})
	t.Run("Delete", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			c := MustCreateConfiguration(t, configs, NewConfiguration(cust.ID, testTime(0)))
			requireCode(t, configs.DeleteConfiguration(t.Context(), cust.ID, c.ID, resource.ConfigurationDraft), "")
			_, err := configs.FindConfiguration(t.Context(), cust.ID, c.ID)
			requireCode(t, err, resource.ENotFound)
			requireCode(t, configs.DeleteConfiguration(t.Context(), cust.ID, c.ID, resource.ConfigurationDraft), resource.ENotFound)
		})
		t.Run("ErrConflictState", func(t *testing.T) {
			c := MustCreateConfiguration(t, configs, NewConfiguration(cust.ID, testTime(0)))
			publish(t, c)
			requireCode(t, configs.DeleteConfiguration(t.Context(), cust.ID, c.ID, resource.ConfigurationDraft), resource.EConflict)
			find(t, cust.ID, c.ID)
		})
		t.Run("ErrConflictInUse", func(t *testing.T) {
			c := MustCreateConfiguration(t, configs, NewConfiguration(cust.ID, testTime(0)))
			publish(t, c)
			g := NewDeviceGroup(cust.ID, testTime(0))
			g.ConfigurationID = c.ID
			MustCreateDeviceGroup(t, groups, g)
			requireCode(t, configs.DeleteConfiguration(t.Context(), cust.ID, c.ID, resource.ConfigurationPublished), resource.EConflict)
			find(t, cust.ID, c.ID)
		})
		t.Run("ErrNotFoundOtherCustomer", func(t *testing.T) {
			c := MustCreateConfiguration(t, configs, NewConfiguration(cust.ID, testTime(0)))
			requireCode(t, configs.DeleteConfiguration(t.Context(), other.ID, c.ID, resource.ConfigurationDraft), resource.ENotFound)
			find(t, cust.ID, c.ID)
		})
	})
	t.Run("List", func(t *testing.T) {
		mine := MustCreateCustomer(t, customers)
		mk := func(name string, d time.Duration, published bool) *resource.Configuration {
			c := NewConfiguration(mine.ID, testTime(d))
			c.Name = name
			if published {
				c.State, c.PublishedAt = resource.ConfigurationPublished, timePtr(testTime(time.Hour-d))
			}
			return MustCreateConfiguration(t, configs, c)
		}
		a, b, c := mk("Summer", 0, true), mk("winter", time.Second, false), mk("Spring", 2*time.Second, true)
		MustCreateConfiguration(t, configs, NewConfiguration(other.ID, testTime(0)))
		for _, tc := range []struct {
			name string
			q    resource.ConfigurationQuery
			want []*resource.Configuration
		}{
			{"All", resource.ConfigurationQuery{}, []*resource.Configuration{a, b, c}},
			{"NameAsc", resource.ConfigurationQuery{Sort: []resource.SortField{{Field: "name"}}}, []*resource.Configuration{c, a, b}},
			// Drafts have no publication time: first ascending, last descending.
			{"PublishedAsc", resource.ConfigurationQuery{Sort: []resource.SortField{{Field: "published_at"}}}, []*resource.Configuration{b, c, a}},
			{"PublishedDesc", resource.ConfigurationQuery{Sort: []resource.SortField{{Field: "published_at", Desc: true}}}, []*resource.Configuration{a, c, b}},
			{"Search", resource.ConfigurationQuery{Filter: resource.ConfigurationFilter{Search: "s"}}, []*resource.Configuration{a, c}},
			{"Names", resource.ConfigurationQuery{Filter: resource.ConfigurationFilter{Names: []string{"winter", "Spring"}}}, []*resource.Configuration{b, c}},
			{"State", resource.ConfigurationQuery{Filter: resource.ConfigurationFilter{State: resource.ConfigurationDraft}}, []*resource.Configuration{b}},
			{"PastTheEnd", resource.ConfigurationQuery{Offset: 5, Limit: 2}, []*resource.Configuration{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := tc.q
				if q.Limit == 0 {
					q.Limit = 100
				}
				if len(q.Sort) == 0 {
					q.Sort = []resource.SortField{{Field: "created_at"}}
				}
				got, _, err := configs.ListConfigurations(t.Context(), mine.ID, q)
				requireCode(t, err, "")
				requireEqual(t, configurationIDs(got), configurationIDs(tc.want))
			})
		}
	})
}
