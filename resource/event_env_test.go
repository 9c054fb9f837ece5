package resource_test

import (
	"context"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// temperature returns the input of a temperature event.
func temperature(celsius float64) resource.EventInput {
	return resource.EventInput{Type: resource.EventTemperature, Payload: map[string]any{resource.PayloadCelsius: celsius}}
}

// location returns the input of a location event occurring at at.
func location(lat, lon float64, at time.Time) resource.EventInput {
	return resource.EventInput{Type: resource.EventLocation, OccurredAt: at,
		Payload: map[string]any{resource.PayloadLatitude: lat, resource.PayloadLongitude: lon}}
}

// storedEvents returns every stored event of a device, oldest id first.
func storedEvents(t *testing.T, e *env, d *resource.Device) []*resource.Event {
	t.Helper()
	events, err := e.stores.events.EventsAfter(t.Context(), d.CustomerID, d.ID, "", 10_000)
	must(t, err)
	return events
}

// mustDeviceToken creates a device token for tenant tn's device through the
// service, as tn's user.
func mustDeviceToken(t *testing.T, e *env, tn tenant, in resource.DeviceTokenInput) (*resource.DeviceToken, string) {
	t.Helper()
	dt, secret, err := e.deviceTokens.Create(as(t, tn.me()), tn.device.ID, in)
	must(t, err)
	return dt, secret
}

// eventOperationCalls returns, for the operations of events and device
// tokens, the service methods that perform them on customer A's fixtures
// (a device token acts on its own device: the fixture's).
func eventOperationCalls() map[scopes.Operation][]call {
	newToken := func(t *testing.T, e *env) *resource.DeviceToken {
		dt := storagetest.NewDeviceToken(e.a.customer.ID, e.a.device.ID, time.Now())
		must(t, e.stores.deviceTokens.CreateDeviceToken(t.Context(), dt))
		return dt
	}
	return map[scopes.Operation][]call{
		scopes.OpEventsIngest: {
			{"Ingest", func(t *testing.T, e *env, ctx context.Context) error {
				_, _, err := e.events.Ingest(ctx, e.a.device.ID, temperature(20), "")
				return err
			}},
			{"IngestBatch", func(t *testing.T, e *env, ctx context.Context) error {
				_, _, err := e.events.IngestBatch(ctx, e.a.device.ID, []resource.EventInput{temperature(20), temperature(21)}, "")
				return err
			}},
		},
		scopes.OpEventsRead: {
			{"List", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.events.List(ctx, eventQuery{})
				return err
			}},
			{"Find", func(t *testing.T, e *env, ctx context.Context) error {
				ev := storagetest.MustCreateEvents(t, e.stores.events, storagetest.NewEvent(e.a.customer.ID, e.a.device.ID, resource.EventShock, time.Now()))[0]
				_, err := e.events.Find(ctx, ev.ID)
				return err
			}},
			{"ListForDevice", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.events.ListForDevice(ctx, e.a.device.ID, eventQuery{})
				return err
			}},
			{"Follow", func(t *testing.T, e *env, ctx context.Context) error {
				st, err := e.events.Follow(ctx, e.a.device.ID, "")
				if err == nil {
					st.Close()
				}
				return err
			}},
		},
		scopes.OpDevicesRead: {
			{"Stats", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.events.Stats(ctx, e.a.device.ID)
				return err
			}},
		},
		scopes.OpDevicesCall: {
			// Without an MQTT listener every device is offline: a call the
			// table allows gets that far, and no further.
			{"CallResource", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.app.DeviceResources.Call(ctx, e.a.device.ID, "reboot", nil, 0)
				if resource.ErrorCode(err) == resource.EDeviceOffline {
					return nil
				}
				return err
			}},
		},
		scopes.OpDeviceTokens: {
			{"Create", func(t *testing.T, e *env, ctx context.Context) error {
				_, _, err := e.deviceTokens.Create(ctx, e.a.device.ID, resource.DeviceTokenInput{Name: "Sensor"})
				return err
			}},
			{"List", func(t *testing.T, e *env, ctx context.Context) error {
				_, err := e.deviceTokens.List(ctx, e.a.device.ID)
				return err
			}},
			{"Revoke", func(t *testing.T, e *env, ctx context.Context) error {
				return e.deviceTokens.Revoke(ctx, e.a.device.ID, newToken(t, e).ID)
			}},
		},
	}
}
