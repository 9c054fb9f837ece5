package graph_test

import (
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/wire/wiretest"
)

// TestDeleteDeviceRevokesItsTokens deletes a device through GraphQL: the
// device's tokens are revoked with it, as they are in the server, because
// the test endpoint runs on the service graph the server runs on.
func TestDeleteDeviceRevokesItsTokens(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		me := e.me(e.a)
		vars := map[string]any{"id": e.a.device.ID}
		d := e.query(t, me, `mutation($id: ID!) { createDeviceToken(input: {deviceId: $id, name: "Gateway", permissions: [EVENTS_WRITE]}) { token } }`,
			vars).ok(t)
		token, _ := get(d, "createDeviceToken.token").(string)
		_, family, ok := resource.ParseToken(token)
		if !ok {
			t.Fatalf("token %q", token)
		}
		hash := resource.KeyedHash([]byte(wiretest.Key), token)
		if _, err := e.stores.tokens.FindToken(t.Context(), family, hash); err != nil {
			t.Fatalf("the new token is not stored: %v", err)
		}
		e.query(t, me, `mutation($id: ID!) { deleteDevice(input: {id: $id}) { deletedId } }`, vars).ok(t)
		if _, err := e.stores.tokens.FindToken(t.Context(), family, hash); resource.ErrorCode(err) != resource.ENotFound {
			t.Fatalf("the deleted device's token: %v, want NotFound", err)
		}
	})
}
