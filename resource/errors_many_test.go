package resource_test

import (
	"errors"
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestErrors checks that a resource.Errors reports its first error to
// callers that show one, and that services return every invalid attribute
// of an input but a single one as a plain *Error.
func TestErrors(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		var err error = resource.Errors{resource.Invalidf("name", "bad name"), resource.Invalidf("imei", "bad imei")}
		if resource.ErrorCode(err) != resource.EInvalid || resource.ErrorField(err) != "name" || resource.ErrorMessage(err) != "bad name" {
			t.Fatalf("code %q field %q message %q", resource.ErrorCode(err), resource.ErrorField(err), resource.ErrorMessage(err))
		}
	})
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := as(t, e.a.me())
		fieldsOf := func(err error) []string {
			var es resource.Errors
			if !errors.As(err, &es) {
				return nil
			}
			out := []string{}
			for _, x := range es {
				out = append(out, x.Field)
			}
			return out
		}
		t.Run("ErrInvalid", func(t *testing.T) {
			lat := 100.0
			lon := 0.0
			_, err := e.devices.Create(ctx, resource.DeviceInput{Name: "", IMEI: "1", MAC: "zz", Latitude: &lat, Longitude: &lon})
			if got := fieldsOf(err); len(got) != 4 || got[0] != "name" || got[1] != "imei" || got[2] != "mac" || got[3] != "latitude" {
				t.Fatalf("fields %v (%v)", got, err)
			}
			bad := 5
			_, err = e.configs.Create(ctx, resource.ConfigurationInput{Name: "x", Settings: resource.Settings{ReportingIntervalS: &bad}})
			var one *resource.Error
			if fieldsOf(err) != nil || !errors.As(err, &one) || one.Field != "settings.reporting_interval_s" {
				t.Fatalf("one invalid field: %#v", err)
			}
		})
	})
}
