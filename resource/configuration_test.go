package resource_test

import (
	"fmt"
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestConfigurationLifecycle(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := as(t, e.a.me())
		interval := 120
		c, err := e.configs.Create(ctx, resource.ConfigurationInput{Name: " Winter ", Settings: resource.Settings{ReportingIntervalS: &interval}})
		requireCode(t, err, "")
		if c.State != resource.ConfigurationDraft || c.PublishedAt != nil || c.Name != "Winter" {
			t.Fatalf("created %+v", c)
		}
		g, err := e.groups.Create(ctx, resource.DeviceGroupInput{Name: "Fleet"})
		must(t, err)

		t.Run("ErrCreateInvalidSettings", func(t *testing.T) {
			bad := 5
			_, err := e.configs.Create(ctx, resource.ConfigurationInput{Name: "x", Settings: resource.Settings{ReportingIntervalS: &bad}})
			requireInvalid(t, err, "settings.reporting_interval_s")
		})
		t.Run("UpdateDraft", func(t *testing.T) {
			shock := 3.5
			got, err := e.configs.Update(ctx, c.ID, resource.ConfigurationPatch{Settings: resource.Some(resource.SettingsPatch{ShockThresholdG: resource.Some(shock), ReportingIntervalS: resource.Null[int]()})})
			requireCode(t, err, "")
			if got.Name != "Winter" || got.Settings.ReportingIntervalS != nil || *got.Settings.ShockThresholdG != 3.5 {
				t.Fatalf("updated %+v", got)
			}
			_, err = e.configs.Update(ctx, c.ID, resource.ConfigurationPatch{Name: resource.Null[string]()})
			requireInvalid(t, err, "name")
		})
		t.Run("ErrAssignDraft", func(t *testing.T) {
			_, err := e.groups.AssignConfiguration(ctx, g.ID, c.ID)
			requireInvalid(t, err, "configuration")
			_, err = e.groups.Create(ctx, resource.DeviceGroupInput{Name: "x", ConfigurationID: c.ID})
			requireInvalid(t, err, "configuration")
			got, err := e.groups.Find(ctx, g.ID)
			must(t, err)
			if got.ConfigurationID != "" {
				t.Fatalf("draft assigned: %+v", got)
			}
		})
		t.Run("Publish", func(t *testing.T) {
			got, err := e.configs.Publish(ctx, c.ID)
			requireCode(t, err, "")
			if got.State != resource.ConfigurationPublished || got.PublishedAt == nil {
				t.Fatalf("published %+v", got)
			}
			stored, err := e.configs.Find(ctx, c.ID)
			must(t, err)
			if stored.State != resource.ConfigurationPublished || !stored.PublishedAt.Equal(*got.PublishedAt) {
				t.Fatalf("stored %+v", stored)
			}
		})
		t.Run("ErrPublishAgain", func(t *testing.T) {
			_, err := e.configs.Publish(ctx, c.ID)
			requireCode(t, err, resource.EConflict)
		})
		t.Run("ErrUpdatePublished", func(t *testing.T) {
			_, err := e.configs.Update(ctx, c.ID, resource.ConfigurationPatch{Name: resource.Some("Summer")})
			requireCode(t, err, resource.EConflict)
			stored, err := e.configs.Find(ctx, c.ID)
			must(t, err)
			if stored.Name != "Winter" {
				t.Fatalf("published configuration changed: %+v", stored)
			}
		})
		t.Run("Assign", func(t *testing.T) {
			got, err := e.groups.AssignConfiguration(ctx, g.ID, c.ID)
			requireCode(t, err, "")
			if got.ConfigurationID != c.ID {
				t.Fatalf("assigned %+v", got)
			}
			conf, err := e.groups.Configuration(ctx, g.ID)
			requireCode(t, err, "")
			if conf.ID != c.ID {
				t.Fatalf("Configuration() = %+v", conf)
			}
		})
		t.Run("ErrDeletePublishedAndAssigned", func(t *testing.T) {
			requireCode(t, e.configs.Delete(ctx, c.ID), resource.EConflict)
			_, err := e.configs.Find(ctx, c.ID)
			requireCode(t, err, "")
		})
		t.Run("Unassign", func(t *testing.T) {
			got, err := e.groups.AssignConfiguration(ctx, g.ID, "")
			requireCode(t, err, "")
			if got.ConfigurationID != "" {
				t.Fatalf("unassigned %+v", got)
			}
			conf, err := e.groups.Configuration(ctx, g.ID)
			if err != nil || conf != nil {
				t.Fatalf("Configuration() of a group without one = %+v, %v", conf, err)
			}
			// Published stays published: still not deletable.
			requireCode(t, e.configs.Delete(ctx, c.ID), resource.EConflict)
		})
		t.Run("ErrAssignUnknown", func(t *testing.T) {
			for _, id := range []string{resource.NewID(), "nope"} {
				_, err := e.groups.AssignConfiguration(ctx, g.ID, id)
				requireCode(t, err, resource.ENotFound)
				if resource.ErrorField(err) != "configuration" {
					t.Fatalf("field %q", resource.ErrorField(err))
				}
			}
		})
		t.Run("DeleteDraft", func(t *testing.T) {
			d, err := e.configs.Create(ctx, resource.ConfigurationInput{Name: "Scratch"})
			must(t, err)
			requireCode(t, e.configs.Delete(ctx, d.ID), "")
			_, err = e.configs.Find(ctx, d.ID)
			requireCode(t, err, resource.ENotFound)
			requireCode(t, e.configs.Delete(ctx, d.ID), resource.ENotFound)
		})
	})
}

