package jsonapi_test

import (
	"net/http"
	"testing"

	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestDeviceListErrors checks the 400s of a device list: the transport's
// own refusals (an unknown filter, a value of the wrong syntax) and the
// service's, whose neutral paths (filter.radiusLte) come out as the query
// parameter a client sent (filter[radius_lte]).
func TestDeviceListErrors(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			for _, tc := range []struct{ name, query, param, detail string }{
				{"ErrUnknownFilter", "filter[colour]=red", "filter[colour]",
					`unknown filter "colour"; known: search, imei, mac, fault, group, connected, latitude, longitude, radius_lte, radius_gte, geogroup_inside, geogroup_outside, geogroup_distance, attributes.KEY`},
				{"ErrFault", "filter[fault]=yes", "filter[fault]", "filter[fault] must be true or false"},
				{"ErrConnected", "filter[connected]=online", "filter[connected]", "filter[connected] must be true or false"},
				{"ErrNoRadius", "filter[latitude]=52&filter[longitude]=13", "filter[radius_lte]",
					"a geo filter needs filter[radius_lte] or filter[radius_gte] (metres)"},
				{"ErrLatitudeRange", "filter%5Blatitude%5D=95&filter%5Blongitude%5D=13&filter%5Bradius_gte%5D=1", "filter[latitude]",
					"filter[latitude] must be between -90 and 90"},
				{"ErrNegativeRadius", "filter[latitude]=5&filter[longitude]=13&filter[radius_gte]=-1", "filter[radius_gte]",
					"filter[radius_gte] must not be negative"},
				{"ErrGroup", "filter[group]=trucks", "filter[group]", `filter[group] must be a device group id or "none"`},
				{"ErrSort", "sort=mac", "sort", "unknown sort field \"mac\"; known: name, imei, created_at, last_event_at"},
				{"ErrInclude", "include=events", "include", "unknown include path \"events\"; known: group, group.configuration"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					e := f.do(t, "GET", "/api/v1/devices?"+tc.query, f.a.app, nil).errorOf(t, http.StatusBadRequest)
					if source(e, "parameter") != tc.param || e["detail"] != tc.detail {
						t.Fatalf("error %v, want parameter %s and detail %q", e, tc.param, tc.detail)
					}
				})
			}
		})
	}
}
