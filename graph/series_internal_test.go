package graph

import (
	"slices"
	"testing"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// TestSeriesIntervalsMatchResource holds the SeriesInterval enum equal to
// the resource's intervals: every enum value maps to one of them, and each
// of them has a value.
func TestSeriesIntervalsMatchResource(t *testing.T) {
	var mapped []resource.SeriesInterval
	for _, v := range model.AllSeriesInterval {
		r, ok := seriesIntervals[v]
		if !ok {
			t.Fatalf("enum value %s maps to no interval", v)
		}
		mapped = append(mapped, r)
	}
	if !slices.Equal(mapped, resource.SeriesIntervals()) {
		t.Fatalf("the enum maps to %v, the resource has %v", mapped, resource.SeriesIntervals())
	}
}