func TestConfigurationQuery(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		_, ctx := freshCustomer(t, e)
		mk := func(name string, publish bool) *resource.Configuration {
			c, err := e.configs.Create(ctx, resource.ConfigurationInput{Name: name})
			must(t, err)
			if publish {
				c, err = e.configs.Publish(ctx, c.ID)
				must(t, err)
			}
			return c
		}
		a, b, c := mk("Summer 2025", true), mk("winter", false), mk("Spring", true)
		cids := func(list []*resource.Configuration) []string {
			var out []string
			for _, x := range list {
				out = append(out, x.ID)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			q    configQuery
			want []*resource.Configuration
		}{
			{"All", configQuery{}, []*resource.Configuration{a, b, c}},
			{"Search", configQuery{Filter: resource.ConfigurationListFilter{Search: ref("SUM")}}, []*resource.Configuration{a}},
			{"Names", configQuery{Filter: resource.ConfigurationListFilter{Name: []string{"winter", " Spring", ""}}}, []*resource.Configuration{b, c}},
			{"Draft", configQuery{Filter: resource.ConfigurationListFilter{State: ref("draft")}}, []*resource.Configuration{b}},
			{"Published", configQuery{Filter: resource.ConfigurationListFilter{State: ref("published")}, Sort: []resource.SortField{{Field: "name"}}}, []*resource.Configuration{c, a}},
			{"NameDesc", configQuery{Sort: []resource.SortField{{Field: "name", Desc: true}}}, []*resource.Configuration{b, a, c}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				list, err := e.configs.List(ctx, tc.q)
				requireCode(t, err, "")
				if fmt.Sprint(cids(list.Configurations)) != fmt.Sprint(cids(tc.want)) || list.Total != len(tc.want) {
					t.Fatalf("got %v (total %d), want %v", cids(list.Configurations), list.Total, cids(tc.want))
				}
			})
		}
		for _, tc := range []struct {
			name  string
			q     configQuery
			field string
		}{
			{"ErrState", configQuery{Filter: resource.ConfigurationListFilter{State: ref("archived")}}, "filter.state"},
			{"ErrEmptyNames", configQuery{Filter: resource.ConfigurationListFilter{Name: []string{" ", " "}}}, "filter.name"},
			{"ErrSort", configQuery{Sort: []resource.SortField{{Field: "state"}}}, "sort"},
			{"ErrInclude", configQuery{Include: []string{"groups"}}, "include"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.configs.List(ctx, tc.q)
				requireInvalid(t, err, tc.field)
			})
		}
		t.Run("GroupQuery", func(t *testing.T) {
			g1, err := e.groups.Create(ctx, resource.DeviceGroupInput{Name: "north", ConfigurationID: a.ID})
			must(t, err)
			g2, err := e.groups.Create(ctx, resource.DeviceGroupInput{Name: "South", ConfigurationID: a.ID})
			must(t, err)
			list, err := e.groups.List(ctx, groupQuery{Sort: []resource.SortField{{Field: "name", Desc: true}}, Include: []string{"configuration"}})
			must(t, err)
			if list.Total != 2 || list.Groups[0].ID != g2.ID || list.Groups[1].ID != g1.ID ||
				len(list.Included.Configurations) != 1 || list.Included.Configurations[0].ID != a.ID {
				t.Fatalf("groups %+v", list)
			}
			list, err = e.groups.List(ctx, groupQuery{Filter: resource.DeviceGroupListFilter{Search: ref("OUT")}})
			must(t, err)
			if list.Total != 1 || list.Groups[0].ID != g2.ID {
				t.Fatalf("search: %+v", list)
			}
			_, err = e.groups.List(ctx, groupQuery{Filter: resource.DeviceGroupListFilter{Name: []string{}}})
			requireInvalid(t, err, "filter.name")
			// A basic token reads but does not write.
			basic := as(t, e.b.app(scopes.Basic))
			_, err = e.groups.Create(basic, resource.DeviceGroupInput{Name: "x"})
			requireCode(t, err, resource.EForbidden)
		})
	})
}
