package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/wire"
)

// cli runs one command with its configuration and standard streams.
type cli struct {
	cfg config
	// mqttNote is what serve --demo says about its MQTT listener.
	mqttNote string
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
}

// flags returns a flag set for a command with the shared flags on it.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("assetgate "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	c.cfg.register(fs)
	return fs
}

// parse parses args and validates the configuration. Usage mistakes and bad
// configuration are *configError (exit status 2).
func (c *cli) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &configError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return &configError{msg: fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return c.cfg.validate()
}

// required returns a usage error when any named flag value is empty.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if f := fs.Lookup(n); f == nil || f.Value.String() == "" || f.Value.String() == "[]" {
			return &configError{msg: fmt.Sprintf("%s: --%s is required", fs.Name(), n)}
		}
	}
	return nil
}

// openQuiet opens the database for a one-shot command; logs go to stderr at
// warn level so they do not clutter the command's output.
func (c *cli) openQuiet(ctx context.Context) (*wire.App, error) {
	return open(ctx, c.cfg, newLogger(c.stderr, slog.LevelWarn.String()), false)
}

// print writes v as one JSON object with --json, and text otherwise.
func (c *cli) print(v any, text string) error {
	if c.cfg.JSON {
		return json.NewEncoder(c.stdout).Encode(v)
	}
	_, err := fmt.Fprintln(c.stdout, text)
	return err
}

// readSecret reads one line from stdin (the trailing newline is dropped).
func (c *cli) readSecret(what string) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(c.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s from stdin: %w", what, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", &configError{msg: fmt.Sprintf("no %s on stdin", what)}
	}
	return line, nil
}

func (c *cli) migrate(ctx context.Context, args []string) error {
	fs := c.flags("migrate")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, err := c.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	// Opening applied what was pending; a second pass finds what another
	// replica may have added meanwhile (nothing, usually).
	more, err := a.DB.Migrate(ctx)
	if err != nil {
		return err
	}
	applied := append(append([]string{}, a.Migrated...), more...)
	if len(applied) == 0 {
		return c.print(map[string]any{"status": "up to date", "applied_now": 0, "applied": applied, "database": a.DB.Dialect},
			"migrations up to date ("+a.DB.Dialect+")")
	}
	return c.print(map[string]any{"status": "migrated", "applied_now": len(applied), "applied": applied, "database": a.DB.Dialect},
		fmt.Sprintf("applied %d migrations (%s): %s", len(applied), a.DB.Dialect, strings.Join(applied, ", ")))
}

// tokensImportRedis copies the long-lived tokens that versions before the
// tiered token store kept only in Redis into the database (see
// storage.TieredTokenStore.ImportRedisTokens).
func (c *cli) tokensImportRedis(ctx context.Context, args []string) error {
	fs := c.flags("tokens import-redis")
	fs.StringVar(&c.cfg.RedisURL, "redis-url", c.cfg.RedisURL, "Redis `URL` to copy the tokens from (ASSETGATE_REDIS_URL)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if c.cfg.RedisURL == "" {
		return &configError{msg: "tokens import-redis: --redis-url (ASSETGATE_REDIS_URL) is required"}
	}
	a, err := open(ctx, c.cfg, newLogger(c.stderr, slog.LevelWarn.String()), true)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.Stores.TieredTokens.ImportRedisTokens(ctx)
	if err != nil {
		return err
	}
	return c.print(res, fmt.Sprintf("imported %d token families, %d tokens, %d rotation records into the %s database",
		res.Families, res.Tokens, res.Rotations, a.DB.Dialect))
}

func (c *cli) customerCreate(ctx context.Context, args []string) error {
	fs := c.flags("customer create")
	name := fs.String("name", "", "customer `name`")
	retention := fs.Int("event-retention-days", resource.DefaultEventRetentionDays, "how many `days` the customer's events are kept")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "name"); err != nil {
		return err
	}
	if *retention < 1 || *retention > resource.MaxEventRetentionDays {
		return &configError{msg: fmt.Sprintf("customer create: --event-retention-days must be 1 to %d", resource.MaxEventRetentionDays)}
	}
	a, err := c.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	cu, err := a.Customers.Create(ctx, *name)
	if err != nil {
		return err
	}
	if *retention != cu.EventRetentionDays {
		if cu, err = a.Customers.SetEventRetention(ctx, cu.ID, *retention); err != nil {
			return err
		}
	}
	return c.print(customerJSON(cu),
		fmt.Sprintf("customer %s created: %s (events kept %d days)", cu.Name, cu.ID, cu.EventRetentionDays))
}

