// Command assetgate is an OAuth 2.0 authorization server and the resource API
// of an IoT asset platform. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/tracing"
	"github.com/assetgate/assetgate/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args, getenv, os.Stdin, os.Stdout, os.Stderr)
	os.Exit(exitCode(err))
}

// getenv is os.Getenv, except that ASSETGATE_METRICS_ADDR set to the
// empty string reads as "off": empty turns the metrics listener off,
// while unset keeps its default (every other variable treats empty as
// unset).
func getenv(name string) string { return getenvOf(os.LookupEnv, name) }

// getenvOf is getenv on lookup.
func getenvOf(lookup func(string) (string, bool), name string) string {
	v, ok := lookup(name)
	if name == metricsAddrEnv && ok && v == "" {
		return metricsOff
	}
	return v
}

// exitCode is 0 for success, 2 for configuration and usage mistakes and 1 for
// everything else.
func exitCode(err error) int {
	var ce *configError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce), errors.Is(err, flag.ErrHelp):
		return 2
	default:
		return 1
	}
}

const usage = `assetgate: OAuth 2.0 authorization server and IoT asset API

Usage:
  assetgate serve [--demo]          run the server; --demo seeds a demo tenant and prints its credentials
  assetgate migrate                 apply migrations and exit
  assetgate tokens import-redis     copy device and refresh tokens that an earlier version kept only in
                                    Redis into the database (once after upgrading, with no server running)
  assetgate customer create --name NAME [--event-retention-days N]
  assetgate customer update ID --event-retention-days N
                                    how many days the customer's events are kept (default 90)
  assetgate user create --customer ID --email EMAIL --password-stdin
  assetgate user set-external-token --user ID      (the token is read from stdin)
  assetgate app create --owner USER_ID --name NAME --grant GRANT [--grant ...]
                       [--redirect-uri URI ...] [--scope SCOPE ...]
                       [--auth-method client_secret_basic|client_secret_post|none]
                       [--pkce optional|required|s256_required]
                       [--post-logout-redirect-uri URI ...] [--logout-revokes-tokens] [--jwt-access-tokens]
  assetgate app create-console --customer ID [--origin URL] [--owner USER_ID]
                                    the customer console's OAuth application (public, PKCE); prints
                                    the address that opens the console with it
  assetgate device import --customer ID [--dry-run] FILE
                                    create or update (by IMEI) the customer's devices from a CSV or
                                    NDJSON file (.csv, or .ndjson/.jsonl; FILE - reads CSV from stdin)
  assetgate keys rotate [--alg RS256|ES256] [--sign-after DURATION]
                                    add a signing key: published now, signing after the delay
                                    (ASSETGATE_KEY_ROTATION_DELAY, 1h); the old one stays published
                                    until its last token has expired
  assetgate keys list               the signing keys and their state
  assetgate healthcheck [--url URL] exit 0 when the server's /healthz answers 200 (the container's HEALTHCHECK)

Every command accepts --json. Run "assetgate COMMAND -h" for its flags.
`

// run is the whole program: it parses args, runs one command and returns its
// error. A returned error has already been printed to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdin, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	fmt.Fprintf(stderr, "assetgate: %s\n", errorLine(err))
	if slices.Contains(args, "--json") || slices.Contains(args, "-json") {
		code := resource.ErrorCode(err)
		var ce *configError
		if errors.As(err, &ce) {
			code = "Usage"
		}
		_ = json.NewEncoder(stdout).Encode(map[string]any{"error": map[string]string{"code": code, "message": errorLine(err)}})
	}
	return err
}

