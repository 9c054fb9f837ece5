package resource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Geometry types a geogroup accepts (RFC 7946 names; a circle is a Point
// with a "radius" member in metres).
const (
	GeometryPolygon      = "Polygon"
	GeometryMultiPolygon = "MultiPolygon"
	GeometryPoint        = "Point"
)

// Bounds of a geometry.
const (
	// MaxGeometryPositions is how many positions a geometry may hold in
	// all its rings.
	MaxGeometryPositions = 10000
	// MaxCircleRadius is the largest circle radius, in metres: a quarter of
	// a great circle, beyond which a circle is no longer a useful fence.
	MaxCircleRadius = 10_000_000
)

// Position is a longitude and latitude in degrees, in GeoJSON's order.
type Position struct {
	Lon, Lat float64
}

// Geometry is a checked geogroup geometry: a Polygon or MultiPolygon
// (holes allowed) or a circle. Build one with ParseGeometry; the zero
// value is not usable.
//
// The model (docs/architecture.md, "Geogroups"): containment treats edges
// as straight lines in longitude/latitude, as RFC 7946 says; distances are
// great-circle distances on the sphere of mean radius EarthRadius, to the
// great-circle arcs between consecutive positions. An edge that spans more
// than 180° of longitude is taken to cross the antimeridian the short way,
// so a ring may be written across ±180° (170, -175, ...) as well as split
// into a MultiPolygon at ±180° as RFC 7946 recommends.
type Geometry struct {
	Type string
	// Polygons holds the polygons (one for a Polygon), each its exterior
	// ring and then its holes, as given (closed rings).
	Polygons [][][]Position
	// Center and Radius (metres) are the circle of a Point.
	Center Position
	Radius float64

	polys []polygon
	box   lonLatBox
}

// polygon is one polygon prepared for tests: rings with unwrapped
// longitudes (continuous across the antimeridian, so they may leave
// -180..180) and its box.
type polygon struct {
	rings [][]Position
	box   lonLatBox
	edges []arc
}

// arc is one edge as unit vectors, for distances.
type arc struct {
	a, b, n vec3 // n is the unit normal of the great circle through a, b
	degen   bool // a and b are (nearly) the same point
}

// lonLatBox is a box in unwrapped longitudes.
type lonLatBox struct {
	minLon, maxLon, minLat, maxLat float64
}

// geoJSON is the wire form of a geometry.
type geoJSON struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
	Radius      *float64        `json:"radius,omitempty"`
	BBox        json.RawMessage `json:"bbox,omitempty"`
}

// ParseGeometry reads and checks a GeoJSON geometry. field is the neutral
// path of the geometry ("geometry"); every EInvalid error it returns points
// below it ("geometry.coordinates.0.3"). The checks: type Polygon,
// MultiPolygon or Point (with radius); rings closed, at least 4 positions,
// longitude -180..180, latitude -90..90, no ring crossing itself or
// another ring of its polygon, holes inside their exterior ring, no ring
// around a pole, at most MaxGeometryPositions positions.
func ParseGeometry(field string, raw []byte) (*Geometry, error) {
	var w geoJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, Invalidf(field, "must be a GeoJSON geometry object with type and coordinates")
	}
	cf := field + ".coordinates"
	if len(w.Coordinates) == 0 || string(w.Coordinates) == "null" {
		return nil, Invalidf(cf, "is required")
	}
	g := &Geometry{Type: w.Type}
	switch w.Type {
	case GeometryPoint:
		p, err := parsePosition(cf, w.Coordinates)
		if err != nil {
			return nil, err
		}
		rf := field + ".radius"
		switch {
		case w.Radius == nil:
			return nil, Invalidf(rf, "a Point geometry is a circle and needs a radius in metres")
		case !(*w.Radius > 0) || *w.Radius > MaxCircleRadius:
			return nil, Invalidf(rf, "must be more than 0 and at most %d metres", MaxCircleRadius)
		}
		g.Center, g.Radius = p, *w.Radius
		return g, nil
	case GeometryPolygon, GeometryMultiPolygon:
		if w.Radius != nil {
			return nil, Invalidf(field+".radius", "only a Point geometry has a radius")
		}
	default:
		return nil, Invalidf(field+".type", "must be Polygon, MultiPolygon or Point (a circle, with radius)")
	}
	var polys []json.RawMessage
	var paths []string
	if w.Type == GeometryPolygon {
		polys, paths = []json.RawMessage{w.Coordinates}, []string{cf}
	} else {
		if err := json.Unmarshal(w.Coordinates, &polys); err != nil || len(polys) == 0 {
			return nil, Invalidf(cf, "must be a non-empty array of polygons")
		}
		for i := range polys {
			paths = append(paths, cf+"."+strconv.Itoa(i))
		}
	}
	count := 0
	for i, raw := range polys {
		rings, err := parseRings(paths[i], raw, &count)
		if err != nil {
			return nil, err
		}
		g.Polygons = append(g.Polygons, rings)
	}
	if err := g.prepare(paths); err != nil {
		return nil, err
	}
	return g, nil
}