// customerJSON is how the CLI shows a customer.
func customerJSON(cu *resource.Customer) map[string]any {
	return map[string]any{"id": cu.ID, "name": cu.Name, "created_at": cu.CreatedAt, "updated_at": cu.UpdatedAt,
		"event_retention_days": cu.EventRetentionDays}
}

// customerUpdate changes a customer's settings: customer update ID
// --event-retention-days N.
func (c *cli) customerUpdate(ctx context.Context, args []string) error {
	fs := c.flags("customer update")
	retention := fs.Int("event-retention-days", 0, "how many `days` the customer's events are kept (older ones are hidden at once and swept)")
	id := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if id == "" {
		return &configError{msg: "customer update: the customer ID is required (customer update ID --event-retention-days N)"}
	}
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "event-retention-days" })
	if !set {
		return &configError{msg: "customer update: --event-retention-days is required"}
	}
	a, err := c.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	cu, err := a.Customers.SetEventRetention(ctx, id, *retention)
	if err != nil {
		return err
	}
	return c.print(customerJSON(cu),
		fmt.Sprintf("customer %s updated: events kept %d days", cu.ID, cu.EventRetentionDays))
}

func (c *cli) userCreate(ctx context.Context, args []string) error {
	fs := c.flags("user create")
	customer := fs.String("customer", "", "customer `ID`")
	email := fs.String("email", "", "e-mail `address`")
	fromStdin := fs.Bool("password-stdin", false, "read the password from stdin (the only way to give it)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "customer", "email"); err != nil {
		return err
	}
	if !*fromStdin {
		return &configError{msg: "user create: --password-stdin is required (a password is never taken as a flag)"}
	}
	password, err := c.readSecret("password")
	if err != nil {
		return err
	}
	a, err := c.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Users.Create(ctx, *customer, *email, password)
	if err != nil {
		return err
	}
	return c.print(map[string]any{"id": u.ID, "customer_id": u.CustomerID, "email": u.Email, "created_at": u.CreatedAt},
		fmt.Sprintf("user %s created: %s", u.Email, u.ID))
}

func (c *cli) userSetExternalToken(ctx context.Context, args []string) error {
	fs := c.flags("user set-external-token")
	user := fs.String("user", "", "user `ID`")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "user"); err != nil {
		return err
	}
	token, err := c.readSecret("external authentication token")
	if err != nil {
		return err
	}
	a, err := c.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Users.SetExternalToken(ctx, *user, token); err != nil {
		return err
	}
	return c.print(map[string]any{"user_id": *user, "external_token_set": true},
		"external authentication token set for user "+*user)
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint([]string(*l)) }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func (c *cli) appCreate(ctx context.Context, args []string) error {
	fs := c.flags("app create")
	var in resource.ApplicationInput
	owner := fs.String("owner", "", "owner user `ID`")
	fs.StringVar(&in.Name, "name", "", "application `name`")
	var grants, uris, scopes listFlag
	fs.Var(&grants, "grant", "grant `type` (repeatable): "+strings.Join(resource.Names(resource.GrantTypes()), ", ")+
		"; "+strings.Join(resource.Names(resource.OperatorGrants()), " and ")+" can be enabled only here, not through the APIs")
	fs.Var(&uris, "redirect-uri", "redirect `URI` (repeatable), matched exactly")
	fs.Var(&scopes, "scope", "allowed `scope` (repeatable): "+strings.Join(resource.Scopes(), ", "))
	var logoutURIs listFlag
	fs.Var(&logoutURIs, "post-logout-redirect-uri", "`URI` (repeatable) RP-initiated logout may redirect to, matched exactly")
	fs.BoolVar(&in.LogoutRevokesTokens, "logout-revokes-tokens", false, "RP-initiated logout revokes the application's refresh tokens of the ended session")
	fs.BoolVar(&in.JWTAccessTokens, "jwt-access-tokens", false, "issue access tokens as signed JWTs (RFC 9068) that resource servers can check offline")
	authMethod := fs.String("auth-method", string(resource.AuthClientSecretBasic), "token endpoint auth `method`")
	pkce := fs.String("pkce", string(resource.PKCES256Required), "PKCE `enforcement`: optional, required, s256_required (a public client, --auth-method none, must use PKCE: not optional)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "owner", "name", "grant"); err != nil {
		return err
	}
	in.GrantTypes, in.RedirectURIs, in.Scopes = resource.ValuesOf[resource.GrantType](grants), uris, scopes
	in.PostLogoutRedirectURIs = logoutURIs
	in.TokenEndpointAuthMethod, in.PKCEEnforcement = resource.AuthMethod(*authMethod), resource.PKCELevel(*pkce)
	a, err := c.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	ap, secret, err := a.Applications.Create(ctx, *owner, in)
	if err != nil {
		return err
	}
	out := applicationJSON(ap)
	text := fmt.Sprintf("application %s created\nclient_id:     %s", ap.Name, ap.ID)
	if secret != "" {
		out["client_secret"] = secret
		text += "\nclient_secret: " + secret + "\n(the secret is shown only now; store it safely)"
	}
	return c.print(out, text)
}

