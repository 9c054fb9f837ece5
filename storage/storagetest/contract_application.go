package storagetest

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// newApplication returns a confidential application of the given owner,
// created at the given time, with every field set.
func newApplication(customerID, ownerID string, created time.Time) *resource.Application {
	id := resource.NewID()
	return &resource.Application{
		ID: id, CustomerID: customerID, OwnerID: ownerID, Name: "App " + id,
		SecretHash:                  "secret-hash-" + id,
		GrantTypes:                  []resource.GrantType{resource.GrantAuthorizationCode, resource.GrantRefreshToken, resource.GrantClientCredentials},
		RedirectURIs:                []string{"https://app.example.com/callback", "com.example.app:/cb"},
		PostLogoutRedirectURIs:      []string{"https://app.example.com/bye"},
		TokenEndpointAuthMethod:     resource.AuthClientSecretBasic,
		PKCEEnforcement:             resource.PKCES256Required,
		Scopes:                      []string{resource.ScopeMe, resource.ScopeApp, resource.ScopeBasic},
		AccessTokenTTL:              3600,
		RefreshTokenDuration:        86400,
		RefreshTokenRollingDuration: 7 * 86400,
		DeviceTimeout:               600,
		DevicePollingInterval:       5,
		Enabled:                     true,
		RedirectURIsTrusted:         true,
		CreatedAt:                   created,
		UpdatedAt:                   created,
	}
}

// MustCreateApplication creates a confidential application of the given
// customer and owner in s, with every setting filled in.
func MustCreateApplication(tb testing.TB, s resource.ApplicationStore, customerID, ownerID string) *resource.Application {
	tb.Helper()
	a := newApplication(customerID, ownerID, time.Now().UTC().Truncate(time.Microsecond))
	if err := s.CreateApplication(tb.Context(), a); err != nil {
		tb.Fatalf("create application: %v", err)
	}
	return a
}

// clone returns a deep copy of a, so that a test can change one without
// touching what it compares against.
func clone(a *resource.Application) *resource.Application {
	c := *a
	if c.GrantTypes != nil {
		c.GrantTypes = append([]resource.GrantType{}, c.GrantTypes...)
	}
	for _, p := range []*[]string{&c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.Scopes} {
		if *p != nil {
			*p = append([]string{}, *p...)
		}
	}
	return &c
}