// MustGeometry is ParseGeometry for literals known to be valid (tests,
// fixtures); it panics on an invalid one.
func MustGeometry(geojson string) *Geometry {
	g, err := ParseGeometry("geometry", []byte(geojson))
	if err != nil {
		panic(err)
	}
	return g
}

func parsePosition(field string, raw json.RawMessage) (Position, error) {
	var xs []float64
	if err := json.Unmarshal(raw, &xs); err != nil || len(xs) < 2 || len(xs) > 3 {
		return Position{}, Invalidf(field, "must be a position: [longitude, latitude]")
	}
	lon, lat := xs[0], xs[1]
	if lon < -180 || lon > 180 {
		return Position{}, Invalidf(field+".0", "longitude must be between -180 and 180")
	}
	if lat < -90 || lat > 90 {
		return Position{}, Invalidf(field+".1", "latitude must be between -90 and 90")
	}
	return Position{Lon: lon, Lat: lat}, nil
}

// parseRings reads the rings of one polygon at field, counting positions
// in count.
func parseRings(field string, raw json.RawMessage, count *int) ([][]Position, error) {
	var rings []json.RawMessage
	if err := json.Unmarshal(raw, &rings); err != nil || len(rings) == 0 {
		return nil, Invalidf(field, "must be a non-empty array of linear rings")
	}
	out := make([][]Position, len(rings))
	for i, rr := range rings {
		rf := field + "." + strconv.Itoa(i)
		var ps []json.RawMessage
		if err := json.Unmarshal(rr, &ps); err != nil {
			return nil, Invalidf(rf, "must be an array of positions")
		}
		if *count += len(ps); *count > MaxGeometryPositions {
			return nil, Invalidf(rf, "a geometry may hold at most %d positions", MaxGeometryPositions)
		}
		if len(ps) < 4 {
			return nil, Invalidf(rf, "a linear ring needs at least 4 positions")
		}
		ring := make([]Position, len(ps))
		for j, pr := range ps {
			p, err := parsePosition(rf+"."+strconv.Itoa(j), pr)
			if err != nil {
				return nil, err
			}
			ring[j] = p
		}
		if ring[0] != ring[len(ring)-1] {
			return nil, Invalidf(rf+"."+strconv.Itoa(len(ring)-1), "a linear ring must end at its first position")
		}
		out[i] = ring
	}
	return out, nil
}

