package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/assetgate/assetgate/console"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/wire"
)

// consoleApplicationInput is the console's OAuth application on origin: a
// public client (authorization code with PKCE S256, refresh tokens, which
// rotate), redirected to origin/console/callback, signed out to
// origin/console/, asking for the user's API and an ID token.
func consoleApplicationInput(origin string) resource.ApplicationInput {
	origin = strings.TrimSuffix(origin, "/")
	return resource.ApplicationInput{
		Name:                    console.ApplicationName,
		GrantTypes:              []resource.GrantType{resource.GrantAuthorizationCode, resource.GrantRefreshToken},
		RedirectURIs:            []string{console.RedirectURI(origin)},
		PostLogoutRedirectURIs:  []string{origin + console.Path + "/"},
		TokenEndpointAuthMethod: resource.AuthNone,
		PKCEEnforcement:         resource.PKCES256Required,
		Scopes:                  strings.Fields(console.Scope),
	}
}

// findConsoleApplication returns the customer's console application for
// origin (by name and redirect URI), or nil.
func findConsoleApplication(ctx context.Context, a *wire.App, customerID, origin string) (*resource.Application, error) {
	apps, _, err := a.Applications.Store.ListApplications(ctx, customerID, 0, 1000)
	if err != nil {
		return nil, err
	}
	redirect := console.RedirectURI(origin)
	for _, ap := range apps {
		if ap.Name == console.ApplicationName && slices.Contains(ap.RedirectURIs, redirect) {
			return ap, nil
		}
	}
	return nil, nil
}

// ensureConsoleApplication finds or creates the customer's console
// application for origin, owned by ownerID when it is new; created tells
// which.
func ensureConsoleApplication(ctx context.Context, a *wire.App, customerID, ownerID, origin string) (ap *resource.Application, created bool, err error) {
	if ap, err = findConsoleApplication(ctx, a, customerID, origin); err != nil || ap != nil {
		return ap, false, err
	}
	ap, _, err = a.Applications.Create(ctx, ownerID, consoleApplicationInput(origin))
	return ap, err == nil, err
}

// consoleURL is the address that opens the console with its client id.
func consoleURL(origin, clientID string) string {
	return strings.TrimSuffix(origin, "/") + console.Path + "/?client_id=" + url.QueryEscape(clientID)
}

// appCreateConsole is `assetgate app create-console`: the console's OAuth
// application for a customer (again the same one when it exists).
func (c *cli) appCreateConsole(ctx context.Context, args []string) error {
	fs := c.flags("app create-console")
	customer := fs.String("customer", "", "customer `ID`")
	owner := fs.String("owner", "", "owner user `ID` (default: the customer's first user)")
	origin := fs.String("origin", "", "the `URL` users open the console on, scheme://host[:port] (default ASSETGATE_ISSUER)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "customer"); err != nil {
		return err
	}
	if *origin == "" {
		*origin = c.cfg.Issuer
	}
	if u, err := url.Parse(*origin); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return &configError{msg: fmt.Sprintf("app create-console: --origin must be scheme://host[:port], got %q", *origin)}
	}
	*origin = strings.TrimSuffix(*origin, "/")
	a, err := c.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.Customers.Store.FindCustomer(ctx, *customer); err != nil {
		return err
	}
	if *owner == "" {
		u, err := a.Stores.Users.OldestUserOfCustomer(ctx, *customer)
		if err != nil {
			return err
		}
		*owner = u.ID
	} else if u, err := a.Users.Store.FindUser(ctx, *owner); err != nil {
		return err
	} else if u.CustomerID != *customer {
		return resource.Errorf(resource.ENotFound, "user %q not found in customer %q", *owner, *customer)
	}
	ap, created, err := ensureConsoleApplication(ctx, a, *customer, *owner, *origin)
	if err != nil {
		return err
	}
	if ap == nil {
		return errors.New("app create-console: no application")
	}
	out := applicationJSON(ap)
	out["console_url"], out["created"] = consoleURL(*origin, ap.ID), created
	verb := "created"
	if !created {
		verb = "exists already"
	}
	return c.print(out, fmt.Sprintf("console application %s\nclient_id: %s\nopen:      %s", verb, ap.ID, consoleURL(*origin, ap.ID)))
}
