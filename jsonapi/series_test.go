package jsonapi_test

import (
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// seriesBase is a day start: every bucket width aligns on it.
var seriesBase = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -5) // a bucket start, within retention

// postSeriesEvents ingests, as the tenant's application, 12 temperature
// events 13 minutes apart from base (the first exactly on the hour) and
// two location events, and returns the temperatures by occurred_at.
func postSeriesEvents(t *testing.T, f *eventFixture, tn eventTenant, deviceID string) map[time.Time]float64 {
	t.Helper()
	temps := map[time.Time]float64{}
	var items []map[string]any
	for i := range 12 {
		at := seriesBase.Add(time.Duration(i) * 13 * time.Minute)
		c := float64(i%5)*2.5 - 3
		temps[at] = c
		items = append(items, eventDoc("temperature", at.Format(time.RFC3339), map[string]any{"celsius": c}))
	}
	items = append(items, eventDoc("location", seriesBase.Add(5*time.Minute).Format(time.RFC3339), map[string]any{"latitude": 1.5, "longitude": 2.5}))
	res := f.do(t, "POST", "/api/v1/devices/"+deviceID+"/events", tn.app, batchDoc(items...))
	if res.status != 201 {
		t.Fatalf("ingest: %d %s", res.status, res.body)
	}
	return temps
}

// hourly computes the 1h points of temps in Go: start, count, min, max,
// avg and last (the latest occurred_at).
func hourly(temps ...map[time.Time]float64) map[string][5]float64 {
	type acc struct {
		n, min, max, sum float64
		lastAt           time.Time
		last             float64
	}
	accs := map[string]*acc{}
	for _, m := range temps {
		for at, c := range m {
			k := at.Truncate(time.Hour).Format(time.RFC3339)
			a := accs[k]
			if a == nil {
				a = &acc{min: math.Inf(1), max: math.Inf(-1)}
				accs[k] = a
			}
			a.n++
			a.min, a.max, a.sum = min(a.min, c), max(a.max, c), a.sum+c
			if !at.Before(a.lastAt) {
				a.lastAt, a.last = at, c
			}
		}
	}
	out := map[string][5]float64{}
	for k, a := range accs {
		out[k] = [5]float64{a.n, a.min, a.max, a.sum / a.n, a.last}
	}
	return out
}

// checkPoints compares the points of a series document with want.
func checkPoints(t *testing.T, doc map[string]any, subject string, want map[string][5]float64) {
	t.Helper()
	list, _ := doc["data"].([]any)
	if len(list) != len(want) {
		t.Fatalf("%d points, want %d: %v", len(list), len(want), doc["data"])
	}
	prev := ""
	for _, it := range list {
		o := it.(map[string]any)
		a := attrs(o)
		start, _ := a["start"].(string)
		if start <= prev {
			t.Fatalf("points are not oldest first: %s after %s", start, prev)
		}
		prev = start
		w, ok := want[start]
		if !ok {
			t.Fatalf("unexpected point %s", start)
		}
		if o["type"] != "series-points" || o["id"] != subject+":temperature:1h:"+start {
			t.Fatalf("point identity %v %v", o["type"], o["id"])
		}
		st, _ := a["celsius"].(map[string]any)
		got := [5]float64{a["count"].(float64), st["min"].(float64), st["max"].(float64), st["avg"].(float64), st["last"].(float64)}
		if got[0] != w[0] || got[1] != w[1] || got[2] != w[2] || math.Abs(got[3]-w[3]) > 1e-9 || got[4] != w[4] {
			t.Fatalf("point %s: got count,min,max,avg,last %v, want %v", start, got, w)
		}
		if _, ok := a["latitude"]; ok {
			t.Fatalf("a temperature point has latitude: %v", a)
		}
	}
}

func seriesPath(prefix string, params ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	return prefix + "?" + v.Encode()
}