// prepare unwraps the rings, checks their topology and computes the boxes
// and arcs; paths are the coordinate paths of the polygons.
func (g *Geometry) prepare(paths []string) error {
	g.polys = make([]polygon, len(g.Polygons))
	for i, rings := range g.Polygons {
		p := &g.polys[i]
		p.box = emptyBox()
		for j, ring := range rings {
			rf := paths[i] + "." + strconv.Itoa(j)
			u, err := unwrapRing(rf, ring)
			if err != nil {
				return err
			}
			if j > 0 {
				// A hole goes where its exterior ring is, however each was
				// written around the antimeridian.
				mid := (p.box.minLon + p.box.maxLon) / 2
				if shift := 360 * math.Round((mid-u[0].Lon)/360); shift != 0 {
					for k := range u {
						u[k].Lon += shift
					}
				}
			}
			p.rings = append(p.rings, u)
			for _, q := range u {
				p.box.add(q)
			}
		}
		// A ring written across the antimeridian may lie entirely beyond
		// +180 or below -180 once unwrapped; bring it back by 360.
		if p.box.minLon >= 180 || p.box.maxLon <= -180 {
			shift := -360.0
			if p.box.maxLon <= -180 {
				shift = 360
			}
			p.box.minLon, p.box.maxLon = p.box.minLon+shift, p.box.maxLon+shift
			for _, r := range p.rings {
				for k := range r {
					r[k].Lon += shift
				}
			}
		}
		if err := checkPolygon(paths[i], p.rings); err != nil {
			return err
		}
		for _, r := range p.rings {
			for k := 0; k+1 < len(r); k++ {
				p.edges = append(p.edges, newArc(r[k], r[k+1]))
			}
		}
	}
	g.box = emptyBox()
	for _, p := range g.polys {
		g.box.add(Position{p.box.minLon, p.box.minLat})
		g.box.add(Position{p.box.maxLon, p.box.maxLat})
	}
	return nil
}

// unwrapRing returns the ring with longitudes made continuous: each step
// of more than 180° is taken the short way across the antimeridian.
// Consecutive repeated positions are dropped. EInvalid when fewer than 4
// positions remain or the ring winds around a pole.
func unwrapRing(field string, ring []Position) ([]Position, error) {
	out := []Position{ring[0]}
	for _, q := range ring[1:] {
		prev := out[len(out)-1]
		d := q.Lon - (prev.Lon - 360*math.Round(prev.Lon/360))
		// d is the step from prev's longitude (normalised) to q's.
		d = math.Mod(d+540, 360) - 180
		u := Position{Lon: prev.Lon + d, Lat: q.Lat}
		if u == prev {
			continue
		}
		out = append(out, u)
	}
	last := out[len(out)-1]
	if math.Abs(last.Lon-ring[0].Lon) > 1e-9 {
		return nil, Invalidf(field, "a linear ring must not wind around a pole")
	}
	out[len(out)-1] = out[0]
	if len(out) < 4 {
		return nil, Invalidf(field, "a linear ring needs at least 3 distinct positions")
	}
	return out, nil
}

// segment is one edge of a polygon for the crossing checks.
type segment struct {
	a, b       Position
	ring, idx  int // ring index and edge index within it
	ringEdges  int
	minX, maxX float64
}

// checkPolygon refuses rings that cross themselves or each other, and holes
// outside their exterior ring.
func checkPolygon(field string, rings [][]Position) error {
	var segs []segment
	for i, r := range rings {
		n := len(r) - 1
		for k := 0; k < n; k++ {
			a, b := r[k], r[k+1]
			segs = append(segs, segment{a: a, b: b, ring: i, idx: k, ringEdges: n, minX: min(a.Lon, b.Lon), maxX: max(a.Lon, b.Lon)})
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].minX < segs[j].minX })
	for i := range segs {
		s := &segs[i]
		for j := i + 1; j < len(segs) && segs[j].minX <= s.maxX; j++ {
			t := &segs[j]
			if s.ring == t.ring && adjacent(s.idx, t.idx, s.ringEdges) {
				if spike(s, t) {
					return Invalidf(fmt.Sprintf("%s.%d", field, s.ring), "a linear ring must not turn back on itself")
				}
				continue
			}
			if segmentsMeet(s.a, s.b, t.a, t.b) {
				r, k := t.ring, t.idx
				if s.ring > r || (s.ring == r && s.idx > k) {
					r, k = s.ring, s.idx
				}
				if s.ring == t.ring {
					return Invalidf(fmt.Sprintf("%s.%d.%d", field, r, k+1), "the ring crosses itself here")
				}
				return Invalidf(fmt.Sprintf("%s.%d.%d", field, r, k+1), "the ring crosses another ring of its polygon here")
			}
		}
	}
	for i := 1; i < len(rings); i++ {
		if !ringContains(rings[0], rings[i][0]) {
			return Invalidf(fmt.Sprintf("%s.%d", field, i), "a hole must lie inside the exterior ring")
		}
	}
	return nil
}

