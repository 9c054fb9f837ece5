package graph

import (
	"reflect"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// TestListQueries checks the field-by-field mapping of the generated
// filter and order inputs onto the typed resource queries: absent and null
// fields do not filter, enums become their lower-case values, lists stay
// lists.
func TestListQueries(t *testing.T) {
	s, lat, fault := "truck", 52.5, true
	var nullString *string
	t.Run("Devices", func(t *testing.T) {
		got := deviceQuery(&model.DeviceFilter{Search: graphql.OmittableOf(&s), Imei: graphql.OmittableOf(nullString),
			Fault: graphql.OmittableOf(&fault), Latitude: graphql.OmittableOf(&lat)},
			[]*model.DeviceOrder{{Field: model.DeviceOrderFieldLastEventAt, Direction: model.OrderDirectionDesc}, {Field: model.DeviceOrderFieldName}})
		want := resource.ListQuery[resource.DeviceListFilter]{
			Filter: resource.DeviceListFilter{Search: &s, Fault: &fault, Latitude: &lat},
			Sort:   []resource.SortField{{Field: resource.DeviceSortLastEventAt, Desc: true}, {Field: resource.DeviceSortName}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got  %+v\nwant %+v", got, want)
		}
		if got := deviceQuery(nil, nil); !reflect.DeepEqual(got, resource.ListQuery[resource.DeviceListFilter]{}) {
			t.Fatalf("no arguments: %+v", got)
		}
	})
	t.Run("Configurations", func(t *testing.T) {
		state := model.ConfigurationStatePublished
		got := configurationQuery(&model.ConfigurationFilter{State: graphql.OmittableOf(&state), Name: graphql.OmittableOf([]string{"a, b"})}, nil)
		want := resource.ConfigurationListFilter{State: new(string), Name: []string{"a, b"}}
		*want.State = string(resource.ConfigurationPublished)
		if !reflect.DeepEqual(got.Filter, want) {
			t.Fatalf("got  %+v\nwant %+v", got.Filter, want)
		}
	})
	t.Run("Events", func(t *testing.T) {
		since := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
		got := eventQuery(&model.EventFilter{Type: graphql.OmittableOf([]model.EventType{model.EventTypeTemperature}), Since: graphql.OmittableOf(&since),
			Device: graphql.OmittableOf([]string{})}, []*model.EventOrder{{Field: model.EventOrderFieldOccurredAt}})
		want := resource.ListQuery[resource.EventListFilter]{
			Filter: resource.EventListFilter{Type: []string{string(resource.EventTemperature)}, Since: &since, Device: []string{}},
			Sort:   []resource.SortField{{Field: resource.EventSortOccurredAt}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got  %+v\nwant %+v", got, want)
		}
	})
}
