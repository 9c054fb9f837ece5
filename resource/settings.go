package resource

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
)

// Settings are what a configuration tells its devices. Every key is
// optional (nil: the device keeps its default). Ranges:
//
//   - reporting_interval_s: integer seconds between reports, 10 to 86400
//     (one day);
//   - temperature_log_interval_s: integer seconds between temperature
//     samples, 10 to 86400;
//   - shock_threshold_g: acceleration in g above which a shock is logged,
//     0.1 to 100.
//
// The JSON names are the keys of the settings object in both APIs and in
// the database.
type Settings struct {
	ReportingIntervalS      *int     `json:"reporting_interval_s,omitempty"`
	TemperatureLogIntervalS *int     `json:"temperature_log_interval_s,omitempty"`
	ShockThresholdG         *float64 `json:"shock_threshold_g,omitempty"`
}

// Settings keys.
const (
	SettingReportingIntervalS      = "reporting_interval_s"
	SettingTemperatureLogIntervalS = "temperature_log_interval_s"
	SettingShockThresholdG         = "shock_threshold_g"
)

// settingRange is the allowed range of one setting.
type settingRange struct {
	key      string
	min, max float64
	integer  bool
}

var settingRanges = []settingRange{
	{key: SettingReportingIntervalS, min: 10, max: 86400, integer: true},
	{key: SettingTemperatureLogIntervalS, min: 10, max: 86400, integer: true},
	{key: SettingShockThresholdG, min: 0.1, max: 100},
}

// SettingKeys lists the known settings keys.
func SettingKeys() []string {
	keys := make([]string, len(settingRanges))
	for i, r := range settingRanges {
		keys[i] = r.key
	}
	return keys
}

// SettingsPatch is a JSON merge patch (RFC 7396) of settings, as a PATCH
// of a configuration gives it: an absent key (Set false) keeps its value,
// a null one removes it (the device is back to its default), a value sets
// it.
type SettingsPatch struct {
	ReportingIntervalS      Optional[int]
	TemperatureLogIntervalS Optional[int]
	ShockThresholdG         Optional[float64]
}

// Apply returns s with the patch merged in.
func (p SettingsPatch) Apply(s Settings) Settings {
	s.ReportingIntervalS = merge(s.ReportingIntervalS, p.ReportingIntervalS)
	s.TemperatureLogIntervalS = merge(s.TemperatureLogIntervalS, p.TemperatureLogIntervalS)
	s.ShockThresholdG = merge(s.ShockThresholdG, p.ShockThresholdG)
	return s
}

// merge returns the value of one setting after the patch o.
func merge[T any](old *T, o Optional[T]) *T {
	switch {
	case !o.Set:
		return old
	case o.Null:
		return nil
	}
	return ptr(o.Value)
}

// ParseSettings reads a settings object as decoded from JSON (numbers as
// float64 or json.Number). A null value leaves the key unset. EInvalid with
// Field "settings.<key>" for an unknown key, a value of the wrong type or
// one out of range, one *Error per key (Errors when there are several).
func ParseSettings(raw map[string]any) (Settings, error) {
	p, err := ParseSettingsPatch(raw)
	s := p.Apply(Settings{})
	var bad invalids
	_ = bad.add(err)
	_ = bad.add(s.Validate())
	return s, bad.err()
}

// ParseSettingsPatch reads a settings object of a PATCH, decoded from JSON
// like ParseSettings, as a merge patch: a null value removes the key.
// EInvalid as for ParseSettings, but ranges are left to Settings.Validate,
// which the service applies to the merged settings (so that they are
// reported with the other attributes' errors).
func ParseSettingsPatch(raw map[string]any) (SettingsPatch, error) {
	var p SettingsPatch
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // report the keys in the same order every time
	var bad invalids
	for _, k := range keys {
		i := slices.IndexFunc(settingRanges, func(r settingRange) bool { return r.key == k })
		if i < 0 {
			_ = bad.add(Invalidf("settings."+k, "unknown setting %q; known: %s", k, orNone(SettingKeys())))
			continue
		}
		if raw[k] == nil {
			switch k {
			case SettingReportingIntervalS:
				p.ReportingIntervalS = Null[int]()
			case SettingTemperatureLogIntervalS:
				p.TemperatureLogIntervalS = Null[int]()
			case SettingShockThresholdG:
				p.ShockThresholdG = Null[float64]()
			}
			continue
		}
		x, ok := number(raw[k])
		if !ok {
			_ = bad.add(Invalidf("settings."+k, "setting %s must be a number", k))
			continue
		}
		if settingRanges[i].integer && (x != math.Trunc(x) || math.Abs(x) > 1e15) {
			_ = bad.add(Invalidf("settings."+k, "setting %s must be an integer", k))
			continue
		}
		switch k {
		case SettingReportingIntervalS:
			p.ReportingIntervalS = Some(int(x))
		case SettingTemperatureLogIntervalS:
			p.TemperatureLogIntervalS = Some(int(x))
		case SettingShockThresholdG:
			p.ShockThresholdG = Some(x)
		}
	}
	return p, bad.err()
}

// Validate checks every set value against its range; EInvalid with Field
// "settings.<key>", one *Error per key out of range (Errors when there are
// several).
func (s Settings) Validate() error {
	var bad invalids
	for _, r := range settingRanges {
		var x float64
		switch r.key {
		case SettingReportingIntervalS:
			if s.ReportingIntervalS == nil {
				continue
			}
			x = float64(*s.ReportingIntervalS)
		case SettingTemperatureLogIntervalS:
			if s.TemperatureLogIntervalS == nil {
				continue
			}
			x = float64(*s.TemperatureLogIntervalS)
		case SettingShockThresholdG:
			if s.ShockThresholdG == nil {
				continue
			}
			x = *s.ShockThresholdG
		}
		if math.IsNaN(x) || x < r.min || x > r.max {
			_ = bad.add(Invalidf("settings."+r.key, "setting %s must be between %g and %g", r.key, r.min, r.max))
		}
	}
	return bad.err()
}

// Map returns the set settings as a JSON object value (presenters use it).
func (s Settings) Map() map[string]any {
	m := map[string]any{}
	if s.ReportingIntervalS != nil {
		m[SettingReportingIntervalS] = *s.ReportingIntervalS
	}
	if s.TemperatureLogIntervalS != nil {
		m[SettingTemperatureLogIntervalS] = *s.TemperatureLogIntervalS
	}
	if s.ShockThresholdG != nil {
		m[SettingShockThresholdG] = *s.ShockThresholdG
	}
	return m
}

// number returns a JSON number value as a float64.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		x, err := n.Float64()
		return x, err == nil
	}
	return 0, false
}

func ptr[T any](v T) *T { return &v }