// adjacent reports whether edges i and j of a ring of n edges share a
// position.
func adjacent(i, j, n int) bool {
	d := i - j
	if d < 0 {
		d = -d
	}
	return d == 1 || d == n-1
}

// spike reports whether two adjacent edges run back over each other.
func spike(s, t *segment) bool {
	// The shared position and the two far ends.
	var p, a, b Position
	switch {
	case s.b == t.a:
		p, a, b = s.b, s.a, t.b
	case t.b == s.a:
		p, a, b = s.a, s.b, t.a
	default:
		return false
	}
	if orient(a, p, b) != 0 {
		return false
	}
	return (a.Lon-p.Lon)*(b.Lon-p.Lon)+(a.Lat-p.Lat)*(b.Lat-p.Lat) > 0
}

func orient(a, b, c Position) float64 {
	return (b.Lon-a.Lon)*(c.Lat-a.Lat) - (b.Lat-a.Lat)*(c.Lon-a.Lon)
}

func sign(x float64) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// onSegment reports whether c, collinear with a and b, lies between them.
func onSegment(a, b, c Position) bool {
	return min(a.Lon, b.Lon) <= c.Lon && c.Lon <= max(a.Lon, b.Lon) &&
		min(a.Lat, b.Lat) <= c.Lat && c.Lat <= max(a.Lat, b.Lat)
}

// segmentsMeet reports whether segments ab and cd share any point.
func segmentsMeet(a, b, c, d Position) bool {
	o1, o2 := sign(orient(a, b, c)), sign(orient(a, b, d))
	o3, o4 := sign(orient(c, d, a)), sign(orient(c, d, b))
	if o1 != o2 && o3 != o4 {
		return true
	}
	return (o1 == 0 && onSegment(a, b, c)) || (o2 == 0 && onSegment(a, b, d)) ||
		(o3 == 0 && onSegment(c, d, a)) || (o4 == 0 && onSegment(c, d, b))
}

// ringContains is the even-odd test of p against one closed ring.
func ringContains(r []Position, p Position) bool {
	in := false
	for k := 0; k+1 < len(r); k++ {
		a, b := r[k], r[k+1]
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) {
			x := a.Lon + (p.Lat-a.Lat)*(b.Lon-a.Lon)/(b.Lat-a.Lat)
			if p.Lon < x {
				in = !in
			}
		}
	}
	return in
}

func emptyBox() lonLatBox {
	return lonLatBox{minLon: math.Inf(1), maxLon: math.Inf(-1), minLat: math.Inf(1), maxLat: math.Inf(-1)}
}

func (b *lonLatBox) add(p Position) {
	b.minLon, b.maxLon = min(b.minLon, p.Lon), max(b.maxLon, p.Lon)
	b.minLat, b.maxLat = min(b.minLat, p.Lat), max(b.maxLat, p.Lat)
}

func (b lonLatBox) holds(p Position) bool {
	return p.Lon >= b.minLon && p.Lon <= b.maxLon && p.Lat >= b.minLat && p.Lat <= b.maxLat
}

// Contains reports whether the point (lat, lon) is inside the geometry: in
// a polygon's exterior ring and in none of its holes, or within the
// circle's radius of its centre.
func (g *Geometry) Contains(lat, lon float64) bool {
	if g.Type == GeometryPoint {
		return haversineDistance(lat, lon, g.Center.Lat, g.Center.Lon) <= g.Radius
	}
	for _, p := range g.polys {
		// Unwrapped rings may reach past ±180°: try the point's longitude
		// one turn either way too.
		for _, l := range [3]float64{lon, lon + 360, lon - 360} {
			q := Position{Lon: l, Lat: lat}
			if !p.box.holds(q) {
				continue
			}
			in := false
			for _, r := range p.rings {
				if ringContains(r, q) {
					in = !in
				}
			}
			if in {
				return true
			}
		}
	}
	return false
}

