// Command run is `make bench`: it builds assetgate and the baseline server,
// seeds a tenant with the CLI, drives every row with one bounded load loop on
// 127.0.0.1, and prints one markdown table with each row's ratio to its
// baseline, measured in the same run.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

type options struct {
	duration, warmup time.Duration
	conc             int
	out              string
	smoke            bool
	pgURL, redisURL  string
	only             string
	rows             *regexp.Regexp
	cpuProfile       string
	paired           bool
	// abRev, when set, compares this build with the revision abRev (see
	// ab.go), abRounds times.
	abRev     string
	abRounds  int
	geogroups int
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per row")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up per row")
	flag.IntVar(&o.conc, "c", 64, "concurrent connections")
	flag.StringVar(&o.out, "out", "bench/results/latest.md", "where to write the table (empty: nowhere)")
	flag.BoolVar(&o.smoke, "smoke", false, "check the harness: fail when any row has errors")
	flag.StringVar(&o.pgURL, "postgres", envOr("ASSETGATE_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server for the postgres+redis configuration")
	flag.StringVar(&o.redisURL, "redis", envOr("ASSETGATE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"), "Redis for the baseline and the postgres+redis configuration")
	flag.StringVar(&o.only, "only", "", "run only this configuration: sqlite or postgres+redis")
	rows := flag.String("rows", "", "run only the assetgate rows whose name matches this `regexp` (and the baseline rows they are rated against)")
	flag.BoolVar(&o.paired, "paired", true, "measure each row's baseline row again just before the row and rate the row against that (on a shared, noisy machine the load drifts between the first baseline runs and the later rows)")
	flag.StringVar(&o.abRev, "ab", "", "compare this build (B) with the assetgate of git `revision` A on the selected rows, alternately against the same baseline row (see bench/run/ab.go)")
	flag.IntVar(&o.abRounds, "ab-rounds", 3, "rounds of -ab")
	flag.IntVar(&o.geogroups, "geogroups", 0, "how many geogroups the bench tenant has (the location rows cross the first one)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of assetgate during each measured row into this `directory`")
	flag.Parse()
	if *rows != "" {
		re, err := regexp.Compile(*rows)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -rows:", err)
			os.Exit(2)
		}
		o.rows = re
	}
	if err := bench(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// benchRateLimits raises every rate limit far above what the load sends
// from its one client, one address and one token: the limits are still
// counted on every request (their cost is in the figures), never refused.
const benchRateLimits = "ASSETGATE_RATE_LIMITS=" +
	"token.client=1000000000/1m,token.addr=1000000000/1m,introspect.client=1000000000/1m,introspect.addr=1000000000/1m," +
	"jsonapi.token=1000000000/1m,graphql.token=1000000000/1m"

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// benchEnv is one configuration of assetgate: env returns its settings
// (on a fresh database) and their clean-up.
type benchEnv struct {
	name string
	env  func() ([]string, func(), error)
}

// row is one line of the report.
type row struct {
	config, name, baseline string
	st                     stats
	missing                string // why the row could not run, if it could not
	peakRSS                int64
	// perRequest is how many events one request carries (batch rows): the
	// row then reports events/s and compares those with its baseline.
	perRequest int
	// ref is the baseline row measured just before this one (-paired).
	ref    stats
	paired bool
}

func bench(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "assetgate-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	agBin, baseBin := filepath.Join(tmp, "assetgate"), filepath.Join(tmp, "baseline")
	for bin, pkg := range map[string]string{agBin: ".", baseBin: "./bench/baseline"} {
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build %s: %w", pkg, err)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.conc * 2, MaxIdleConnsPerHost: o.conc * 2, IdleConnTimeout: time.Minute,
	}}
	logs, err := os.Create(filepath.Join(tmp, "server.log"))
	if err != nil {
		return err
	}
	defer logs.Close()

	var rows []row
	// The reference rows of PostgreSQL get a database of their own; without
	// a PostgreSQL server they are reported missing.
	baseArgs, refMissing := []string{"-redis", o.redisURL}, ""
	refURL, dropRef, err := freshDatabase(ctx, o.pgURL)
	if err != nil {
		refMissing, dropRef = "no PostgreSQL: "+err.Error(), func() {}
	} else {
		baseArgs = append(baseArgs, "-postgres", refURL)
	}
	defer dropRef()
	base, err := start(ctx, baseBin, baseArgs, nil, logs)
	if err != nil {
		return err
	}
	event := []byte(`{"event_type":"temperature","payload":{"celsius":21.5}}`)
	baselines := map[string]target{
		"/plain":     {get(base.URL+"/plain", ""), http.StatusOK},
		"/redis":     {get(base.URL+"/redis", ""), http.StatusOK},
		"/redis-set": {post(base.URL+"/redis-set", "", nil, ""), http.StatusOK},
		"/pg-row":    {get(base.URL+"/pg-row", ""), http.StatusOK},
		"/pg-list":   {get(base.URL+"/pg-list", ""), http.StatusOK},
		"/pg-insert": {post(base.URL+"/pg-insert", "", event, "application/json"), http.StatusCreated},
		"/code-exchange": {post(base.URL+"/code-exchange", "", form("grant_type", "authorization_code", "code", "agac_bench", "client_id", "bench",
			"redirect_uri", benchRedirectURI, "code_verifier", codeVerifier), formType), http.StatusOK},
	}
	for _, name := range []string{"/plain", "/redis", "/redis-set", "/code-exchange", "/pg-row", "/pg-list", "/pg-insert"} {
		if o.rows != nil && !o.rows.MatchString(name) && !slices.ContainsFunc(rowSpecs, func(s rowSpec) bool {
			return s.baseline == name && o.rows.MatchString(s.name)
		}) && (name != "/pg-insert" || !o.rows.MatchString(ingestRowsName)) {
			continue
		}
		r := row{config: "baseline", name: name}
		if strings.HasPrefix(name, "/pg-") {
			r.missing = refMissing
		}
		if r.missing == "" {
			fmt.Fprintf(os.Stderr, "bench: baseline %s\n", name)
			r.st = drive(ctx, client, baselines[name], o.conc, o.warmup, o.duration)
		}
		rows = append(rows, r)
	}
	defer base.stop()
	// ref measures a baseline row again (for -paired), "" when it cannot.
	ref := func(name string) (stats, bool) {
		t, ok := baselines[name]
		if !ok || !o.paired || strings.HasPrefix(name, "/pg-") && refMissing != "" {
			return stats{}, false
		}
		fmt.Fprintf(os.Stderr, "bench: baseline %s (paired)\n", name)
		return drive(ctx, client, t, o.conc, o.warmup, o.duration), true
	}

	configs := []benchEnv{
		{"sqlite", func() ([]string, func(), error) {
			dir := filepath.Join(tmp, "sqlite")
			return []string{"ASSETGATE_DATABASE_URL=sqlite:" + filepath.Join(dir, "ag.db"), "ASSETGATE_SECRET_KEY_FILE=" + filepath.Join(dir, "key")}, func() {}, nil
		}},
		{"postgres+redis", func() ([]string, func(), error) {
			dbURL, drop, err := freshDatabase(ctx, o.pgURL)
			if err != nil {
				return nil, nil, err
			}
			return []string{"ASSETGATE_DATABASE_URL=" + dbURL, "ASSETGATE_REDIS_URL=" + o.redisURL,
				"ASSETGATE_SECRET_KEY=bench-key-0123456789abcdef0123456789abcdef"}, drop, nil
		}},
	}
	if o.abRev != "" {
		if o.rows == nil {
			return errors.New("-ab needs -rows")
		}
		table, err := abBench(ctx, o, tmp, agBin, client, logs, ref, configs)
		if err != nil {
			return err
		}
		fmt.Print(table)
		if o.out != "" && o.out != "bench/results/latest.md" {
			return os.WriteFile(o.out, []byte(table), 0o644)
		}
		return nil
	}
	for _, cfg := range configs {
		if o.only != "" && o.only != cfg.name {
			continue
		}
		env, cleanup, err := cfg.env()
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.name, err)
		}
		env = append(env, "ASSETGATE_ADDR=127.0.0.1:0", "ASSETGATE_LOG_LEVEL=error", benchRateLimits)
		got, err := benchConfig(ctx, o, client, agBin, cfg.name, env, logs, ref)
		cleanup()
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.name, err)
		}
		rows = append(rows, got...)
	}
	table := render(rows, o)
	fmt.Print(table)
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(o.out, []byte(table), 0o644); err != nil {
			return err
		}
	}
	if o.smoke {
		for _, r := range rows {
			if r.missing == "" && (r.st.Errors > 0 || r.st.Requests == 0) {
				return fmt.Errorf("smoke: row %s %s: %d errors of %d requests (first: %s)", r.config, r.name, r.st.Errors, r.st.Requests, r.st.FirstError)
			}
		}
	}
	return nil
}

// freshDatabase creates an empty database on the PostgreSQL server and returns
// its URL and a function that drops it.
func freshDatabase(ctx context.Context, serverURL string) (string, func(), error) {
	db, err := sql.Open("pgx", serverURL)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("assetgate_bench_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, err
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		db.Close()
	}, nil
}

// get returns a request maker for GET url with an optional bearer token.
func get(u, bearer string) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil && bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return req, err
	}
}

// post returns a request maker for POST url with a body, basic auth
// ("id:secret", optional) and content type.
func post(u, basic string, body []byte, contentType string) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if id, secret, ok := strings.Cut(basic, ":"); ok {
			req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return req, nil
	}
}

// once sends one request and returns its status and body.
func once(ctx context.Context, client *http.Client, mk func(context.Context) (*http.Request, error)) (int, []byte, error) {
	req, err := mk(ctx)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// cliJSON runs an assetgate command with --json and decodes its output.
func cliJSON(ctx context.Context, bin string, env []string, stdin string, args ...string) (map[string]any, error) {
	cmd := exec.CommandContext(ctx, bin, append(args, "--json")...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %v: %s", args, err, stderr.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("%v: %v", args, err)
	}
	return m, nil
}
