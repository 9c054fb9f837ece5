package resource_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/resource"
)

// degree is one degree of a great circle in metres on the sphere of
// resource.EarthRadius.
var degree = resource.EarthRadius * math.Pi / 180

const square = `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}`

func TestGeometryContains(t *testing.T) {
	holed := resource.MustGeometry(`{"type":"Polygon","coordinates":[
		[[0,0],[4,0],[4,4],[0,4],[0,0]],
		[[1,1],[1,3],[3,3],[3,1],[1,1]]]}`)
	for _, c := range []struct {
		lat, lon float64
		want     bool
	}{
		{0.5, 0.5, true}, {2, 2, false}, {3.5, 3.5, true}, {-0.1, 2, false}, {2, 4.1, false}, {2, 0.5, true},
	} {
		if got := holed.Contains(c.lat, c.lon); got != c.want {
			t.Errorf("holed polygon Contains(%v, %v) = %v, want %v", c.lat, c.lon, got, c.want)
		}
	}
	circle := resource.MustGeometry(`{"type":"Point","coordinates":[13.4,52.5],"radius":1000}`)
	// 0.0089° of latitude is 989.6 m, 0.0091° is 1011.9 m.
	if !circle.Contains(52.5089, 13.4) || circle.Contains(52.5091, 13.4) {
		t.Error("the circle's edge is not at 1000 m from its centre")
	}
}

func TestGeometryDistanceKnown(t *testing.T) {
	sq := resource.MustGeometry(square)
	circle := resource.MustGeometry(`{"type":"Point","coordinates":[0,0],"radius":1000}`)
	for _, c := range []struct {
		name     string
		g        *resource.Geometry
		lat, lon float64
		want     float64
	}{
		// South of the edge on the equator, along a meridian: 2°.
		{"south of the equator edge", sq, -2, 0.5, 2 * degree},
		// West of the meridian edge at lon 0: sin d = cos φ · sin Δλ.
		{"west of a meridian edge", sq, 0.5, -1, math.Asin(math.Cos(0.5*math.Pi/180)*math.Sin(math.Pi/180)) * resource.EarthRadius},
		// Inside, the meridian edges are nearest.
		{"inside", sq, 0.5, 0.5, math.Asin(math.Cos(0.5*math.Pi/180)*math.Sin(0.5*math.Pi/180)) * resource.EarthRadius},
		// South-west of the corner (0,0): the corner itself, on the
		// diagonal of the equator and the meridian.
		{"beyond a corner", sq, -1, -1, math.Acos(math.Cos(math.Pi/180)*math.Cos(math.Pi/180)) * resource.EarthRadius},
		{"circle, outside", circle, 1, 0, degree - 1000},
		{"circle, centre", circle, 0, 0, 1000},
	} {
		got := c.g.DistanceToBoundary(c.lat, c.lon)
		if math.Abs(got-c.want) > 0.01 {
			t.Errorf("%s: distance %.3f m, want %.3f m", c.name, got, c.want)
		}
	}
}

// The two ways to write a polygon across the antimeridian: one ring
// crossing it, or a MultiPolygon split at ±180° (RFC 7946, section 3.1.9).
const (
	acrossRing  = `{"type":"Polygon","coordinates":[[[170,-10],[-170,-10],[-170,10],[170,10],[170,-10]]]}`
	acrossSplit = `{"type":"MultiPolygon","coordinates":[
		[[[170,-10],[180,-10],[180,10],[170,10],[170,-10]]],
		[[[-180,-10],[-170,-10],[-170,10],[-180,10],[-180,-10]]]]}`
)

func TestGeometryAntimeridian(t *testing.T) {
	for _, src := range []string{acrossRing, acrossSplit} {
		g := resource.MustGeometry(src)
		for _, c := range []struct {
			lat, lon float64
			want     bool
		}{{0, 179.9, true}, {0, -179.9, true}, {0, 180, true}, {0, -180, true}, {5, -175, true}, {0, 0, false}, {0, 165, false}, {0, -165, false}, {11, 180, false}} {
			if got := g.Contains(c.lat, c.lon); got != c.want {
				t.Errorf("%s: Contains(%v, %v) = %v, want %v", g.Type, c.lat, c.lon, got, c.want)
			}
		}
		// 1° east of the edge at -170 along the equator, and 1° west of
		// the edge at 170.
		for _, lon := range []float64{-169, 169} {
			if got := g.DistanceToBoundary(0, lon); math.Abs(got-degree) > 0.01 {
				t.Errorf("%s: distance from (0, %v) %.3f m, want %.3f m", g.Type, lon, got, degree)
			}
		}
		box, ok := g.Box(0)
		if !ok || len(box.Lon) != 2 {
			t.Fatalf("%s: box %+v, want two longitude ranges", g.Type, box)
		}
	}
}