// DistanceToBoundary returns the great-circle distance in metres from the
// point (lat, lon) to the geometry's boundary: to the nearest edge of any
// ring, or to the circle.
func (g *Geometry) DistanceToBoundary(lat, lon float64) float64 {
	if g.Type == GeometryPoint {
		return math.Abs(haversineDistance(lat, lon, g.Center.Lat, g.Center.Lon) - g.Radius)
	}
	p := unit(lat, lon)
	best := math.Pi
	for _, poly := range g.polys {
		for _, e := range poly.edges {
			best = min(best, e.angleTo(p))
		}
	}
	return best * EarthRadius
}

// Box returns a latitude/longitude box that holds every point inside the
// geometry or within margin metres of it; ok is false when no box helps
// (the margin reaches a pole's far side, or a circle covers half the
// globe).
func (g *Geometry) Box(margin float64) (box GeoBox, ok bool) {
	if g.Type == GeometryPoint {
		return BoundingBox(g.Center.Lat, g.Center.Lon, g.Radius+margin)
	}
	δ := margin / EarthRadius
	if δ >= math.Pi/2 {
		return GeoBox{}, false
	}
	dφ := degrees(δ)
	minLat, maxLat := g.box.minLat-dφ-boxSlack, g.box.maxLat+dφ+boxSlack
	if minLat <= -90 || maxLat >= 90 {
		return GeoBox{MinLat: max(minLat, -90), MaxLat: min(maxLat, 90)}, true
	}
	box = GeoBox{MinLat: minLat, MaxLat: maxLat}
	φmax := radians(max(math.Abs(g.box.minLat), math.Abs(g.box.maxLat)))
	var ranges [][2]float64
	for _, p := range g.polys {
		dλ := 0.0
		if margin > 0 {
			s := math.Sin(δ) / math.Cos(φmax)
			if s >= 1 {
				return box, true
			}
			dλ = degrees(math.Asin(s))
		}
		lo, hi := p.box.minLon-dλ-boxSlack, p.box.maxLon+dλ+boxSlack
		if hi-lo >= 360 {
			return box, true
		}
		switch {
		case lo < -180:
			ranges = append(ranges, [2]float64{lo + 360, 180}, [2]float64{-180, hi})
		case hi > 180:
			ranges = append(ranges, [2]float64{lo, 180}, [2]float64{-180, hi - 360})
		default:
			ranges = append(ranges, [2]float64{lo, hi})
		}
	}
	box.Lon = mergeRanges(ranges)
	return box, true
}

