package graph_test

import "testing"

// TestUpdateConfigurationMergesSettings checks that updateConfiguration
// merges settings as JSON:API PATCH does (RFC 7396): absent fields stay,
// null removes a setting, a value sets it.
func TestUpdateConfigurationMergesSettings(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		app := e.app(e.a, "app")
		d := e.query(t, app, `mutation { createConfiguration(input: {name: "Merge", settings: {reportingIntervalS: 60, temperatureLogIntervalS: 300, shockThresholdG: 1.5}}) {
			configuration { id } } }`, nil).ok(t)
		cid, _ := get(d, "createConfiguration.configuration.id").(string)
		const sel = `{ configuration { settings { reportingIntervalS temperatureLogIntervalS shockThresholdG } } }`
		t.Run("OK", func(t *testing.T) {
			d := e.query(t, app, `mutation($id: ID!) { updateConfiguration(input: {id: $id, settings: {shockThresholdG: 2.5, temperatureLogIntervalS: null}}) `+sel+` }`,
				map[string]any{"id": cid}).ok(t)
			s := get(d, "updateConfiguration.configuration.settings")
			if get(s, "reportingIntervalS") != 60.0 || get(s, "temperatureLogIntervalS") != nil || get(s, "shockThresholdG") != 2.5 {
				t.Fatalf("settings after merge %v", s)
			}
		})
		t.Run("Variables", func(t *testing.T) {
			d := e.query(t, app, `mutation($in: UpdateConfigurationInput!) { updateConfiguration(input: $in) `+sel+` }`,
				map[string]any{"in": map[string]any{"id": cid, "settings": map[string]any{"reportingIntervalS": nil}}}).ok(t)
			s := get(d, "updateConfiguration.configuration.settings")
			if get(s, "reportingIntervalS") != nil || get(s, "shockThresholdG") != 2.5 {
				t.Fatalf("settings after merge %v", s)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			r := e.query(t, app, `mutation($id: ID!) { updateConfiguration(input: {id: $id, settings: {reportingIntervalS: 5}}) `+sel+` }`, map[string]any{"id": cid})
			if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "input.settings.reportingIntervalS" {
				t.Fatalf("error %+v", err)
			}
		})
		t.Run("ErrConflict", func(t *testing.T) {
			e.query(t, app, `mutation { publishConfiguration(input: {id: "`+cid+`"}) { configuration { state } } }`, nil).ok(t)
			e.query(t, app, `mutation($id: ID!) { updateConfiguration(input: {id: $id, settings: {shockThresholdG: null}}) `+sel+` }`,
				map[string]any{"id": cid}).fails(t, "CONFLICT")
		})
	})
}