// errorLine is the one line shown for err: a client-safe message for
// resource errors, and the error text otherwise.
func errorLine(err error) string {
	var re *resource.Error
	if errors.As(err, &re) {
		if re.Field != "" {
			return fmt.Sprintf("%s: %s", re.Field, re.Message)
		}
		return re.Message
	}
	return err.Error()
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return &configError{msg: "no command given"}
	}
	cmd := args[1]
	rest := args[2:]
	if cmd == "customer" || cmd == "user" || cmd == "app" || cmd == "tokens" || cmd == "keys" || cmd == "device" {
		if len(rest) == 0 {
			fmt.Fprint(stderr, usage)
			return &configError{msg: cmd + ": no subcommand given"}
		}
		cmd += " " + rest[0]
		rest = rest[1:]
	}
	c := &cli{cfg: defaultConfig(getenv), stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd {
	case "serve":
		return c.serve(ctx, rest)
	case "migrate":
		return c.migrate(ctx, rest)
	case "tokens import-redis":
		return c.tokensImportRedis(ctx, rest)
	case "customer create":
		return c.customerCreate(ctx, rest)
	case "customer update":
		return c.customerUpdate(ctx, rest)
	case "user create":
		return c.userCreate(ctx, rest)
	case "user set-external-token":
		return c.userSetExternalToken(ctx, rest)
	case "app create":
		return c.appCreate(ctx, rest)
	case "app create-console":
		return c.appCreateConsole(ctx, rest)
	case "device import":
		return c.deviceImport(ctx, rest)
	case "keys rotate":
		return c.keysRotate(ctx, rest)
	case "keys list":
		return c.keysList(ctx, rest)
	case "healthcheck":
		return c.healthcheck(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return &configError{msg: fmt.Sprintf("unknown command %q", cmd)}
	}
}

// open builds the service graph of cfg (see package wire), migrating the
// database. withRedis false leaves Redis out, for the one-shot commands.
func open(ctx context.Context, cfg config, log *slog.Logger, withRedis bool) (*wire.App, error) {
	return openWith(ctx, cfg, log, func(wc *wire.Config) {
		if !withRedis {
			wc.RedisURL = ""
		}
	})
}

// openWith is open with changes to the graph's configuration.
func openWith(ctx context.Context, cfg config, log *slog.Logger, change func(*wire.Config)) (*wire.App, error) {
	key, err := cfg.secretKey()
	if err != nil {
		return nil, err
	}
	wc := cfg.wireConfig(key, log)
	change(&wc)
	return wire.New(ctx, wc)
}

// wireConfig is the configuration of the service graph: the settings of
// cfg with the server key and the logger.
func (c config) wireConfig(key []byte, log *slog.Logger) wire.Config {
	w := wire.DefaultConfig()
	w.DatabaseURL, w.RedisURL, w.Issuer, w.Key, w.Logger = c.DatabaseURL, c.RedisURL, c.Issuer, key, log
	w.OAuth.RefreshGrace = c.RefreshGrace
	w.OAuth.IDTokenTTL, w.OAuth.SigningAlg, w.OAuth.RotationDelay = c.IDTokenTTL, c.SigningAlg, c.KeyRotationDelay
	w.GraphQL = graphConfig(c)
	w.PasswordHashConcurrency, w.PasswordHashWait = c.PasswordHashConcurrency, c.PasswordHashWait
	w.MaxStreamsPerPrincipal = c.MaxStreamsPerPrincipal
	w.DatabaseTimeout, w.RedisTimeout = c.DatabaseTimeout, c.RedisTimeout
	w.RetentionInterval = c.RetentionInterval
	w.TrustedProxies = c.trustedProxies
	w.Login = resource.LoginLimits{Window: c.LoginWindow, MaxPerAddr: c.LoginMaxPerAddr, MaxPerAccount: c.LoginMaxPerAccount,
		AccountWindow: c.LoginAccountWindow, FreePerPair: c.LoginFreePerPair, MaxDelay: c.LoginMaxDelay,
		PairMemory: c.LoginPairMemory, KnownFor: c.LoginKnownFor}
	w.RateLimits, w.ClientRateLimits = c.rateLimits, c.clientRateLimits
	w.Tracing = c.tracing
	return w
}

// graphConfig is GraphQL's configuration: the package's limits, with
// introspection and the trusted documents mode from assetgate's settings.
func graphConfig(c config) graph.Config {
	g := graph.DefaultConfig()
	g.IntrospectionEnabled = c.GraphQLIntrospection == "true"
	g.MaxSocketsPerPrincipal = c.MaxSocketsPerPrincipal
	if len(c.trustedDocuments) > 0 {
		g.TrustedDocuments = graph.TrustedDocumentsOf(c.trustedDocuments...)
	}
	return g
}

// demoAddr is where serve --demo listens when no address is given.
const demoAddr = "127.0.0.1:8080"

// serve runs the HTTP server until ctx is done, then shuts down gracefully:
// in-flight requests finish (up to 20 s) before the stores close.
func (c *cli) serve(ctx context.Context, args []string) error {
	fs := c.flags("serve")
	c.cfg.registerServe(fs)
	demo := fs.Bool("demo", false, "seed a demo tenant (idempotent) and print its credentials")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	log := newLogger(c.stderr, c.cfg.LogLevel)
	// go-redis prints what it notices by itself (a failed dial, a dropped
	// connection) through one logger of its package, plain text on
	// os.Stderr unless replaced. Replaced here, before Redis is opened, so
	// those lines are JSON records of this service's log. It is a setting
	// of the whole process: the last serve started sets it.
	redis.SetLogger(storage.RedisLogger{Log: log})
	addrGiven := c.cfg.AddrGiven
	fs.Visit(func(f *flag.Flag) { addrGiven = addrGiven || f.Name == "addr" })
	loopbackOnly := false
	if *demo && !addrGiven {
		// The demo prints live credentials: unless told otherwise, only
		// this machine may reach it.
		c.cfg.Addr, loopbackOnly = demoAddr, true
	}
	tr, err := tracing.New(ctx, c.cfg.Tracing)
	if err != nil {
		return err
	}
	defer func() {
		// The last spans are exported before the process ends.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(sctx); err != nil {
			log.Warn("exporting the last spans", "err", err)
		}
	}()
	c.cfg.tracing = tr
	mqttNote := ""
	if *demo && c.cfg.MQTTAddr == "" {
		c.cfg.MQTTAddr, mqttNote = demoMQTTAddr()
	}
	// Only serve listens for MQTT: the graph of the other commands has no
	// listener.
	a, err := openWith(ctx, c.cfg, log, func(wc *wire.Config) { wc.MQTT = c.cfg.mqttConfig() })
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", c.cfg.Addr)
	if err != nil {
		return err
	}
	if err := a.ListenMQTT(); err != nil {
		_ = ln.Close()
		return err
	}
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	a.Start(bg)
	srv := &http.Server{
		Handler:           newHandler(a, *demo),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(a.EndStreams) // live event streams would hold Shutdown up
	if a.MQTT != nil {
		// MQTT sessions end with the HTTP server: MQTT 5 devices get
		// DISCONNECT "server shutting down" and reconnect elsewhere.
		srv.RegisterOnShutdown(a.MQTT.Close)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if c.cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(c.cfg.DebugAddr, log)
		if err != nil {
			_ = srv.Close()
			return err
		}
		defer stopDebug()
	}
	stopMetrics, err := c.serveMetrics(a, log)
	if err != nil {
		_ = srv.Close()
		return err
	}
	defer stopMetrics()
	base := "http://" + ln.Addr().String()
	log.Info("listening", "addr", ln.Addr().String(), "issuer", c.cfg.Issuer, "database", a.DB.Dialect, "redis", a.Redis != nil,
		"password_hash_concurrency", a.Users.Hasher.Concurrency())
	if *demo {
		c.mqttNote = mqttNote
		if err := c.seedDemo(ctx, a, c.cfg.Issuer); err != nil {
			_ = srv.Close()
			return err
		}
	}
	note := ""
	if loopbackOnly {
		note = "the demo listens on 127.0.0.1 only; --addr or ASSETGATE_ADDR (e.g. :8080) opens it to other hosts"
	}
	if c.cfg.JSON {
		line := map[string]string{"status": "listening", "url": base}
		if note != "" {
			line["note"] = note
		}
		_ = json.NewEncoder(c.stdout).Encode(line)
	} else {
		// The note first: whoever waits for the listening line has
		// everything then.
		if note != "" {
			fmt.Fprintln(c.stdout, note)
		}
		fmt.Fprintf(c.stdout, "assetgate listening on %s\n", base)
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	stopBackground()
	log.Info("stopped")
	return nil
}

// demoMQTTAddr is where serve --demo listens for MQTT: 127.0.0.1:1883 when
// that port is free; otherwise none, and a note saying so.
func demoMQTTAddr() (addr, note string) {
	const a = "127.0.0.1:1883"
	ln, err := net.Listen("tcp", a)
	if err != nil {
		return "", "MQTT is off: " + a + " is taken (ASSETGATE_MQTT_ADDR or --mqtt-addr picks another address)"
	}
	_ = ln.Close()
	return a, ""
}

// newLogger returns a JSON slog logger writing to w at the given level.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	// Records logged with a traced request's context carry its trace id.
	return slog.New(tracing.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})))
}
