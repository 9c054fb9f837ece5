package resource_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestDeviceService(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := as(t, e.a.app(scopes.App))
		t.Run("Create", func(t *testing.T) {
			t.Run("OK", func(t *testing.T) {
				d, err := e.devices.Create(ctx, resource.DeviceInput{Name: "  Truck 7 ", IMEI: "490154203237518", MAC: "0a:1b:2c:3d:4e:5f",
					Latitude: float(52.52), Longitude: float(13.405), GroupID: e.a.group.ID})
				requireCode(t, err, "")
				if d.Name != "Truck 7" || d.MAC != "0A:1B:2C:3D:4E:5F" || d.CustomerID != e.a.customer.ID || d.GroupID != e.a.group.ID {
					t.Fatalf("created %+v", d)
				}
				got, err := e.devices.Find(ctx, d.ID)
				requireCode(t, err, "")
				if got.IMEI != "490154203237518" || *got.Latitude != 52.52 || got.LastEventAt != nil {
					t.Fatalf("found %+v", got)
				}
			})
			for _, tc := range []struct {
				name  string
				in    resource.DeviceInput
				field string
			}{
				{"ErrName", resource.DeviceInput{Name: "  ", IMEI: "490154203237518"}, "name"},
				{"ErrIMEILuhn", resource.DeviceInput{Name: "x", IMEI: "490154203237517"}, "imei"},
				{"ErrIMEILength", resource.DeviceInput{Name: "x", IMEI: "4901542032375"}, "imei"},
				{"ErrMAC", resource.DeviceInput{Name: "x", IMEI: storagetest.NewIMEI(), MAC: "0a-1b-2c-3d-4e"}, "mac"},
				{"ErrOnlyLatitude", resource.DeviceInput{Name: "x", IMEI: storagetest.NewIMEI(), Latitude: float(1)}, "longitude"},
				{"ErrLatitudeRange", resource.DeviceInput{Name: "x", IMEI: storagetest.NewIMEI(), Latitude: float(91), Longitude: float(0)}, "latitude"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := e.devices.Create(ctx, tc.in)
					requireInvalid(t, err, tc.field)
				})
			}
			t.Run("ErrConflictIMEI", func(t *testing.T) {
				_, err := e.devices.Create(ctx, resource.DeviceInput{Name: "Twin", IMEI: e.a.device.IMEI})
				requireCode(t, err, resource.EConflict)
				// Another customer may use the same IMEI.
				_, err = e.devices.Create(as(t, e.b.me()), resource.DeviceInput{Name: "Twin", IMEI: e.a.device.IMEI})
				requireCode(t, err, "")
			})
			t.Run("ErrNotFoundGroup", func(t *testing.T) {
				for _, id := range []string{resource.NewID(), "not-an-id"} {
					_, err := e.devices.Create(ctx, resource.DeviceInput{Name: "x", IMEI: storagetest.NewIMEI(), GroupID: id})
					requireCode(t, err, resource.ENotFound)
				}
			})
		})
		t.Run("Update", func(t *testing.T) {
			d, err := e.devices.Create(ctx, resource.DeviceInput{Name: "Patchy", IMEI: storagetest.NewIMEI(), MAC: "AA:BB:CC:DD:EE:FF",
				Latitude: float(1), Longitude: float(2), GroupID: e.a.group.ID})
			must(t, err)
			t.Run("AbsentLeavesAlone", func(t *testing.T) {
				got, err := e.devices.Update(ctx, d.ID, resource.DevicePatch{Fault: resource.Some(true)})
				requireCode(t, err, "")
				if !got.Fault || got.MAC != d.MAC || got.GroupID != d.GroupID || *got.Latitude != 1 || got.Name != "Patchy" {
					t.Fatalf("updated %+v", got)
				}
			})
			t.Run("NullClears", func(t *testing.T) {
				got, err := e.devices.Update(ctx, d.ID, resource.DevicePatch{MAC: resource.Null[string](), GroupID: resource.Null[string](),
					Latitude: resource.Null[float64](), Longitude: resource.Null[float64]()})
				requireCode(t, err, "")
				stored, err := e.devices.Find(ctx, d.ID)
				must(t, err)
				for _, x := range []*resource.Device{got, stored} {
					if x.MAC != "" || x.GroupID != "" || x.Latitude != nil || x.Longitude != nil || !x.Fault {
						t.Fatalf("after clearing: %+v", x)
					}
				}
			})
			t.Run("ErrNullName", func(t *testing.T) {
				_, err := e.devices.Update(ctx, d.ID, resource.DevicePatch{Name: resource.Null[string]()})
				requireInvalid(t, err, "name")
			})
			t.Run("ErrHalfPosition", func(t *testing.T) {
				_, err := e.devices.Update(ctx, d.ID, resource.DevicePatch{Latitude: resource.Some(5.0)})
				requireInvalid(t, err, "longitude")
			})
			t.Run("SetGroup", func(t *testing.T) {
				got, err := e.devices.SetGroup(ctx, d.ID, e.a.group.ID)
				requireCode(t, err, "")
				if got.GroupID != e.a.group.ID {
					t.Fatalf("group %q", got.GroupID)
				}
				g, err := e.devices.Group(ctx, d.ID)
				requireCode(t, err, "")
				if g.ID != e.a.group.ID {
					t.Fatalf("Group() = %+v", g)
				}
				_, err = e.devices.SetGroup(ctx, d.ID, "")
				requireCode(t, err, "")
				g, err = e.devices.Group(ctx, d.ID)
				if err != nil || g != nil {
					t.Fatalf("Group() of an ungrouped device = %+v, %v", g, err)
				}
			})
			t.Run("ErrNotFound", func(t *testing.T) {
				_, err := e.devices.Update(ctx, resource.NewID(), resource.DevicePatch{Fault: resource.Some(true)})
				requireCode(t, err, resource.ENotFound)
			})
		})
		t.Run("Delete", func(t *testing.T) {
			d, err := e.devices.Create(ctx, resource.DeviceInput{Name: "Doomed", IMEI: storagetest.NewIMEI()})
			must(t, err)
			requireCode(t, e.devices.Delete(ctx, d.ID), "")
			_, err = e.devices.Find(ctx, d.ID)
			requireCode(t, err, resource.ENotFound)
			requireCode(t, e.devices.Delete(ctx, d.ID), resource.ENotFound)
			requireCode(t, e.devices.Delete(ctx, "not-an-id"), resource.ENotFound)
		})
		t.Run("DeviceTokenGroup", func(t *testing.T) {
			// A device token reads its device but not device groups.
			_, err := e.devices.Group(as(t, e.a.deviceToken(scopes.DeviceRead)), e.a.device.ID)
			requireCode(t, err, resource.EForbidden)
			dev := as(t, e.a.deviceToken(scopes.DeviceRead))
			_, err = e.devices.List(dev, deviceQuery{Include: []string{resource.IncludeGroup}})
			requireCode(t, err, resource.EForbidden)
			// The refusal names what was missing, for a transport's
			// challenge; the rule is asked, not repeated, by transports
			// that leave an include out instead.
			var re *resource.Error
			if !errors.As(err, &re) || re.Operation != scopes.OpGroupsRead {
				t.Fatalf("error %#v, want Operation %s", err, scopes.OpGroupsRead)
			}
			paths := []string{resource.IncludeGroup, resource.IncludeGroupConfiguration}
			if got := resource.MayInclude(dev, paths); got != nil {
				t.Fatalf("MayInclude with a device token = %v, want none", got)
			}
			if got := resource.MayInclude(as(t, e.a.app(scopes.Basic)), paths); !slices.Equal(got, paths) {
				t.Fatalf("MayInclude with basic = %v, want %v", got, paths)
			}
		})
	})
}