func TestSeries(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newEventFixture(t, dialect, 0, 0)
			groups := storage.NewDeviceGroupStore(f.db)
			g := storagetest.MustCreateDeviceGroup(t, groups, storagetest.NewDeviceGroup(f.a.customer.ID, time.Now()))
			member := storagetest.NewDevice(f.a.customer.ID, time.Now())
			member.GroupID = g.ID
			member = storagetest.MustCreateDevice(t, f.devices, member)
			other := storagetest.MustCreateDevice(t, f.devices, storagetest.NewDevice(f.a.customer.ID, time.Now()))
			temps := postSeriesEvents(t, f, f.a, f.a.device.ID)
			memberTemps := postSeriesEvents(t, f, f.a, member.ID)
			postSeriesEvents(t, f, f.a, other.ID)
			postSeriesEvents(t, f, f.b, f.b.device.ID)
			since, until := seriesBase.Format(time.RFC3339), seriesBase.Add(24*time.Hour).Format(time.RFC3339)
			devicePath := "/api/v1/devices/" + f.a.device.ID + "/series"
			groupPath := "/api/v1/device-groups/" + g.ID + "/series"
			window := []string{"filter[type]", "temperature", "filter[since]", since, "filter[until]", until, "interval", "1h"}

			t.Run("OK", func(t *testing.T) {
				doc := f.do(t, "GET", seriesPath(devicePath, window...), f.a.app, nil).doc(t, 200)
				checkPoints(t, doc, f.a.device.ID, hourly(temps))
				if meta, _ := doc["meta"].(map[string]any); meta["total"] != float64(len(hourly(temps))) {
					t.Fatalf("meta %v", doc["meta"])
				}
			})
			t.Run("DeviceToken", func(t *testing.T) {
				doc := f.do(t, "GET", seriesPath(devicePath, window...), f.a.reader, nil).doc(t, 200)
				checkPoints(t, doc, f.a.device.ID, hourly(temps))
				f.do(t, "GET", seriesPath("/api/v1/devices/"+other.ID+"/series", window...), f.a.reader, nil).errorOf(t, 404)
				f.do(t, "GET", seriesPath(groupPath, window...), f.a.reader, nil).errorOf(t, 403)
			})
			t.Run("Group", func(t *testing.T) {
				doc := f.do(t, "GET", seriesPath(groupPath, window...), f.a.basic, nil).doc(t, 200)
				checkPoints(t, doc, g.ID, hourly(memberTemps))
			})
			t.Run("Location", func(t *testing.T) {
				doc := f.do(t, "GET", seriesPath(devicePath, "filter[type]", "location", "filter[since]", since, "interval", "1d"), f.a.me, nil).doc(t, 200)
				list := doc["data"].([]any)
				if len(list) != 1 {
					t.Fatalf("points %v", list)
				}
				a := attrs(list[0].(map[string]any))
				lat, _ := a["latitude"].(map[string]any)
				lon, _ := a["longitude"].(map[string]any)
				if a["start"] != since || a["count"] != 1.0 || lat["last"] != 1.5 || lon["avg"] != 2.5 || a["celsius"] != nil {
					t.Fatalf("location point %v", a)
				}
			})
			t.Run("SparseFieldset", func(t *testing.T) {
				doc := f.do(t, "GET", seriesPath(devicePath, append(window, "fields[series-points]", "start")...), f.a.app, nil).doc(t, 200)
				a := attrs(doc["data"].([]any)[0].(map[string]any))
				if len(a) != 1 || a["start"] != since {
					t.Fatalf("attributes %v, want start only", a)
				}
			})
			t.Run("ErrNotFound", func(t *testing.T) {
				f.do(t, "GET", seriesPath("/api/v1/devices/"+f.b.device.ID+"/series", window...), f.a.app, nil).errorOf(t, 404)
				f.do(t, "GET", seriesPath(groupPath, window...), f.b.app, nil).errorOf(t, 404)
				f.do(t, "GET", seriesPath("/api/v1/devices/"+resource.NewID()+"/series", window...), f.a.app, nil).errorOf(t, 404)
			})
			for _, tc := range []struct {
				name, param, detail string
				params              []string
			}{
				{"ErrTypeMissing", "filter[type]", "event type", []string{"interval", "1h"}},
				{"ErrTypeUnknown", "filter[type]", "must be one of", []string{"filter[type]", "humidity"}},
				{"ErrTypeList", "filter[type]", "must be one of", []string{"filter[type]", "temperature,shock"}},
				{"ErrInterval", "interval", "1m, 5m, 15m, 1h, 6h, 1d", []string{"filter[type]", "temperature", "interval", "2h"}},
				{"ErrIntervalEmpty", "interval", "empty", []string{"filter[type]", "temperature", "interval", ""}},
				{"ErrTooManyBuckets", "interval", "at most 1000", []string{"filter[type]", "temperature", "filter[since]", since,
					"filter[until]", seriesBase.Add(1000*time.Minute + time.Second).Format(time.RFC3339), "interval", "1m"}},
				{"ErrSinceAfterUntil", "filter[until]", "after since", []string{"filter[type]", "temperature", "filter[since]", until, "filter[until]", since}},
				{"ErrSinceEqualsUntil", "filter[until]", "after since", []string{"filter[type]", "temperature", "filter[since]", since, "filter[until]", since}},
				{"ErrSinceSyntax", "filter[since]", "RFC 3339", []string{"filter[type]", "temperature", "filter[since]", "yesterday"}},
				{"ErrUnknownFilter", "filter[device]", "unknown filter", []string{"filter[type]", "temperature", "filter[device]", f.a.device.ID}},
				{"ErrPage", "page[size]", "not supported", []string{"filter[type]", "temperature", "page[size]", "10"}},
				{"ErrInclude", "include", "not supported", []string{"filter[type]", "temperature", "include", "device"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					for _, path := range []string{devicePath, groupPath} {
						e := f.do(t, "GET", seriesPath(path, tc.params...), f.a.app, nil).errorOf(t, 400)
						if source(e, "parameter") != tc.param || !strings.Contains(e["detail"].(string), tc.detail) {
							t.Fatalf("%s: error %v, want parameter %s and a detail with %q", path, e, tc.param, tc.detail)
						}
					}
				})
			}
			t.Run("OneThousandBuckets", func(t *testing.T) {
				f.do(t, "GET", seriesPath(devicePath, "filter[type]", "temperature", "filter[since]", since,
					"filter[until]", seriesBase.Add(1000*time.Minute).Format(time.RFC3339), "interval", "1m"), f.a.app, nil).doc(t, 200)
			})
		})
	}
}