// applicationJSON is the CLI's JSON form of an application (never its
// secret hash). redirect_uris_trusted is true for applications made here: the
// operator vouches for their redirect URIs, so the authorization endpoint
// redirects its early errors to them (applications users register through
// the APIs get those errors on assetgate's page).
func applicationJSON(ap *resource.Application) map[string]any {
	return map[string]any{
		"client_id": ap.ID, "name": ap.Name, "customer_id": ap.CustomerID, "owner_id": ap.OwnerID,
		"grant_types": ap.GrantTypes, "redirect_uris": ap.RedirectURIs, "scopes": ap.Scopes,
		"token_endpoint_auth_method": ap.TokenEndpointAuthMethod, "pkce_enforcement": ap.PKCEEnforcement,
		"redirect_uris_trusted":     ap.RedirectURIsTrusted,
		"post_logout_redirect_uris": ap.PostLogoutRedirectURIs, "logout_revokes_tokens": ap.LogoutRevokesTokens,
		"jwt_access_tokens": ap.JWTAccessTokens,
	}
}

// healthcheck asks a running server's /healthz and succeeds when it
// answers 200 within the timeout; anything else is an error (exit status
// 1). It is the container image's HEALTHCHECK: the distroless image has no
// shell and no curl. Without --url it asks the port ASSETGATE_ADDR listens
// on, on the loopback interface. It opens no database.
func (c *cli) healthcheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("assetgate healthcheck", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	target := fs.String("url", healthzURL(c.cfg.Addr), "the `URL` to ask")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	fs.BoolVar(&c.cfg.JSON, "json", false, "print machine-readable JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &configError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return &configError{msg: fmt.Sprintf("healthcheck: unexpected argument %q", fs.Arg(0))}
	}
	if u, err := url.Parse(*target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &configError{msg: fmt.Sprintf("healthcheck: --url must be an http(s) URL, got %q", *target)}
	}
	if *timeout <= 0 {
		return &configError{msg: "healthcheck: --timeout must be positive"}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return &configError{msg: fmt.Sprintf("healthcheck: %v", err)}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %s: %w", *target, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", *target, res.StatusCode)
	}
	return c.print(map[string]any{"status": "ok", "url": *target}, "ok: "+*target)
}

// healthzURL is the /healthz URL of a server listening on addr, on the
// loopback interface when addr names every interface.
func healthzURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		port = "8080"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}

// keysRotate adds a signing key (see oauth.Server.RotateSigningKey).
func (c *cli) keysRotate(ctx context.Context, args []string) error {
	fs := c.flags("keys rotate")
	alg := fs.String("alg", "", "`algorithm` of the new key: RS256 or ES256 (default ASSETGATE_SIGNING_ALG)")
	delay := fs.Duration("sign-after", -1, "how long until the new key signs (default ASSETGATE_KEY_ROTATION_DELAY); relying parties fetch it meanwhile")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *delay < -1 || *delay > 7*24*time.Hour {
		return &configError{msg: "keys rotate: --sign-after must be between 0s and 168h"}
	}
	if *alg != "" && !slices.Contains(oauth.SigningAlgs(), *alg) {
		return &configError{msg: "keys rotate: --alg must be RS256 or ES256"}
	}
	a, err := c.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	ki, err := a.OAuth.RotateSigningKey(ctx, *alg, *delay)
	if err != nil {
		return err
	}
	return c.print(ki, fmt.Sprintf("signing key %s (%s) added: published now, signing from %s",
		ki.ID, ki.Alg, ki.SignsFrom.Format(time.RFC3339)))
}

// keysList prints the signing keys.
func (c *cli) keysList(ctx context.Context, args []string) error {
	fs := c.flags("keys list")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, err := c.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	keys, err := a.OAuth.SigningKeys(ctx)
	if err != nil {
		return err
	}
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s  %s  %-8s  signs from %s", k.ID, k.Alg, k.State, k.SignsFrom.Format(time.RFC3339))
		if k.PublishedUntil != nil {
			fmt.Fprintf(&b, ", published until %s", k.PublishedUntil.Format(time.RFC3339))
		}
	}
	return c.print(map[string]any{"keys": keys}, b.String())
}