// TestApplicationStore runs the contract of resource.ApplicationStore against
// apps; users and customers must share its database.
func TestApplicationStore(t *testing.T, apps resource.ApplicationStore, users resource.UserStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	owner := MustCreateUser(t, users, cust.ID)
	find := func(t *testing.T, id string) *resource.Application {
		t.Helper()
		got, err := apps.FindApplication(t.Context(), id)
		requireCode(t, err, "")
		return got
	}
	t.Run("Create", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			a := newApplication(cust.ID, owner.ID, testTime(0))
			a.UpdatedAt = testTime(time.Second)
			want := clone(a)
			requireCode(t, apps.CreateApplication(t.Context(), a), "")
			requireEqual(t, find(t, a.ID), want)
		})
		t.Run("PublicDisabled", func(t *testing.T) {
			a := newApplication(cust.ID, owner.ID, testTime(0))
			a.SecretHash, a.TokenEndpointAuthMethod, a.PKCEEnforcement = "", resource.AuthNone, resource.PKCERequired
			a.GrantTypes, a.Scopes = []resource.GrantType{resource.GrantDeviceCode}, []string{resource.ScopeMe}
			a.Enabled = false
			want := clone(a)
			requireCode(t, apps.CreateApplication(t.Context(), a), "")
			requireEqual(t, find(t, a.ID), want)
		})
		t.Run("EmptyLists", func(t *testing.T) {
			a := newApplication(cust.ID, owner.ID, testTime(0))
			a.GrantTypes, a.RedirectURIs, a.PostLogoutRedirectURIs, a.Scopes = []resource.GrantType{}, []string{}, nil, []string{}
			requireCode(t, apps.CreateApplication(t.Context(), a), "")
			got := find(t, a.ID)
			if got.GrantTypes == nil || len(got.GrantTypes) != 0 {
				t.Errorf("GrantTypes = %#v, want an empty, non-nil slice", got.GrantTypes)
			}
			for name, list := range map[string][]string{
				"RedirectURIs":           got.RedirectURIs,
				"PostLogoutRedirectURIs": got.PostLogoutRedirectURIs, "Scopes": got.Scopes,
			} {
				if list == nil || len(list) != 0 {
					t.Errorf("%s = %#v, want an empty, non-nil slice", name, list)
				}
			}
		})
		t.Run("TimesInUTC", func(t *testing.T) {
			a := newApplication(cust.ID, owner.ID, testTime(0).In(otherZone()))
			a.UpdatedAt = testTime(time.Hour).In(otherZone())
			requireCode(t, apps.CreateApplication(t.Context(), a), "")
			got := find(t, a.ID)
			requireEqual(t, []time.Time{got.CreatedAt, got.UpdatedAt}, []time.Time{testTime(0), testTime(time.Hour)})
		})
		t.Run("ErrConflict", func(t *testing.T) {
			a := MustCreateApplication(t, apps, cust.ID, owner.ID)
			dup := newApplication(cust.ID, owner.ID, testTime(0))
			dup.ID = a.ID
			requireCode(t, apps.CreateApplication(t.Context(), dup), resource.EConflict)
			requireEqual(t, find(t, a.ID), a)
		})
		t.Run("ErrNotFoundOwner", func(t *testing.T) {
			a := newApplication(cust.ID, resource.NewID(), testTime(0))
			requireCode(t, apps.CreateApplication(t.Context(), a), resource.ENotFound)
		})
	})
	t.Run("Find", func(t *testing.T) {
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := apps.FindApplication(t.Context(), resource.NewID())
			requireCode(t, err, resource.ENotFound)
		})
	})
	t.Run("List", func(t *testing.T) {
		mine := MustCreateCustomer(t, customers)
		mineOwner := MustCreateUser(t, users, mine.ID)
		other := MustCreateCustomer(t, customers)
		otherOwner := MustCreateUser(t, users, other.ID)
		var want []*resource.Application
		// Creation times whose text forms have fractions of different
		// lengths, or none: order must be by time, whatever the encoding.
		for _, d := range []time.Duration{0, 464103 * time.Microsecond, 1064103 * time.Microsecond, 2 * time.Second, time.Minute} {
			want = append(want, newApplication(mine.ID, mineOwner.ID, testTime(d)))
		}
		// Insert out of order, interleaved with another customer's.
		for _, i := range rand.Perm(len(want)) {
			requireCode(t, apps.CreateApplication(t.Context(), want[i]), "")
			MustCreateApplication(t, apps, other.ID, otherOwner.ID)
		}
		for _, tc := range []struct {
			name          string
			offset, limit int
			want          []*resource.Application
		}{
			{"FirstPage", 0, 2, want[0:2]},
			{"MiddlePage", 2, 2, want[2:4]},
			{"LastPage", 4, 2, want[4:5]},
			{"All", 0, 100, want},
			{"PastTheEnd", 5, 2, []*resource.Application{}},
			{"ZeroLimit", 0, 0, []*resource.Application{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := apps.ListApplications(t.Context(), mine.ID, tc.offset, tc.limit)
				requireCode(t, err, "")
				requireEqual(t, total, 5)
				requireEqual(t, got, tc.want)
			})
		}
		t.Run("OtherCustomer", func(t *testing.T) {
			got, total, err := apps.ListApplications(t.Context(), other.ID, 0, 100)
			requireCode(t, err, "")
			requireEqual(t, total, 5)
			requireEqual(t, len(got), 5)
			for _, a := range got {
				requireEqual(t, a.CustomerID, other.ID)
			}
		})
		t.Run("UnknownCustomer", func(t *testing.T) {
			got, total, err := apps.ListApplications(t.Context(), resource.NewID(), 0, 10)
			requireCode(t, err, "")
			requireEqual(t, total, 0)
			requireEqual(t, len(got), 0)
		})
	})
	t.Run("Update", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			a := MustCreateApplication(t, apps, cust.ID, owner.ID)
			u := &resource.Application{
				ID: a.ID, CustomerID: a.CustomerID, OwnerID: a.OwnerID,
				Name: "Renamed", SecretHash: "rotated-hash",
				GrantTypes:                  []resource.GrantType{resource.GrantDeviceCode},
				RedirectURIs:                []string{},
				PostLogoutRedirectURIs:      []string{"https://other.example.com/bye", "https://other.example.com/bye2"},
				TokenEndpointAuthMethod:     resource.AuthClientSecretPost,
				PKCEEnforcement:             resource.PKCEOptional,
				Scopes:                      []string{resource.ScopeMe},
				AccessTokenTTL:              60,
				RefreshTokenDuration:        120,
				RefreshTokenRollingDuration: 240,
				DeviceTimeout:               900,
				DevicePollingInterval:       10,
				Enabled:                     false,
				CreatedAt:                   a.CreatedAt,
				UpdatedAt:                   a.UpdatedAt.Add(time.Hour).In(otherZone()),
			}
			want := clone(u)
			want.UpdatedAt = a.UpdatedAt.Add(time.Hour)
			requireCode(t, apps.UpdateApplication(t.Context(), u), "")
			requireEqual(t, find(t, a.ID), want)
		})
		t.Run("Immutable", func(t *testing.T) {
			a := MustCreateApplication(t, apps, cust.ID, owner.ID)
			otherCust := MustCreateCustomer(t, customers)
			u := clone(a)
			u.CustomerID, u.OwnerID = otherCust.ID, MustCreateUser(t, users, otherCust.ID).ID
			u.CreatedAt = a.CreatedAt.Add(-time.Hour)
			requireCode(t, apps.UpdateApplication(t.Context(), u), "")
			requireEqual(t, find(t, a.ID), a)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			a := newApplication(cust.ID, owner.ID, testTime(0))
			requireCode(t, apps.UpdateApplication(t.Context(), a), resource.ENotFound)
		})
	})
	t.Run("Delete", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			a := MustCreateApplication(t, apps, cust.ID, owner.ID)
			kept := MustCreateApplication(t, apps, cust.ID, owner.ID)
			requireCode(t, apps.DeleteApplication(t.Context(), a.ID), "")
			_, err := apps.FindApplication(t.Context(), a.ID)
			requireCode(t, err, resource.ENotFound)
			requireEqual(t, find(t, kept.ID), kept)
			requireCode(t, apps.DeleteApplication(t.Context(), a.ID), resource.ENotFound)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			requireCode(t, apps.DeleteApplication(t.Context(), resource.NewID()), resource.ENotFound)
		})
	})
}
