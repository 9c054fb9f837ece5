package jsonapi

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// TestFilterFieldsMatchQuerySpecs checks that each list route maps exactly
// the filters its resource's QuerySpec declares, in its order: a filter
// added to a resource and its store needs its one line here too.
func TestFilterFieldsMatchQuerySpecs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		names []string
		spec  resource.QuerySpec
	}{
		{"Devices", deviceFilters.names(), resource.DeviceQuerySpec()},
		{"DeviceGroups", groupFilters.names(), resource.DeviceGroupQuerySpec()},
		{"Configurations", configurationFilters.names(), resource.ConfigurationQuerySpec()},
		{"Events", eventFilters.names(), resource.EventQuerySpec()},
		{"DeviceEvents", deviceEventFilters.names(), resource.DeviceEventQuerySpec()},
		{"Applications", applicationFilters.names(), resource.ApplicationQuerySpec()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.Equal(tc.names, tc.spec.Filters) && len(tc.names)+len(tc.spec.Filters) > 0 {
				t.Fatalf("filters %v, the spec's are %v", tc.names, tc.spec.Filters)
			}
		})
	}
}

// TestParseList checks how filter[NAME] values land in the typed filters,
// and the 400s of names and values the syntax refuses.
func TestParseList(t *testing.T) {
	a := New(Deps{})
	since := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	t.Run("OK", func(t *testing.T) {
		q, err := parseList(a, "filter[search]=Truck&filter[fault]=false&filter[group]=none&filter[latitude]=52.5&filter[longitude]=%2013&filter[radius_lte]=1e3&sort=-name&page[size]=5&include=group", deviceFilters)
		if err != nil {
			t.Fatal(err)
		}
		s, g, lat, lon, lte, fault := "Truck", "none", 52.5, 13.0, 1000.0, false
		want := resource.ListQuery[resource.DeviceListFilter]{
			Filter: resource.DeviceListFilter{Search: &s, Fault: &fault, Group: &g, Latitude: &lat, Longitude: &lon, RadiusLTE: &lte},
			Sort:   []resource.SortField{{Field: "name", Desc: true}}, Page: resource.Page{Size: 5}, Include: []string{"group"},
		}
		if !reflect.DeepEqual(q, want) {
			t.Fatalf("got  %+v\nwant %+v", q, want)
		}
	})
	t.Run("OKEvents", func(t *testing.T) {
		q, err := parseList(a, "filter%5Bdevice%5D=a,b&filter[type]=location&filter[since]=2025-01-02T15:04:05Z", eventFilters)
		if err != nil {
			t.Fatal(err)
		}
		want := resource.EventListFilter{Device: []string{"a", "b"}, Type: []string{"location"}, Since: &since}
		if !reflect.DeepEqual(q.Filter, want) {
			t.Fatalf("got  %+v\nwant %+v", q.Filter, want)
		}
	})
	for _, tc := range []struct {
		name, raw, param, detail string
		events                   bool
	}{
		{name: "ErrUnknownFilter", raw: "filter[colour]=red", param: "filter[colour]",
			detail: `unknown filter "colour"; known: search, imei, mac, fault, group, connected, latitude, longitude, radius_lte, radius_gte, geogroup_inside, geogroup_outside, geogroup_distance, attributes.KEY`},
		{name: "ErrBool", raw: "filter[fault]=yes", param: "filter[fault]", detail: "filter[fault] must be true or false"},
		{name: "ErrNumber", raw: "filter[latitude]=north", param: "filter[latitude]", detail: "filter[latitude] must be a number"},
		{name: "ErrInfinite", raw: "filter[radius_gte]=Inf", param: "filter[radius_gte]", detail: "filter[radius_gte] must be a number"},
		{name: "ErrTime", raw: "filter[since]=yesterday", param: "filter[since]", events: true,
			detail: "filter[since] must be an RFC 3339 time such as 2025-01-02T15:04:05Z"},
		{name: "ErrDeviceOfDevice", raw: "filter[device]=x", param: "filter[device]", events: true,
			detail: `unknown filter "device"; known: type, since, until`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.events {
				_, err = parseList(a, tc.raw, deviceEventFilters)
			} else {
				_, err = parseList(a, tc.raw, deviceFilters)
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Parameter != tc.param || ae.Detail != tc.detail {
				t.Fatalf("error %+v, want 400 at %s: %s", err, tc.param, tc.detail)
			}
		})
	}
}
