package graph_test

import (
	"slices"
	"testing"
)

// TestEveryInvalidInputField checks that a mutation with several invalid
// input fields answers one BAD_USER_INPUT error per field, each with its
// extensions.field.
func TestEveryInvalidInputField(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		app := e.app(e.a, "app")
		fields := func(t *testing.T, r gqlResponse) []string {
			t.Helper()
			var out []string
			for _, err := range r.Errors {
				if err.Extensions["code"] != "BAD_USER_INPUT" || len(err.Path) == 0 {
					t.Fatalf("error %+v", err)
				}
				f, _ := err.Extensions["field"].(string)
				out = append(out, f)
			}
			return out
		}
		t.Run("Device", func(t *testing.T) {
			r := e.query(t, app, `mutation { createDevice(input: {name: " ", imei: "123", mac: "zz", latitude: 100, longitude: 0}) { device { id } } }`, nil)
			want := []string{"input.name", "input.imei", "input.mac", "input.latitude"}
			if got := fields(t, r); !slices.Equal(got, want) {
				t.Fatalf("fields %v, want %v", got, want)
			}
		})
		t.Run("Configuration", func(t *testing.T) {
			r := e.query(t, app, `mutation { createConfiguration(input: {name: "", settings: {reportingIntervalS: 5, shockThresholdG: 500}}) { configuration { id } } }`, nil)
			want := []string{"input.name", "input.settings.reportingIntervalS", "input.settings.shockThresholdG"}
			if got := fields(t, r); !slices.Equal(got, want) {
				t.Fatalf("fields %v, want %v", got, want)
			}
		})
		t.Run("Application", func(t *testing.T) {
			r := e.query(t, e.me(e.a), `mutation { createApplication(input: {name: "", grantTypes: ["client_credentials"], redirectUris: ["not a uri"]}) { application { id } } }`, nil)
			want := []string{"input.name", "input.redirectUris"}
			if got := fields(t, r); !slices.Equal(got, want) {
				t.Fatalf("fields %v, want %v", got, want)
			}
		})
		t.Run("OneField", func(t *testing.T) {
			r := e.query(t, app, `mutation { createConfiguration(input: {name: "", settings: {reportingIntervalS: 60}}) { configuration { id } } }`, nil)
			if got := fields(t, r); !slices.Equal(got, []string{"input.name"}) {
				t.Fatalf("fields %v", got)
			}
		})
	})
}
