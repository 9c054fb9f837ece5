package resource_test

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestSeriesBuckets(t *testing.T) {
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name         string
		since, until time.Time
		width        time.Duration
		want         int64
	}{
		{"Aligned", day, day.Add(24 * time.Hour), time.Hour, 24},
		{"PartialEnds", day.Add(30 * time.Minute), day.Add(2*time.Hour + time.Minute), time.Hour, 3},
		{"UntilOnBoundary", day.Add(59 * time.Minute), day.Add(time.Hour), time.Hour, 1},
		{"OneMicrosecond", day, day.Add(time.Microsecond), 24 * time.Hour, 1},
		{"Thousand", day, day.Add(1000 * time.Minute), time.Minute, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resource.SeriesBuckets(tc.since, tc.until, tc.width); got != tc.want {
				t.Fatalf("got %d buckets, want %d", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		at    time.Time
		width time.Duration
		want  time.Time
	}{
		{day.Add(6*time.Hour - time.Microsecond), 6 * time.Hour, day},
		{day.Add(6 * time.Hour), 6 * time.Hour, day.Add(6 * time.Hour)},
		{day.Add(17*time.Minute + 3*time.Second), 15 * time.Minute, day.Add(15 * time.Minute)},
		{day.Add(23 * time.Hour).In(time.FixedZone("UTC+5", 5*3600)), 24 * time.Hour, day},
	} {
		if got := resource.SeriesBucketStart(tc.at, tc.width); !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("bucket of %s (%s): %s, want %s UTC", tc.at, tc.width, got, tc.want)
		}
	}
}

// TestSeriesDefaults checks what a query without since, until and
// interval asks: the 24 hours before now, in hours.
func TestSeriesDefaults(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		now := time.Now().UTC().Truncate(time.Hour).Add(-2*time.Hour + 34*time.Minute + 56*time.Second) // within retention, not on an hour
		customers, devices, events := storage.NewCustomerStore(db), storage.NewDeviceStore(db), storage.NewEventStore(db)
		cust := storagetest.MustCreateCustomer(t, customers)
		d := storagetest.MustCreateDevice(t, devices, storagetest.NewDevice(cust.ID, now))
		storagetest.MustCreateEvents(t, events,
			storagetest.NewEvent(cust.ID, d.ID, resource.EventShock, now.Add(-25*time.Hour)),
			storagetest.NewEvent(cust.ID, d.ID, resource.EventShock, now.Add(-24*time.Hour)),
			storagetest.NewEvent(cust.ID, d.ID, resource.EventShock, now.Add(-time.Hour)),
			storagetest.NewEvent(cust.ID, d.ID, resource.EventShock, now))
		s := &resource.SeriesService{Store: events, Devices: devices, Groups: storage.NewDeviceGroupStore(db), Now: func() time.Time { return now }}
		ctx := scopes.NewContext(t.Context(), &scopes.Principal{Kind: scopes.KindApplication, CustomerID: cust.ID, ClientID: "c", Scopes: []string{scopes.Basic}})
		shock := "shock"
		got, err := s.ForDevice(ctx, d.ID, resource.SeriesQuery{Filter: resource.SeriesFilter{Type: &shock}})
		if err != nil {
			t.Fatal(err)
		}
		if !got.Until.Equal(now) || !got.Since.Equal(now.Add(-24*time.Hour)) || got.Interval != resource.SeriesHour || got.Type != resource.EventShock {
			t.Fatalf("defaults: since %s until %s interval %s", got.Since, got.Until, got.Interval)
		}
		// The event at since is in, the one at until (now) and before since out.
		if len(got.Points) != 2 || !got.Points[0].Start.Equal(now.Add(-24*time.Hour).Truncate(time.Hour)) || got.Points[1].Count != 1 ||
			got.Points[0].Stats[0].Field != resource.PayloadG {
			t.Fatalf("points %+v", got.Points)
		}
		if _, err := s.ForDevice(ctx, d.ID, resource.SeriesQuery{}); resource.ErrorCode(err) != resource.EInvalid {
			t.Fatalf("no type: %v", err)
		}
		other := scopes.NewContext(t.Context(), &scopes.Principal{Kind: scopes.KindApplication, CustomerID: storagetest.MustCreateCustomer(t, customers).ID,
			ClientID: "c", Scopes: []string{scopes.Basic}})
		if _, err := s.ForDevice(other, d.ID, resource.SeriesQuery{Filter: resource.SeriesFilter{Type: &shock}}); resource.ErrorCode(err) != resource.ENotFound {
			t.Fatalf("another customer: %v", err)
		}
	})
}
