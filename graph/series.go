package graph

import (
	"strings"
	"time"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// seriesIntervals maps the SeriesInterval enum onto the resource's
// intervals (a test holds the two sets equal).
var seriesIntervals = map[model.SeriesInterval]resource.SeriesInterval{
	model.SeriesIntervalOneMinute: resource.SeriesMinute, model.SeriesIntervalFiveMinutes: resource.SeriesFiveMinutes,
	model.SeriesIntervalFifteenMinutes: resource.SeriesFifteenMinutes, model.SeriesIntervalOneHour: resource.SeriesHour,
	model.SeriesIntervalSixHours: resource.SeriesSixHours, model.SeriesIntervalOneDay: resource.SeriesDay,
}

// seriesQuery maps the arguments of a series field onto the series query,
// field by field: type, since and until onto the filter, interval onto
// the interval (nil takes the resource's default).
func seriesQuery(typ model.EventType, since, until *time.Time, interval *model.SeriesInterval) resource.SeriesQuery {
	t := strings.ToLower(string(typ))
	q := resource.SeriesQuery{Filter: resource.SeriesFilter{Type: &t, Since: since, Until: until}}
	if interval != nil {
		q.Interval = seriesIntervals[*interval]
		if q.Interval == "" { // not an enum value: the service refuses it
			q.Interval = resource.SeriesInterval(*interval)
		}
	}
	return q
}

// seriesPoints presents the points of a series with typed fields per
// payload number, so that a chart selects exactly the numbers it draws.
func seriesPoints(s *resource.Series) []*model.SeriesPoint {
	out := make([]*model.SeriesPoint, len(s.Points))
	for i, pt := range s.Points {
		p := &model.SeriesPoint{ID: resource.SeriesPointID(s.SubjectID, s.Type, s.Interval, pt.Start), Start: pt.Start, Count: pt.Count}
		fields := map[string]**model.SeriesStats{
			resource.PayloadLatitude: &p.Latitude, resource.PayloadLongitude: &p.Longitude, resource.PayloadCelsius: &p.Celsius,
			resource.PayloadG: &p.G, resource.PayloadPercent: &p.Percent,
		}
		for _, st := range pt.Stats {
			if dst, ok := fields[st.Field]; ok {
				*dst = &model.SeriesStats{Min: st.Min, Max: st.Max, Avg: st.Avg, Last: st.Last}
			}
		}
		out[i] = p
	}
	return out
}
