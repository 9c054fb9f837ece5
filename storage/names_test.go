package storage_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestClosedSetColumns reads back, as plain text, the columns that hold
// values of the closed sets: they are the strings the APIs show.
func TestClosedSetColumns(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		c := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
		u := storagetest.MustCreateUser(t, storage.NewUserStore(db), c.ID)
		a := storagetest.MustCreateApplication(t, storage.NewApplicationStore(db), c.ID, u.ID)
		conf := storagetest.NewConfiguration(c.ID, time.Now())
		storagetest.MustCreateConfiguration(t, storage.NewConfigurationStore(db), conf)
		f := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: a.ID, CustomerID: c.ID, UserID: u.ID}
		tok := &resource.Token{Kind: resource.TokenRefresh, FamilyID: f.ID, Hash: resource.KeyedHash([]byte("key"), "raw"),
			ClientID: a.ID, CustomerID: c.ID, UserID: u.ID, IssuedAt: time.Now()}
		if err := storage.NewSQLTokenStore(db).CreateFamily(t.Context(), f, tok); err != nil {
			t.Fatal(err)
		}
		d := storagetest.MustCreateDevice(t, storage.NewDeviceStore(db), storagetest.NewDevice(c.ID, time.Now()))
		ev := storagetest.MustCreateEvents(t, storage.NewEventStore(db), storagetest.NewEvent(c.ID, d.ID, resource.EventShock, time.Now()))[0]
		for _, tc := range []struct {
			name, query, arg, want string
		}{
			{"GrantTypes", `SELECT grant_types FROM applications WHERE id = ?`, a.ID,
				`["authorization_code","refresh_token","client_credentials"]`},
			{"AuthMethod", `SELECT token_endpoint_auth_method FROM applications WHERE id = ?`, a.ID, "client_secret_basic"},
			{"PKCELevel", `SELECT pkce_enforcement FROM applications WHERE id = ?`, a.ID, "s256_required"},
			{"ConfigurationState", `SELECT state FROM configurations WHERE id = ?`, conf.ID, "draft"},
			{"TokenKind", `SELECT kind FROM tokens WHERE hash = ?`, tok.Hash, "refresh"},
			{"EventType", `SELECT type FROM events WHERE id = ?`, ev.ID, "shock"},
		} {
			t.Run("OK"+tc.name, func(t *testing.T) {
				var got string
				if err := db.GetContext(t.Context(), &got, db.Rebind(tc.query), tc.arg); err != nil {
					t.Fatal(err)
				}
				if tc.name == "GrantTypes" { // a JSON array: jsonb spaces it out
					var list []string
					if err := json.Unmarshal([]byte(got), &list); err != nil {
						t.Fatalf("%s holds %q: %v", tc.name, got, err)
					}
					raw, _ := json.Marshal(list)
					got = string(raw)
				}
				if got != tc.want {
					t.Fatalf("%s holds %q, want %q", tc.name, got, tc.want)
				}
			})
		}
	})
}
