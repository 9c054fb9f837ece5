package jsonapi

import (
	"net/http"
	"time"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// typeSeriesPoints is the resource type of the buckets of a series.
const typeSeriesPoints = "series-points"

// seriesPointPresenter is one bucket of a series: its start, its count
// and, per payload number of the series' event type, an object with min,
// max, avg and last (the others are left out: a temperature point has
// celsius only). Its id is SUBJECT:TYPE:INTERVAL:START.
type seriesPointPresenter struct {
	ID        string                `jsonapi:"primary,series-points"`
	Start     string                `jsonapi:"attr,start"`
	Count     int                   `jsonapi:"attr,count"`
	Latitude  *seriesStatsPresenter `jsonapi:"attr,latitude,omitempty"`
	Longitude *seriesStatsPresenter `jsonapi:"attr,longitude,omitempty"`
	Celsius   *seriesStatsPresenter `jsonapi:"attr,celsius,omitempty"`
	G         *seriesStatsPresenter `jsonapi:"attr,g,omitempty"`
	Percent   *seriesStatsPresenter `jsonapi:"attr,percent,omitempty"`
}

// seriesStatsPresenter is the figures of one payload number in a bucket.
type seriesStatsPresenter struct {
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Avg  float64 `json:"avg"`
	Last float64 `json:"last"`
}

// JSONAPILinks implements jsonapi.Linkable: a point has no URL of its own.
func (p *seriesPointPresenter) JSONAPILinks() *jsonapi.Links { return nil }

// JSONAPIRelationshipLinks implements jsonapi.RelationshipLinkable.
func (p *seriesPointPresenter) JSONAPIRelationshipLinks(string) *jsonapi.Links { return nil }

func presentSeriesPoint(s *resource.Series, pt *resource.SeriesPoint) *seriesPointPresenter {
	p := &seriesPointPresenter{ID: resource.SeriesPointID(s.SubjectID, s.Type, s.Interval, pt.Start),
		Start: pt.Start.UTC().Format(time.RFC3339), Count: pt.Count}
	fields := map[string]**seriesStatsPresenter{
		resource.PayloadLatitude: &p.Latitude, resource.PayloadLongitude: &p.Longitude, resource.PayloadCelsius: &p.Celsius,
		resource.PayloadG: &p.G, resource.PayloadPercent: &p.Percent,
	}
	for _, st := range pt.Stats {
		if dst, ok := fields[st.Field]; ok {
			*dst = &seriesStatsPresenter{Min: st.Min, Max: st.Max, Avg: st.Avg, Last: st.Last}
		}
	}
	return p
}

func (a *API) seriesRoutes() []*route {
	return []*route{
		{method: "GET", path: "/devices/{id}/series", ops: []scopes.Operation{scopes.OpEventsRead}, h: a.getDeviceSeries},
		{method: "GET", path: "/device-groups/{id}/series", ops: []scopes.Operation{scopes.OpEventsRead, scopes.OpGroupsRead},
			h: a.getGroupSeries},
	}
}

// seriesFilters map filter[type], filter[since] and filter[until] onto
// the series filter.
var seriesFilters = filterFields[resource.SeriesFilter]{
	textFilter(resource.SeriesFilterType, func(f *resource.SeriesFilter) **string { return &f.Type }),
	timeFilter(resource.SeriesFilterSince, func(f *resource.SeriesFilter) **time.Time { return &f.Since }),
	timeFilter(resource.SeriesFilterUntil, func(f *resource.SeriesFilter) **time.Time { return &f.Until }),
}

// parseSeries reads the query of a series route: the filters, interval
// and fields[series-points].
func (a *API) parseSeries(r *http.Request) (resource.SeriesQuery, resource.Query, error) {
	pq, err := a.parseParams(r.URL.RawQuery, querySeries)
	if err != nil {
		return resource.SeriesQuery{}, pq.Query, err
	}
	q := resource.SeriesQuery{Interval: resource.SeriesInterval(pq.interval)}
	if err := seriesFilters.apply(&q.Filter, pq.filter); err != nil {
		return q, pq.Query, err
	}
	return q, pq.Query, nil
}

func (a *API) getDeviceSeries(w http.ResponseWriter, r *http.Request) error {
	q, rq, err := a.parseSeries(r)
	if err != nil {
		return err
	}
	s, err := a.deps.Series.ForDevice(r.Context(), r.PathValue("id"), q)
	if err != nil {
		return err
	}
	return a.writeSeries(w, r, rq, s)
}

func (a *API) getGroupSeries(w http.ResponseWriter, r *http.Request) error {
	q, rq, err := a.parseSeries(r)
	if err != nil {
		return err
	}
	s, err := a.deps.Series.ForGroup(r.Context(), r.PathValue("id"), q)
	if err != nil {
		return err
	}
	return a.writeSeries(w, r, rq, s)
}

// writeSeries writes every point (a series is not paged: the bucket limit
// bounds it), the request as the self link and meta.total.
func (a *API) writeSeries(w http.ResponseWriter, r *http.Request, q resource.Query, s *resource.Series) error {
	ps := make([]presenter, len(s.Points))
	for i, pt := range s.Points {
		ps[i] = presentSeriesPoint(s, pt)
	}
	return a.writeAll(w, r, http.StatusOK, q, ps)
}
