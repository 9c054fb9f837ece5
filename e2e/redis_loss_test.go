package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/wire"
)

// waitReady polls /readyz until it answers 200 (the server sees Redis
// again).
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz did not answer 200 within 15s after the Redis restart", base)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTokensSurviveRedisLoss issues device tokens and refresh tokens through
// a real server with Redis, kills that Redis and starts an empty one on the
// same port (no persistence: everything Redis held is lost), and checks that
// the long-lived credentials still work, that revoked ones stay revoked, and
// that access tokens (kept only in Redis) are refused, so clients refresh.
func TestTokensSurviveRedisLoss(t *testing.T) {
	for name, mkenv := range map[string]func(t *testing.T) testsupport.Env{"sqlite+redis": testsupport.SQLiteEnv, "postgres+redis": testsupport.PostgresEnv} {
		t.Run(name, func(t *testing.T) {
			rs := startPrivateRedis(t)
			env := mkenv(t).With("ASSETGATE_REDIS_URL", rs.url())
			ts := startServer(t, env)
			c := newAPIClientOf(t, ts.URL)
			tn := newAPITenant(t, env, c, "Durable")
			devicePath := "/api/v1/devices/" + tn.deviceID

			keptID, kept := issueDeviceToken(t, c, tn, "device:read")
			revokedID, revoked := issueDeviceToken(t, c, tn, "device:read")
			c.call(t, "DELETE", devicePath+"/tokens/"+revokedID, tn.me, nil).want(t, 204)
			c.call(t, "GET", devicePath, kept, nil).want(t, 200)
			c.call(t, "GET", devicePath, revoked, nil).want(t, 401)

			mobile := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", "Durable mobile",
				"--grant", "password", "--grant", "refresh_token", "--scope", "me")
			login := func() (access, refresh string) {
				t.Helper()
				tok := postForm(t, ts.URL+"/oauth/token", clientBasic(mobile), url.Values{"grant_type": {"password"},
					"username": {tn.email}, "password": {tenantPassword}, "scope": {"me"}}, http.StatusOK)
				return tok["access_token"].(string), tok["refresh_token"].(string)
			}
			access, refresh := login()
			_, revokedRefresh := login()
			postForm(t, ts.URL+"/oauth/revoke", clientBasic(mobile), url.Values{"token": {revokedRefresh}}, http.StatusOK)
			c.call(t, "GET", "/api/v1/users/me", access, nil).want(t, 200)

			rs.restart(t)
			waitReady(t, ts.URL)

			t.Run("DeviceToken", func(t *testing.T) {
				c.call(t, "GET", devicePath, kept, nil).want(t, 200)
				c.call(t, "GET", devicePath, kept, nil).want(t, 200) // now from the refilled cache
			})
			t.Run("RevokedDeviceToken", func(t *testing.T) {
				c.call(t, "GET", devicePath, revoked, nil).want(t, 401)
			})
			t.Run("AccessTokenLost", func(t *testing.T) {
				c.call(t, "GET", "/api/v1/users/me", access, nil).want(t, 401)
			})
			t.Run("RefreshToken", func(t *testing.T) {
				tok := postForm(t, ts.URL+"/oauth/token", clientBasic(mobile),
					url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, http.StatusOK)
				me := tok["access_token"].(string)
				c.call(t, "GET", "/api/v1/users/me", me, nil).want(t, 200)
				// The device token list (the catalogue in SQL) and the
				// token store agree: the kept token is listed and works.
				list := c.call(t, "GET", devicePath+"/tokens", me, nil).want(t, 200)
				if ids := listIDs(list); len(ids) != 1 || ids[0] != keptID {
					t.Fatalf("device tokens after the Redis loss: %v, want [%s]", ids, keptID)
				}
				// The new refresh token rotates in turn.
				postForm(t, ts.URL+"/oauth/token", clientBasic(mobile),
					url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, http.StatusOK)
			})
			t.Run("RevokedRefreshToken", func(t *testing.T) {
				res := postForm(t, ts.URL+"/oauth/token", clientBasic(mobile),
					url.Values{"grant_type": {"refresh_token"}, "refresh_token": {revokedRefresh}}, http.StatusBadRequest)
				if res["error"] != "invalid_grant" {
					t.Fatalf("refresh with a revoked token: %v, want invalid_grant", res)
				}
			})
		})
	}
}

// TestTokensImportRedis stores a device token as versions before the tiered
// token store did (in Redis only), runs `assetgate tokens import-redis` with
// the server stopped, loses Redis, and checks that the token still works.
func TestTokensImportRedis(t *testing.T) {
	rs := startPrivateRedis(t)
	env := testsupport.SQLiteEnv(t).With("ASSETGATE_REDIS_URL", rs.url())
	ts := startServer(t, env)
	c := newAPIClientOf(t, ts.URL)
	tn := newAPITenant(t, env, c, "Imported")
	a := openGraph(t, env)
	rc, err := storage.OpenRedis(t.Context(), rs.url())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	fam := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: resource.DeviceTokenClientID(tn.deviceID),
		CustomerID: tn.customerID, DeviceID: tn.deviceID}
	legacy := resource.NewToken(resource.DeviceTokenPrefix, fam.ID)
	if err := storage.NewRedisTokenStore(rc, wire.DefaultRedisPrefix).CreateFamily(t.Context(), fam, &resource.Token{
		Kind: resource.TokenDevice, FamilyID: fam.ID, Hash: resource.KeyedHash(a.Config().Key, legacy), ClientID: tn.userID,
		CustomerID: tn.customerID, DeviceID: tn.deviceID, ID: resource.NewID(), Name: "legacy",
		Permissions: []string{"device:read"}, IssuedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	devicePath := "/api/v1/devices/" + tn.deviceID
	c.call(t, "GET", devicePath, legacy, nil).want(t, 200)
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}

	// As the README says to run it: the Redis URL as a flag.
	out := mustCLI(t, env.With("ASSETGATE_REDIS_URL", ""), "", "tokens", "import-redis", "--redis-url", rs.url())
	if out["families"] != 1.0 || out["tokens"] != 1.0 {
		t.Fatalf("tokens import-redis = %v, want the one legacy family and token", out)
	}
	rs.restart(t)
	ts = startServer(t, env)
	c = newAPIClientOf(t, ts.URL)
	c.call(t, "GET", devicePath, legacy, nil).want(t, 200)
}