func TestGeometryHoleAcrossAntimeridian(t *testing.T) {
	g := resource.MustGeometry(`{"type":"Polygon","coordinates":[
		[[170,-10],[-170,-10],[-170,10],[170,10],[170,-10]],
		[[-178,-1],[-176,-1],[-176,1],[-178,1],[-178,-1]]]}`)
	if g.Contains(0, -177) {
		t.Error("a point in the hole is inside")
	}
	if !g.Contains(0, 179) || !g.Contains(0, -172) {
		t.Error("points around the hole are not inside")
	}
}

func TestParseGeometryInvalid(t *testing.T) {
	many := make([]string, 0, resource.MaxGeometryPositions+2)
	for i := 0; i <= resource.MaxGeometryPositions; i++ {
		a := 2 * math.Pi * float64(i) / float64(resource.MaxGeometryPositions)
		many = append(many, fmt.Sprintf("[%f,%f]", math.Cos(a), math.Sin(a)))
	}
	many = append(many, many[0])
	for _, c := range []struct {
		name, geojson, field string
	}{
		{"not an object", `[1,2]`, "geometry"},
		{"unknown member", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]],"crs":1}`, "geometry"},
		{"unknown type", `{"type":"LineString","coordinates":[[0,0],[1,1]]}`, "geometry.type"},
		{"no coordinates", `{"type":"Polygon"}`, "geometry.coordinates"},
		{"not closed", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0.5]]]}`, "geometry.coordinates.0.4"},
		{"too few positions", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}`, "geometry.coordinates.0"},
		{"repeated positions", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,0],[0,0]]]}`, "geometry.coordinates.0"},
		{"longitude", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[181,1],[0,0]]]}`, "geometry.coordinates.0.2.0"},
		{"latitude", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,-91],[0,0]]]}`, "geometry.coordinates.0.2.1"},
		{"position not numbers", `{"type":"Polygon","coordinates":[[[0,0],[1,"0"],[1,1],[0,0]]]}`, "geometry.coordinates.0.1"},
		{"bow tie", `{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}`, "geometry.coordinates.0.3"},
		{"spike", `{"type":"Polygon","coordinates":[[[0,0],[2,0],[1,0],[1,1],[0,0]]]}`, "geometry.coordinates.0"},
		{"hole crossing the exterior", `{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[5,1],[5,2],[1,2],[1,1]]]}`, "geometry.coordinates.1.1"},
		{"hole outside", `{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[5,5],[6,5],[6,6],[5,5]]]}`, "geometry.coordinates.1"},
		{"multipolygon part", `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,6]]]]}`, "geometry.coordinates.1.0.3"},
		{"around a pole", `{"type":"Polygon","coordinates":[[[0,80],[120,80],[-120,80],[0,80]]]}`, "geometry.coordinates.0"},
		{"too many positions", `{"type":"Polygon","coordinates":[[` + strings.Join(many, ",") + `]]}`, "geometry.coordinates.0"},
		{"circle without radius", `{"type":"Point","coordinates":[0,0]}`, "geometry.radius"},
		{"circle radius zero", `{"type":"Point","coordinates":[0,0],"radius":0}`, "geometry.radius"},
		{"circle radius huge", `{"type":"Point","coordinates":[0,0],"radius":1e9}`, "geometry.radius"},
		{"circle latitude", `{"type":"Point","coordinates":[0,95],"radius":10}`, "geometry.coordinates.1"},
		{"polygon with radius", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]],"radius":5}`, "geometry.radius"},
	} {
		_, err := resource.ParseGeometry("geometry", []byte(c.geojson))
		if resource.ErrorCode(err) != resource.EInvalid || resource.ErrorField(err) != c.field {
			t.Errorf("%s: error %v (field %q), want EInvalid at %q", c.name, err, resource.ErrorField(err), c.field)
		}
	}
}

func TestGeometryJSONRoundTrip(t *testing.T) {
	for _, src := range []string{square, acrossRing, acrossSplit, `{"type":"Point","coordinates":[13.4,52.5],"radius":250.5}`} {
		g := resource.MustGeometry(src)
		out, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		_ = json.Unmarshal([]byte(src), &a)
		_ = json.Unmarshal(out, &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("round trip of %s gave %s", src, out)
		}
	}
}

// regularPolygon returns a GeoJSON polygon of n vertices around a centre,
// radius given in degrees of latitude.
func regularPolygon(lat, lon, r float64, n int, rng *rand.Rand) string {
	var ps []string
	for i := 0; i < n; i++ {
		a := 2 * math.Pi * float64(i) / float64(n)
		rr := r * (0.7 + 0.3*rng.Float64()) // star-shaped, never self-crossing
		ps = append(ps, fmt.Sprintf("[%.9f,%.9f]", lon+rr*math.Cos(a)/math.Cos(lat*math.Pi/180), lat+rr*math.Sin(a)))
	}
	ps = append(ps, ps[0])
	return `{"type":"Polygon","coordinates":[[` + strings.Join(ps, ",") + `]]}`
}

// TestGeometryProperties checks, on random star-shaped polygons and random
// points: the distance to the boundary is at most the distance to every
// vertex and at least the distance to the nearest vertex minus half the
// longest edge; every point the match keeps lies in the prefilter box;
// and a ring written across the antimeridian answers like its split form.
func TestGeometryProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 1))
	for round := 0; round < 40; round++ {
		lat, lon := rng.Float64()*140-70, rng.Float64()*360-180
		src := regularPolygon(lat, lon, 0.05+rng.Float64()*2, 3+rng.IntN(60), rng)
		g, err := resource.ParseGeometry("geometry", []byte(src))
		if err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, src)
		}
		var verts [][2]float64
		var raw struct{ Coordinates [][][2]float64 }
		_ = json.Unmarshal([]byte(src), &raw)
		verts = raw.Coordinates[0]
		longest := 0.0
		for i := 0; i+1 < len(verts); i++ {
			longest = max(longest, metresBetween(verts[i][1], verts[i][0], verts[i+1][1], verts[i+1][0]))
		}
		margin := rng.Float64() * 50000
		for _, outside := range []bool{false, true} {
			m := &resource.GeogroupMatch{Geometry: g, Outside: outside, Distance: margin}
			box, ok := m.Box()
			for i := 0; i < 300; i++ {
				plat := lat + (rng.Float64()*2-1)*4
				plon := lon + (rng.Float64()*2-1)*4
				if plat > 90 || plat < -90 {
					continue
				}
				plon = math.Mod(plon+540, 360) - 180
				d := g.DistanceToBoundary(plat, plon)
				nearest := math.Inf(1)
				for _, v := range verts {
					nearest = min(nearest, metresBetween(plat, plon, v[1], v[0]))
				}
				if d > nearest+1e-6 || d < nearest-longest/2-1 {
					t.Fatalf("round %d: distance %.1f m, nearest vertex %.1f m, longest edge %.1f m", round, d, nearest, longest)
				}
				if ok && m.Keep(plat, plon) != outside && !inBox(box, plat, plon) {
					// Inside: a kept point must be in the box. Outside: a
					// refused point must be.
					t.Fatalf("round %d: point (%v, %v) decided by the exact test lies outside the prefilter box %+v", round, plat, plon, box)
				}
			}
		}
	}
	ring, split := resource.MustGeometry(acrossRing), resource.MustGeometry(acrossSplit)
	for i := 0; i < 2000; i++ {
		plat, plon := rng.Float64()*30-15, rng.Float64()*360-180
		if ring.Contains(plat, plon) != split.Contains(plat, plon) {
			t.Fatalf("(%v, %v): the crossing ring and the split form disagree", plat, plon)
		}
	}
}

func inBox(b resource.GeoBox, lat, lon float64) bool {
	if lat < b.MinLat || lat > b.MaxLat {
		return false
	}
	if len(b.Lon) == 0 {
		return true
	}
	for _, r := range b.Lon {
		if lon >= r[0] && lon <= r[1] {
			return true
		}
	}
	return false
}

func metresBetween(lat1, lon1, lat2, lon2 float64) float64 {
	return 2 * resource.EarthRadius * math.Asin(math.Sqrt(min(haversine(lat1, lon1, lat2, lon2), 1)))
}

func FuzzParseGeometry(f *testing.F) {
	for _, s := range []string{square, acrossRing, acrossSplit, `{"type":"Point","coordinates":[0,0],"radius":5}`,
		`{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := resource.ParseGeometry("geometry", []byte(s))
		if err != nil {
			if resource.ErrorCode(err) != resource.EInvalid || !strings.HasPrefix(resource.ErrorField(err), "geometry") {
				t.Fatalf("error %v is not EInvalid below geometry", err)
			}
			return
		}
		out, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := resource.ParseGeometry("geometry", out); err != nil {
			t.Fatalf("a valid geometry written back is refused: %v\n%s", err, out)
		}
		_ = g.Contains(0, 0)
		_ = g.DistanceToBoundary(0, 0)
	})
}
