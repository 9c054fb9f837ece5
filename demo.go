package main

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strings"

	"github.com/assetgate/assetgate/console"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/wire"
)

// Demo tenant names: serve --demo finds them again on later starts.
const (
	demoCustomer   = "Demo Customer"
	demoEmail      = "demo@example.com"
	demoBackendApp = "Demo backend (client credentials)"
	demoMobileApp  = "Demo mobile app (authorization code + PKCE)"
	// demoDeviceIMEI finds the demo device again; demoDeviceToken names
	// its MQTT token, replaced on every start.
	demoDeviceName  = "Demo tracker (MQTT)"
	demoDeviceIMEI  = "490154203237518"
	demoDeviceToken = "demo mqtt"
)

// demoResult is what serve --demo prints.
type demoResult struct {
	CustomerID   string `json:"customer_id"`
	UserID       string `json:"user_id"`
	Email        string `json:"email"`
	Password     string `json:"password"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	PublicClient string `json:"public_client_id"`
	RedirectURI  string `json:"redirect_uri"`
	// ConsoleClient and ConsoleURL: the customer console's application
	// and the address to open it at.
	ConsoleClient string   `json:"console_client_id"`
	ConsoleURL    string   `json:"console_url"`
	Curl          []string `json:"curl"`
	// DeviceID, DeviceToken and MQTT: the demo device, a new device token
	// of it and a mosquitto_pub line, when the MQTT listener is on.
	DeviceID    string   `json:"device_id,omitempty"`
	DeviceToken string   `json:"device_token,omitempty"`
	MQTT        []string `json:"mqtt,omitempty"`
	MQTTNote    string   `json:"mqtt_note,omitempty"`
}

// seedDemo creates the demo tenant when it is missing and, because secrets are
// stored only as hashes, gives the demo user a new password and the backend
// application a new secret on every start, so they can be printed.
func (c *cli) seedDemo(ctx context.Context, a *wire.App, base string) error {
	cu, err := a.Customers.Store.FindCustomerByName(ctx, demoCustomer)
	if resource.ErrorCode(err) == resource.ENotFound {
		cu, err = a.Customers.Create(ctx, demoCustomer)
	}
	if err != nil {
		return fmt.Errorf("demo customer: %w", err)
	}
	password := resource.NewSecret("")[:20]
	u, err := a.Users.Store.FindUserByEmail(ctx, demoEmail)
	switch resource.ErrorCode(err) {
	case resource.ENotFound:
		u, err = a.Users.Create(ctx, cu.ID, demoEmail, password)
	case "":
		err = a.Users.SetPassword(ctx, u.ID, password)
	}
	if err != nil {
		return fmt.Errorf("demo user: %w", err)
	}
	redirect := base + "/demo/callback"
	apps, _, err := a.Applications.Store.ListApplications(ctx, cu.ID, 0, 100)
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
		res.ClientSecret, err = a.Applications.RotateSecret(ctx, ap)
	} else {
		ap, res.ClientSecret, err = a.Applications.Create(ctx, u.ID, resource.ApplicationInput{
			Name: demoBackendApp, GrantTypes: []resource.GrantType{resource.GrantClientCredentials},
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
		ap, _, err := a.Applications.Create(ctx, u.ID, resource.ApplicationInput{
			Name:                    demoMobileApp,
			GrantTypes:              []resource.GrantType{resource.GrantAuthorizationCode, resource.GrantRefreshToken, resource.GrantDeviceCode},
			RedirectURIs:            []string{redirect},
			TokenEndpointAuthMethod: resource.AuthNone,
		})
		if err != nil {
			return fmt.Errorf("demo mobile application: %w", err)
		}
		res.PublicClient = ap.ID
	}
	con, _, err := ensureConsoleApplication(ctx, a, cu.ID, u.ID, base)
	if err != nil {
		return fmt.Errorf("demo console application: %w", err)
	}
	res.ConsoleClient, res.ConsoleURL = con.ID, base+console.Path+"/"
	res.Curl = []string{
		fmt.Sprintf("curl -s -u '%s:%s' -d grant_type=client_credentials -d 'scope=app basic' %s/oauth/token", res.ClientID, res.ClientSecret, base),
		fmt.Sprintf("curl -s -d client_id=%s %s/oauth/device_authorization", res.PublicClient, base),
		fmt.Sprintf("curl -s %s/.well-known/oauth-authorization-server", base),
	}
	if a.MQTT != nil {
		if err := seedDemoDevice(ctx, a, u, &res); err != nil {
			return fmt.Errorf("demo device: %w", err)
		}
	}
	res.MQTTNote = c.mqttNote
	if c.cfg.JSON {
		return c.print(res, "")
	}
	fmt.Fprintf(c.stdout, `Demo tenant ready (new password and client secret on every --demo start):
  customer       %s
  user           %s  password %s
  backend app    client_id %s
                 client_secret %s
  mobile app     client_id %s (public, PKCE), redirect_uri %s
  console        %s (sign in as the user above)

Try:
  %s
`, res.CustomerID, res.Email, res.Password, res.ClientID, res.ClientSecret, res.PublicClient, res.RedirectURI, res.ConsoleURL,
		strings.Join(res.Curl, "\n  "))
	if len(res.MQTT) > 0 {
		fmt.Fprintf(c.stdout, "\nDemo device %s over MQTT (%s):\n  %s\n", res.DeviceID, a.MQTT.Addr(), strings.Join(res.MQTT, "\n  "))
	}
	if res.MQTTNote != "" {
		fmt.Fprintln(c.stdout, res.MQTTNote)
	}
	return nil
}

// seedDemoDevice finds or makes the demo device and gives it a new MQTT
// device token (revoking the one of the last start).
func seedDemoDevice(ctx context.Context, a *wire.App, u *resource.User, res *demoResult) error {
	me := scopes.NewContext(ctx, &scopes.Principal{Kind: scopes.KindUser, CustomerID: u.CustomerID, UserID: u.ID,
		Scopes: []string{scopes.Me}})
	imei := demoDeviceIMEI
	l, err := a.Devices.List(me, resource.ListQuery[resource.DeviceListFilter]{Filter: resource.DeviceListFilter{IMEI: &imei}})
	if err != nil {
		return err
	}
	var d *resource.Device
	if len(l.Devices) > 0 {
		d = l.Devices[0]
	} else if d, err = a.Devices.Create(me, resource.DeviceInput{Name: demoDeviceName, IMEI: imei}); err != nil {
		return err
	}
	toks, err := a.DeviceTokens.List(me, d.ID)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.Name == demoDeviceToken {
			if err := a.DeviceTokens.Revoke(me, d.ID, t.ID); err != nil {
				return err
			}
		}
	}
	_, secret, err := a.DeviceTokens.Create(me, d.ID, resource.DeviceTokenInput{Name: demoDeviceToken})
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(a.MQTT.Addr())
	res.DeviceID, res.DeviceToken = d.ID, secret
	res.MQTT = []string{fmt.Sprintf(`mosquitto_pub -V mqttv5 -h %s -p %s -i %s -u %s -P '%s' -q 1 -t devices/%s/events -m '{"event_type":"temperature","payload":{"celsius":21.5}}'`,
		host, port, d.ID, d.ID, secret, d.ID)}
	return nil
}

// demoCallbackPage shows what the authorization endpoint sent back to the
// demo mobile application's redirect URI, and how to exchange the code.
var demoCallbackPage = template.Must(template.New("callback").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>assetgate demo callback</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:760px;margin:40px auto;padding:0 16px}pre{background:#f4f5f7;padding:12px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}</style></head>
<body><h1>Demo callback</h1>
{{if .Error}}<p>The authorization server answered <b>{{.Error}}</b>{{if .Description}}: {{.Description}}{{end}}.</p>
{{else}}<p>Authorization code (valid for 60 s, once){{if .State}}, state <code>{{.State}}</code>{{end}}:</p>
<pre>{{.Code}}</pre>
<p>Exchange it with the verifier whose challenge you sent:</p>
<pre>curl -s -d grant_type=authorization_code -d code={{.Code}} -d client_id=CLIENT_ID -d code_verifier=VERIFIER --data-urlencode redirect_uri={{.RedirectURI}} {{.Issuer}}/oauth/token</pre>
{{end}}</body></html>`))

// handleDemoCallback serves the demo mobile application's redirect URI
// (serve --demo only), so a browser run of the authorization code flow ends
// on a page instead of a 404.
func handleDemoCallback(issuer string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		_ = demoCallbackPage.Execute(w, map[string]string{
			"Code": q.Get("code"), "State": q.Get("state"), "Error": q.Get("error"),
			"Description": q.Get("error_description"), "Issuer": issuer, "RedirectURI": issuer + "/demo/callback",
		})
	}
}
