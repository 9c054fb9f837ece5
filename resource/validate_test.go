package resource_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestValidateIMEI(t *testing.T) {
	for _, tc := range []struct {
		imei string
		ok   bool
	}{
		{"490154203237518", true},
		{"356938035643809", true},
		{"000000000000000", true},
		{"490154203237517", false}, // wrong check digit
		{"490154203237519", false},
		{"49015420323751", false},   // 14 digits
		{"4901542032375180", false}, // 16 digits
		{"49015420323751A", false},
		{"49015420323751８", false}, // a full-width digit
		{" 90154203237518", false},
		{"", false},
	} {
		t.Run(tc.imei, func(t *testing.T) {
			err := resource.ValidateIMEI(tc.imei)
			if tc.ok {
				requireCode(t, err, "")
			} else {
				requireInvalid(t, err, "imei")
			}
		})
	}
	t.Run("Generated", func(t *testing.T) {
		for range 100 {
			requireCode(t, resource.ValidateIMEI(storagetest.NewIMEI()), "")
		}
	})
}

func TestNormalizeMAC(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0a:1b:2c:3d:4e:5f", "0A:1B:2C:3D:4E:5F"},
		{"AA:BB:CC:DD:EE:FF", "AA:BB:CC:DD:EE:FF"},
		{"aa-bb-cc-dd-ee-ff", "AA:BB:CC:DD:EE:FF"},
		{"001a.2b3c.4d5e", "00:1A:2B:3C:4D:5E"},
		{"001A2B3C4D5E", "00:1A:2B:3C:4D:5E"},
		{"aa-bb:cc-dd-ee-ff", ""},
		{"aa:bb:cc:dd:ee:f:", ""},
		{"001a.2b3c.4d5", ""},
		{"001a2b3c4d5", ""},
		{"00:1a.2b3c.4d5e", ""},
		{"001A2B3C4D5G", ""},
		{"AA:BB:CC:DD:EE:F", ""},
		{"AA:BB:CC:DD:EE:FG", ""},
		{"AA:BB:CC:DD:EE:FF:00", ""},
		{"AAB:B:CC:DD:EE:FF", ""},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := resource.NormalizeMAC(tc.in)
			if tc.want == "" {
				requireInvalid(t, err, "mac")
				return
			}
			requireCode(t, err, "")
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateCoordinates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lat, lon *float64
		field    string
	}{
		{"Neither", nil, nil, ""},
		{"Both", float(52.5), float(13.4), ""},
		{"Edges", float(-90), float(180), ""},
		{"OnlyLatitude", float(1), nil, "longitude"},
		{"OnlyLongitude", nil, float(1), "latitude"},
		{"LatitudeTooBig", float(90.0001), float(0), "latitude"},
		{"LongitudeTooSmall", float(0), float(-180.5), "longitude"},
		{"NaN", float(math.NaN()), float(0), "latitude"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := resource.ValidateCoordinates(tc.lat, tc.lon)
			if tc.field == "" {
				requireCode(t, err, "")
			} else {
				requireInvalid(t, err, tc.field)
			}
		})
	}
}

func TestParseSettings(t *testing.T) {
	decode := func(t *testing.T, s string) map[string]any {
		var m map[string]any
		must(t, json.Unmarshal([]byte(s), &m))
		return m
	}
	t.Run("OK", func(t *testing.T) {
		s, err := resource.ParseSettings(decode(t, `{"reporting_interval_s": 300, "temperature_log_interval_s": 60.0, "shock_threshold_g": 2.5}`))
		requireCode(t, err, "")
		if *s.ReportingIntervalS != 300 || *s.TemperatureLogIntervalS != 60 || *s.ShockThresholdG != 2.5 {
			t.Fatalf("got %+v", s)
		}
		if got, _ := json.Marshal(s.Map()); string(got) != `{"reporting_interval_s":300,"shock_threshold_g":2.5,"temperature_log_interval_s":60}` {
			t.Fatalf("Map: %s", got)
		}
	})
	t.Run("EmptyAndNull", func(t *testing.T) {
		s, err := resource.ParseSettings(decode(t, `{"shock_threshold_g": null}`))
		requireCode(t, err, "")
		if s != (resource.Settings{}) {
			t.Fatalf("got %+v", s)
		}
	})
	t.Run("JSONNumber", func(t *testing.T) {
		s, err := resource.ParseSettings(map[string]any{"reporting_interval_s": json.Number("10")})
		requireCode(t, err, "")
		if *s.ReportingIntervalS != 10 {
			t.Fatalf("got %+v", s)
		}
	})
	for _, tc := range []struct{ name, body, field string }{
		{"ErrUnknownKey", `{"reporting_interval_s": 300, "colour": "red"}`, "settings.colour"},
		{"ErrNotANumber", `{"reporting_interval_s": "300"}`, "settings.reporting_interval_s"},
		{"ErrNotAnInteger", `{"temperature_log_interval_s": 60.5}`, "settings.temperature_log_interval_s"},
		{"ErrTooSmall", `{"reporting_interval_s": 9}`, "settings.reporting_interval_s"},
		{"ErrTooBig", `{"temperature_log_interval_s": 86401}`, "settings.temperature_log_interval_s"},
		{"ErrShockTooSmall", `{"shock_threshold_g": 0.05}`, "settings.shock_threshold_g"},
		{"ErrShockTooBig", `{"shock_threshold_g": 100.5}`, "settings.shock_threshold_g"},
		{"ErrHuge", `{"reporting_interval_s": 1e300}`, "settings.reporting_interval_s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resource.ParseSettings(decode(t, tc.body))
			requireInvalid(t, err, tc.field)
		})
	}
}