// mergeRanges sorts and merges overlapping longitude ranges.
func mergeRanges(rs [][2]float64) [][2]float64 {
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	var out [][2]float64
	for _, r := range rs {
		if n := len(out); n > 0 && r[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

// MarshalJSON writes the geometry as GeoJSON, as it was given (a circle
// with its radius member).
func (g *Geometry) MarshalJSON() ([]byte, error) {
	w := struct {
		Type        string   `json:"type"`
		Coordinates any      `json:"coordinates"`
		Radius      *float64 `json:"radius,omitempty"`
	}{Type: g.Type}
	pos := func(p Position) [2]float64 { return [2]float64{p.Lon, p.Lat} }
	rings := func(rs [][]Position) [][][2]float64 {
		out := make([][][2]float64, len(rs))
		for i, r := range rs {
			out[i] = make([][2]float64, len(r))
			for j, p := range r {
				out[i][j] = pos(p)
			}
		}
		return out
	}
	switch g.Type {
	case GeometryPoint:
		w.Coordinates, w.Radius = pos(g.Center), &g.Radius
	case GeometryPolygon:
		w.Coordinates = rings(g.Polygons[0])
	default:
		ps := make([][][][2]float64, len(g.Polygons))
		for i, p := range g.Polygons {
			ps[i] = rings(p)
		}
		w.Coordinates = ps
	}
	return json.Marshal(w)
}

// vec3 is a point on the unit sphere.
type vec3 struct{ x, y, z float64 }

func unit(lat, lon float64) vec3 {
	φ, λ := radians(lat), radians(lon)
	return vec3{math.Cos(φ) * math.Cos(λ), math.Cos(φ) * math.Sin(λ), math.Sin(φ)}
}

func (a vec3) dot(b vec3) float64 { return a.x*b.x + a.y*b.y + a.z*b.z }
func (a vec3) cross(b vec3) vec3 {
	return vec3{a.y*b.z - a.z*b.y, a.z*b.x - a.x*b.z, a.x*b.y - a.y*b.x}
}
func (a vec3) sub(b vec3) vec3      { return vec3{a.x - b.x, a.y - b.y, a.z - b.z} }
func (a vec3) scale(s float64) vec3 { return vec3{a.x * s, a.y * s, a.z * s} }
func (a vec3) norm() float64        { return math.Sqrt(a.dot(a)) }

// angle returns the central angle between two unit vectors, accurate at
// every distance.
func angle(a, b vec3) float64 { return math.Atan2(a.cross(b).norm(), a.dot(b)) }

func newArc(p, q Position) arc {
	a, b := unit(p.Lat, p.Lon), unit(q.Lat, q.Lon)
	n := a.cross(b)
	l := n.norm()
	if l < 1e-15 {
		return arc{a: a, b: b, degen: true}
	}
	return arc{a: a, b: b, n: n.scale(1 / l)}
}

// angleTo returns the central angle from p to the nearest point of the
// arc.
func (e arc) angleTo(p vec3) float64 {
	if !e.degen {
		s := p.dot(e.n)
		c := p.sub(e.n.scale(s)) // p projected on the arc's great circle
		if e.a.cross(c).dot(e.n) >= 0 && c.cross(e.b).dot(e.n) >= 0 && c.norm() > 1e-15 {
			return math.Atan2(math.Abs(s), c.norm())
		}
	}
	return min(angle(p, e.a), angle(p, e.b))
}

// haversineDistance is the great-circle distance in metres between two
// points.
func haversineDistance(lat1, lon1, lat2, lon2 float64) float64 {
	return angle(unit(lat1, lon1), unit(lat2, lon2)) * EarthRadius
}

// GeogroupMatch is a checked geogroup filter as stores apply it: the
// devices inside the geometry (or within Distance metres of its boundary),
// or with Outside, those outside it (and farther than Distance). Devices
// without a position never match.
type GeogroupMatch struct {
	GeogroupID string
	Geometry   *Geometry
	Outside    bool
	// Distance is the margin in metres; 0 for none.
	Distance float64
}

// Keep reports whether a device at (lat, lon) matches.
func (m *GeogroupMatch) Keep(lat, lon float64) bool {
	in := m.Geometry.Contains(lat, lon)
	if !m.Outside {
		return in || (m.Distance > 0 && m.Geometry.DistanceToBoundary(lat, lon) <= m.Distance)
	}
	return !in && (m.Distance == 0 || m.Geometry.DistanceToBoundary(lat, lon) > m.Distance)
}

// Box returns the box outside of which the inside test is false (and the
// outside test true) for every point; ok is false when no box helps.
func (m *GeogroupMatch) Box() (GeoBox, bool) { return m.Geometry.Box(m.Distance) }

// Bounds returns the bounding box of the geometry in degrees; the
// longitudes of a polygon are unwrapped, so a geometry across the
// antimeridian may have minLon below -180 or maxLon above 180.
func (g *Geometry) Bounds() (minLat, maxLat, minLon, maxLon float64) {
	if g.Type == GeometryPoint {
		b, ok := BoundingBox(g.Center.Lat, g.Center.Lon, g.Radius)
		if !ok {
			return -90, 90, -180, 180
		}
		minLon, maxLon = -180, 180
		switch len(b.Lon) {
		case 1:
			minLon, maxLon = b.Lon[0][0], b.Lon[0][1]
		case 2: // across the antimeridian: unwrap the western range
			minLon, maxLon = b.Lon[0][0], b.Lon[1][1]+360
		}
		return b.MinLat, b.MaxLat, minLon, maxLon
	}
	return g.box.minLat, g.box.maxLat, g.box.minLon, g.box.maxLon
}