func TestDeviceQuery(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := as(t, e.b.app(scopes.Basic))
		t.Run("Errors", func(t *testing.T) {
			type f = resource.DeviceListFilter
			for _, tc := range []struct {
				name  string
				q     deviceQuery
				field string
			}{
				{"UnknownSort", deviceQuery{Sort: []resource.SortField{{Field: "mac"}}}, "sort"},
				{"DuplicateSort", deviceQuery{Sort: []resource.SortField{{Field: "name"}, {Field: "name", Desc: true}}}, "sort"},
				{"UnknownInclude", deviceQuery{Include: []string{"events"}}, "include"},
				{"PageTooBig", deviceQuery{Page: resource.Page{Size: 101}}, "page.size"},
				{"NegativePageSize", deviceQuery{Page: resource.Page{Size: -1}}, "page.size"},
				{"NegativePageNumber", deviceQuery{Page: resource.Page{Number: -1}}, "page.number"},
				{"Group", deviceQuery{Filter: f{Group: ref("trucks")}}, "filter.group"},
				{"EmptyIMEI", deviceQuery{Filter: f{IMEI: ref(" ")}}, "filter.imei"},
				{"MAC", deviceQuery{Filter: f{MAC: ref("aa:bb")}}, "filter.mac"},
				{"LongSearch", deviceQuery{Filter: f{Search: ref(strings.Repeat("a", 201))}}, "filter.search"},
				{"NULSearch", deviceQuery{Filter: f{Search: ref("a\x00b")}}, "filter.search"},
				{"LatitudeWithoutLongitude", deviceQuery{Filter: f{Latitude: ref(52.0), RadiusLTE: ref(10.0)}}, "filter.longitude"},
				{"RadiusWithoutCentre", deviceQuery{Filter: f{RadiusGTE: ref(10.0)}}, "filter.latitude"},
				{"CentreWithoutRadius", deviceQuery{Filter: f{Latitude: ref(52.0), Longitude: ref(13.0)}}, "filter.radiusLte"},
				{"LatitudeNaN", deviceQuery{Filter: f{Latitude: ref(math.NaN()), Longitude: ref(13.0), RadiusLTE: ref(1.0)}}, "filter.latitude"},
				{"LatitudeRange", deviceQuery{Filter: f{Latitude: ref(95.0), Longitude: ref(13.0), RadiusLTE: ref(1.0)}}, "filter.latitude"},
				{"NegativeRadius", deviceQuery{Filter: f{Latitude: ref(5.0), Longitude: ref(13.0), RadiusLTE: ref(-1.0)}}, "filter.radiusLte"},
				{"InfiniteRadius", deviceQuery{Filter: f{Latitude: ref(5.0), Longitude: ref(13.0), RadiusGTE: ref(math.Inf(1))}}, "filter.radiusGte"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := e.devices.List(ctx, tc.q)
					requireInvalid(t, err, tc.field)
				})
			}
		})
		t.Run("Paging", func(t *testing.T) {
			cust := e.newTenant(t)
			var want []string
			want = append(want, cust.device.ID)
			for i := range 29 {
				d := storagetest.NewDevice(cust.customer.ID, cust.device.CreatedAt.Add(time.Duration(i+1)*time.Second))
				want = append(want, storagetest.MustCreateDevice(t, e.stores.devices, d).ID)
			}
			pctx := as(t, cust.app(scopes.Basic))
			for _, tc := range []struct {
				name     string
				page     resource.Page
				from, to int
				norm     resource.Page
			}{
				{"Default", resource.Page{}, 0, 25, resource.Page{Number: 1, Size: 25}},
				{"Second", resource.Page{Number: 2}, 25, 30, resource.Page{Number: 2, Size: 25}},
				{"Small", resource.Page{Number: 3, Size: 7}, 14, 21, resource.Page{Number: 3, Size: 7}},
				{"LastExact", resource.Page{Number: 3, Size: 10}, 20, 30, resource.Page{Number: 3, Size: 10}},
				{"PastTheEnd", resource.Page{Number: 4, Size: 10}, 30, 30, resource.Page{Number: 4, Size: 10}},
				{"Max", resource.Page{Size: 100}, 0, 30, resource.Page{Number: 1, Size: 100}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					list, err := e.devices.List(pctx, deviceQuery{Page: tc.page})
					requireCode(t, err, "")
					if list.Total != 30 || list.Page != tc.norm {
						t.Fatalf("total %d page %+v", list.Total, list.Page)
					}
					got := ids(list.Devices)
					if fmt.Sprint(got) != fmt.Sprint(want[tc.from:tc.to]) {
						t.Fatalf("got %v\nwant %v", got, want[tc.from:tc.to])
					}
				})
			}
			if n := (resource.Page{Number: 1, Size: 7}).LastNumber(30); n != 5 {
				t.Fatalf("LastNumber = %d, want 5", n)
			}
			if n := (resource.Page{Number: 1, Size: 7}).LastNumber(0); n != 1 {
				t.Fatalf("LastNumber of an empty list = %d, want 1", n)
			}
			t.Run("Empty", func(t *testing.T) {
				list, err := e.devices.List(pctx, deviceQuery{Filter: resource.DeviceListFilter{IMEI: ref("000000000000000")}})
				requireCode(t, err, "")
				if list.Total != 0 || len(list.Devices) != 0 || list.Devices == nil {
					t.Fatalf("empty list: %+v", list)
				}
			})
		})
		t.Run("FiltersAndSorts", func(t *testing.T) { testDeviceFiltersAndSorts(t, e) })
		t.Run("Geo", func(t *testing.T) { testDeviceGeo(t, e) })
		t.Run("Include", func(t *testing.T) { testDeviceInclude(t, e) })
	})
}

func ids(devices []*resource.Device) []string {
	out := []string{}
	for _, d := range devices {
		out = append(out, d.ID)
	}
	return out
}
