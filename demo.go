package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// Demo tenant names: serve --demo finds them again on later starts.
const (
	demoCustomer   = "Demo Customer"
	demoEmail      = "demo@example.com"
	demoBackendApp = "Demo backend (client credentials)"
	demoMobileApp  = "Demo mobile app (authorization code + PKCE)"
)

// demoResult is what serve --demo prints.
type demoResult struct {
	CustomerID   string   `json:"customer_id"`
	UserID       string   `json:"user_id"`
	Email        string   `json:"email"`
	Password     string   `json:"password"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	PublicClient string   `json:"public_client_id"`
	RedirectURI  string   `json:"redirect_uri"`
	Curl         []string `json:"curl"`
}

// seedDemo creates the demo tenant when it is missing and, because secrets are
// stored only as hashes, gives the demo user a new password and the backend
// application a new secret on every start, so they can be printed.
func (c *cli) seedDemo(ctx context.Context, a *app, base string) error {
	cu, err := a.customers.Store.FindCustomerByName(ctx, demoCustomer)
	if resource.ErrorCode(err) == resource.ENotFound {
		cu, err = a.customers.Create(ctx, demoCustomer)
	}
	if err != nil {
		return fmt.Errorf("demo customer: %w", err)
	}
	password := resource.NewSecret("")[:20]
	u, err := a.users.Store.FindUserByEmail(ctx, demoEmail)
	switch resource.ErrorCode(err) {
	case resource.ENotFound:
		u, err = a.users.Create(ctx, cu.ID, demoEmail, password)
	case "":
		err = a.users.SetPassword(ctx, u.ID, password)
	}
	if err != nil {
		return fmt.Errorf("demo user: %w", err)
	}
	redirect := base + "/demo/callback"
	apps, _, err := a.applications.Store.ListApplications(ctx, cu.ID, 0, 100)
	if err != nil {
		return err
	}
	byName := map[string]*resource.Application{}
	for _, ap := range apps {
		byName[ap.Name] = ap
	}
	res := demoResult{CustomerID: cu.ID, UserID: u.ID, Email: demoEmail, Password: password, RedirectURI: redirect}
	if ap := byName[demoBackendApp]; ap != nil {
		res.ClientID = ap.ID
		res.ClientSecret, err = a.applications.RotateSecret(ctx, ap)
	} else {
		ap, res.ClientSecret, err = a.applications.Create(ctx, u.ID, resource.ApplicationInput{
			Name: demoBackendApp, GrantTypes: []string{resource.GrantClientCredentials},
		})
		if ap != nil {
			res.ClientID = ap.ID
		}
	}
	if err != nil {
		return fmt.Errorf("demo backend application: %w", err)
	}
	if ap := byName[demoMobileApp]; ap != nil {
		res.PublicClient = ap.ID
	} else {
		ap, _, err := a.applications.Create(ctx, u.ID, resource.ApplicationInput{
			Name:                    demoMobileApp,
			GrantTypes:              []string{resource.GrantAuthorizationCode, resource.GrantRefreshToken, resource.GrantDeviceCode},
			RedirectURIs:            []string{redirect},
			TokenEndpointAuthMethod: resource.AuthNone,
		})
		if err != nil {
			return fmt.Errorf("demo mobile application: %w", err)
		}
		res.PublicClient = ap.ID
	}
	res.Curl = []string{
		fmt.Sprintf("curl -s -u '%s:%s' -d grant_type=client_credentials -d 'scope=app basic' %s/oauth/token", res.ClientID, res.ClientSecret, base),
		fmt.Sprintf("curl -s -d client_id=%s %s/oauth/device_authorization", res.PublicClient, base),
		fmt.Sprintf("curl -s %s/.well-known/oauth-authorization-server", base),
	}
	if c.cfg.JSON {
		return c.print(res, "")
	}
	fmt.Fprintf(c.stdout, `Demo tenant ready (new password and client secret on every --demo start):
  customer       %s
  user           %s  password %s
  backend app    client_id %s
                 client_secret %s
  mobile app     client_id %s (public, PKCE), redirect_uri %s

Try:
  %s
`, res.CustomerID, res.Email, res.Password, res.ClientID, res.ClientSecret, res.PublicClient, res.RedirectURI,
		strings.Join(res.Curl, "\n  "))
	return nil
}
