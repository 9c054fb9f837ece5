package resource

import "math"

// EarthRadius is the mean radius of the Earth in metres (IUGG), the sphere
// on which assetgate measures great-circle distances.
const EarthRadius = 6371008.8

// HaversineLimit returns the haversine of a distance of r metres. The
// haversine of the central angle between two points, sin²(Δφ/2) + cos φ1 ·
// cos φ2 · sin²(Δλ/2), grows with their distance, so a store keeps the
// points within r of a centre by comparing it against this limit instead
// of computing the distance itself (no asin, no rounding above 1).
// Distances beyond half the circumference give 1 (everything).
func HaversineLimit(r float64) float64 {
	θ := r / EarthRadius / 2
	if θ >= math.Pi/2 {
		return 1
	}
	s := math.Sin(θ)
	return s * s
}

// GeoBox is a latitude/longitude box, in degrees, that contains every point
// within some radius of a centre, so that an index on (latitude, longitude)
// can narrow a radius search before the exact distance test.
type GeoBox struct {
	MinLat, MaxLat float64
	// Lon holds one longitude range, or two when the box crosses the
	// antimeridian, or none when it contains a pole (every longitude).
	Lon [][2]float64
}

// boxSlack widens boxes by a hair, so rounding never drops a point that the
// exact test would keep.
const boxSlack = 1e-9

// BoundingBox returns a box around (lat, lon) that contains every point
// within r metres; ok is false when r covers more than half the globe, so
// no box helps. Near the poles the box spans every longitude.
func BoundingBox(lat, lon, r float64) (box GeoBox, ok bool) {
	δ := r / EarthRadius
	if δ >= math.Pi/2 {
		return GeoBox{}, false
	}
	φ, λ := radians(lat), radians(lon)
	minφ, maxφ := φ-δ, φ+δ
	if minφ <= -math.Pi/2 || maxφ >= math.Pi/2 {
		// A pole is inside the circle: every longitude is.
		return GeoBox{MinLat: max(degrees(minφ)-boxSlack, -90), MaxLat: min(degrees(maxφ)+boxSlack, 90)}, true
	}
	dλ := math.Asin(math.Sin(δ) / math.Cos(φ))
	box = GeoBox{MinLat: degrees(minφ) - boxSlack, MaxLat: degrees(maxφ) + boxSlack}
	minλ, maxλ := degrees(λ-dλ)-boxSlack, degrees(λ+dλ)+boxSlack
	switch {
	case minλ < -180:
		box.Lon = [][2]float64{{minλ + 360, 180}, {-180, maxλ}}
	case maxλ > 180:
		box.Lon = [][2]float64{{minλ, 180}, {-180, maxλ - 360}}
	default:
		box.Lon = [][2]float64{{minλ, maxλ}}
	}
	return box, true
}

func radians(d float64) float64 { return d * math.Pi / 180 }
func degrees(r float64) float64 { return r * 180 / math.Pi }