// haversine is the haversine of the central angle between two points given
// in degrees: sin²(Δφ/2) + cos φ1 · cos φ2 · sin²(Δλ/2).
func haversine(lat1, lon1, lat2, lon2 float64) float64 {
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	s1, s2 := math.Sin(rad(lat2-lat1)/2), math.Sin(rad(lon2-lon1)/2)
	return s1*s1 + math.Cos(rad(lat1))*math.Cos(rad(lat2))*s2*s2
}

func TestGeo(t *testing.T) {
	// Known distances on the mean-radius sphere, to the metre: the second
	// point is within the limit of one metre more, and beyond the limit of
	// one metre less.
	for _, tc := range []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want                   float64
	}{
		{"BerlinPotsdam", 52.5200, 13.4050, 52.3906, 13.0645, 27191},
		{"BerlinHamburg", 52.5200, 13.4050, 53.5511, 9.9937, 255251},
		{"OneDegreeOfLatitude", 0, 0, 1, 0, 111195},
		{"Antimeridian", 0, 179.5, 0, -179.5, 111195},
		{"Antipodes", 0, 0, 0, 180, 20015115},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := haversine(tc.lat1, tc.lon1, tc.lat2, tc.lon2)
			if h > resource.HaversineLimit(tc.want+1) || h <= resource.HaversineLimit(tc.want-1) {
				t.Fatalf("haversine %g is not between the limits of %.0f m ± 1 m", h, tc.want)
			}
		})
	}
	t.Run("BoxContainsCircle", func(t *testing.T) {
		// Points on the circle in many directions must lie in the box.
		for _, centre := range [][2]float64{{52.52, 13.405}, {-17, 179.95}, {0, -180}, {89.9, 10}, {-89.9, 0}, {60, 0}} {
			for _, r := range []float64{10, 30000, 500000, 5e6} {
				box, ok := resource.BoundingBox(centre[0], centre[1], r)
				if !ok {
					t.Fatalf("no box for %v r=%v", centre, r)
				}
				for bearing := 0.0; bearing < 360; bearing += 7.5 {
					lat, lon := destination(centre[0], centre[1], bearing, r)
					if lat < box.MinLat || lat > box.MaxLat || !inLon(box, lon) {
						t.Fatalf("centre %v r=%v bearing %v: (%v, %v) outside %+v", centre, r, bearing, lat, lon, box)
					}
				}
			}
		}
	})
	t.Run("NoBoxForHalfTheGlobe", func(t *testing.T) {
		if _, ok := resource.BoundingBox(0, 0, 1.1e7); ok {
			t.Fatal("a box for a radius over a quarter circumference")
		}
	})
}

// destination returns the point at distance r (metres) from (lat, lon) in
// the given bearing (degrees), on the sphere.
func destination(lat, lon, bearing, r float64) (float64, float64) {
	φ1, λ1, θ, δ := lat*math.Pi/180, lon*math.Pi/180, bearing*math.Pi/180, r/resource.EarthRadius
	φ2 := math.Asin(math.Sin(φ1)*math.Cos(δ) + math.Cos(φ1)*math.Sin(δ)*math.Cos(θ))
	λ2 := λ1 + math.Atan2(math.Sin(θ)*math.Sin(δ)*math.Cos(φ1), math.Cos(δ)-math.Sin(φ1)*math.Sin(φ2))
	lon2 := math.Mod(λ2*180/math.Pi+540, 360) - 180
	return φ2 * 180 / math.Pi, lon2
}

func inLon(box resource.GeoBox, lon float64) bool {
	if len(box.Lon) == 0 {
		return true
	}
	for _, r := range box.Lon {
		if lon >= r[0] && lon <= r[1] {
			return true
		}
	}
	return false
}

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		name, s string
		ok      bool
	}{
		{"OK", "Büro 3 – Halle", true},
		{"Empty", "", true},
		{"ErrNUL", "a\x00b", false},
		{"ErrOnlyNUL", "\x00", false},
		{"ErrNotUTF8", "a\xffb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resource.StorableText(tc.s); got != tc.ok {
				t.Fatalf("StorableText(%q) = %v, want %v", tc.s, got, tc.ok)
			}
			err := resource.CheckText("name", tc.s)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckText(%q) = %v", tc.s, err)
			}
			if err != nil && (resource.ErrorCode(err) != resource.EInvalid || resource.ErrorField(err) != "name") {
				t.Fatalf("CheckText(%q) = %v, want EInvalid pointing at name", tc.s, err)
			}
		})
	}
}
