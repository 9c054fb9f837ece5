package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/storage"
)

// cliEnvs are the databases the CLI tests run on.
func cliEnvs() map[string]func(t *testing.T) testsupport.Env {
	return map[string]func(t *testing.T) testsupport.Env{storage.SQLite: testsupport.SQLiteEnv, storage.Postgres: testsupport.PostgresEnv}
}

func TestCLI(t *testing.T) {
	for name, mkenv := range cliEnvs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			t.Run("Migrate", func(t *testing.T) {
				// A fresh database: every migration is applied now.
				out := mustCLI(t, env, "", "migrate")
				if out["status"] != "migrated" || out["applied_now"].(float64) < 1 {
					t.Fatalf("migrate = %v", out)
				}
			})
			cust := mustCLI(t, env, "", "customer", "create", "--name", "Acme")
			if cust["name"] != "Acme" || cust["id"] == "" {
				t.Fatalf("customer create = %v", cust)
			}
			custID := cust["id"].(string)
			user := mustCLI(t, env, "correct horse battery\n", "user", "create", "--customer", custID, "--email", "Ops@Example.com", "--password-stdin")
			if user["email"] != "ops@example.com" || user["customer_id"] != custID {
				t.Fatalf("user create = %v", user)
			}
			userID := user["id"].(string)

			t.Run("ErrUnknownCustomer", func(t *testing.T) {
				r := runCLI(t, env, "correct horse battery\n", "user", "create", "--customer", "0190f5a0-0000-7000-8000-000000000000", "--email", "x@example.com", "--password-stdin", "--json")
				if r.code != 1 || !strings.Contains(r.stderr, "not found") {
					t.Fatalf("code %d, stderr %q", r.code, r.stderr)
				}
				if e := r.jsonOf(t)["error"].(map[string]any); e["code"] != "NotFound" {
					t.Fatalf("json error = %v", e)
				}
			})
			t.Run("ErrDuplicateEmail", func(t *testing.T) {
				r := runCLI(t, env, "another password 1\n", "user", "create", "--customer", custID, "--email", "ops@example.com", "--password-stdin", "--json")
				if r.code != 1 || !strings.Contains(r.stderr, "already") {
					t.Fatalf("code %d, stderr %q", r.code, r.stderr)
				}
				if e := r.jsonOf(t)["error"].(map[string]any); e["code"] != "Conflict" {
					t.Fatalf("json error = %v", e)
				}
				// Nothing written: the first user's password still works.
				a := openGraph(t, env)
				if _, err := a.Users.Authenticate(t.Context(), "ops@example.com", "correct horse battery"); err != nil {
					t.Fatalf("original user changed: %v", err)
				}
				if _, err := a.Users.Authenticate(t.Context(), "ops@example.com", "another password 1"); err == nil {
					t.Fatal("duplicate create overwrote the password")
				}
			})
			t.Run("ErrWeakPassword", func(t *testing.T) {
				r := runCLI(t, env, "short\n", "user", "create", "--customer", custID, "--email", "weak@example.com", "--password-stdin")
				if r.code != 1 || !strings.Contains(r.stderr, "password") {
					t.Fatalf("code %d, stderr %q", r.code, r.stderr)
				}
			})
			t.Run("ErrPasswordFlagMissing", func(t *testing.T) {
				r := runCLI(t, env, "", "user", "create", "--customer", custID, "--email", "p@example.com")
				if r.code != 2 || !strings.Contains(r.stderr, "--password-stdin") {
					t.Fatalf("code %d, stderr %q", r.code, r.stderr)
				}
			})
			t.Run("SetExternalToken", func(t *testing.T) {
				out := mustCLI(t, env, "ext-token-0123456789abcdef\n", "user", "set-external-token", "--user", userID)
				if out["external_token_set"] != true {
					t.Fatalf("set-external-token = %v", out)
				}
				a := openGraph(t, env)
				u, err := a.Users.AuthenticateExternal(t.Context(), "ext-token-0123456789abcdef")
				if err != nil || u.ID != userID {
					t.Fatalf("AuthenticateExternal = %v, %v", u, err)
				}
				if u.ExternalTokenHash == "" || strings.Contains(u.ExternalTokenHash, "ext-token") {
					t.Fatalf("external token not stored hashed: %q", u.ExternalTokenHash)
				}
			})
			t.Run("AppCreate", func(t *testing.T) {
				out := mustCLI(t, env, "", "app", "create", "--owner", userID, "--name", "Backend", "--grant", "client_credentials", "--scope", "app", "--scope", "basic")
				secret, _ := out["client_secret"].(string)
				if !strings.HasPrefix(secret, "agcs_") || len(secret) < 5+43 {
					t.Fatalf("client_secret = %q", secret)
				}
				a := openGraph(t, env)
				ap, err := a.Applications.Find(t.Context(), out["client_id"].(string))
				if err != nil {
					t.Fatal(err)
				}
				if ap.SecretHash == secret || strings.Contains(ap.SecretHash, secret) {
					t.Fatal("client secret stored in plain text")
				}
				if _, err := a.Applications.Authenticate(t.Context(), ap.ID, secret); err != nil {
					t.Fatalf("secret does not authenticate: %v", err)
				}
			})
			t.Run("AppCreatePublic", func(t *testing.T) {
				out := mustCLI(t, env, "", "app", "create", "--owner", userID, "--name", "Mobile", "--grant", "authorization_code", "--grant", "refresh_token",
					"--redirect-uri", "com.example.app:/callback", "--auth-method", "none", "--pkce", "required")
				if _, has := out["client_secret"]; has {
					t.Fatalf("public client got a secret: %v", out)
				}
				// The operator vouches for the redirect URIs.
				ap, err := openGraph(t, env).Applications.Find(t.Context(), out["client_id"].(string))
				if err != nil || !ap.RedirectURIsTrusted || out["redirect_uris_trusted"] != true {
					t.Fatalf("app create: trusted %v in the output, stored %+v, %v", out["redirect_uris_trusted"], ap, err)
				}
			})
			t.Run("ErrAppInvalid", func(t *testing.T) {
				r := runCLI(t, env, "", "app", "create", "--owner", userID, "--name", "Bad", "--grant", "client_credentials", "--auth-method", "none", "--json")
				if r.code != 1 || !strings.Contains(r.stderr, "public client") {
					t.Fatalf("code %d, stderr %q", r.code, r.stderr)
				}
				if e := r.jsonOf(t)["error"].(map[string]any); e["code"] != "Invalid" {
					t.Fatalf("json error = %v", e)
				}
			})
			t.Run("AppCreateOperatorGrants", func(t *testing.T) {
				// The operator may enable implicit and
				// password, but never password for a public client.
				mustCLI(t, env, "", "app", "create", "--owner", userID, "--name", "Legacy", "--grant", "password", "--grant", "implicit",
					"--redirect-uri", "https://legacy.example.com/cb")
				r := runCLI(t, env, "", "app", "create", "--owner", userID, "--name", "Public", "--grant", "password", "--auth-method", "none", "--json")
				if r.code != 1 || !strings.Contains(r.stderr, "public client") {
					t.Fatalf("code %d, stderr %q", r.code, r.stderr)
				}
			})
			t.Run("ErrAppUnknownOwner", func(t *testing.T) {
				r := runCLI(t, env, "", "app", "create", "--owner", "nope", "--name", "X", "--grant", "client_credentials")
				if r.code != 1 || !strings.Contains(r.stderr, "not found") {
					t.Fatalf("code %d, stderr %q", r.code, r.stderr)
				}
			})
		})
	}
}

func TestServeDemo(t *testing.T) {
	env := testsupport.SQLiteEnv(t)
	first := demoOutput(t, env)
	a := openGraph(t, env)
	if _, err := a.Applications.Authenticate(t.Context(), first.ClientID, first.ClientSecret); err != nil {
		t.Fatalf("printed client secret does not authenticate: %v", err)
	}
	if _, err := a.Users.Authenticate(t.Context(), first.Email, first.Password); err != nil {
		t.Fatalf("printed password does not authenticate: %v", err)
	}
	if len(first.Curl) != 3 || !strings.Contains(first.Curl[0], first.ClientSecret) {
		t.Fatalf("curl commands = %q", first.Curl)
	}

	// A second start finds the same tenant and prints fresh credentials.
	second := demoOutput(t, env)
	if second.CustomerID != first.CustomerID || second.ClientID != first.ClientID || second.PublicClient != first.PublicClient ||
		first.ConsoleClient == "" || second.ConsoleClient != first.ConsoleClient {
		t.Fatalf("second --demo made a new tenant: %+v vs %+v", second, first)
	}
	// A fresh process: a's application cache may still hold the first
	// secret, as another replica's would without Redis invalidation.
	a = openGraph(t, env)
	if _, err := a.Applications.Authenticate(t.Context(), first.ClientID, first.ClientSecret); err == nil {
		t.Fatal("old client secret still works after the second --demo")
	}
	_, total, err := a.Applications.Store.ListApplications(t.Context(), first.CustomerID, 0, 10)
	if err != nil || total != 3 {
		t.Fatalf("demo applications = %d, %v; want 3 (backend, mobile, console)", total, err)
	}
	if con, err := a.Applications.Find(t.Context(), first.ConsoleClient); err != nil || !con.Public() || !con.RedirectURIsTrusted ||
		len(con.RedirectURIs) != 1 || con.RedirectURIs[0] != "http://localhost:8080/console/callback" || first.ConsoleURL != "http://localhost:8080/console/" {
		t.Fatalf("demo console application %+v, %v (console_url %q)", con, err, first.ConsoleURL)
	}
	// Seeded like the CLI's: the operator vouches for the redirect URI.
	if mobile, err := a.Applications.Find(t.Context(), first.PublicClient); err != nil || !mobile.RedirectURIsTrusted {
		t.Fatalf("demo mobile application %+v, %v: want its redirect URIs trusted", mobile, err)
	}
}

// TestServeDemoOnAllInterfaces is `make run`: serve --demo listening on
// every interface. The demo's redirect URI and curl lines use the issuer,
// not the listen address (http://[::]:8080 is no valid redirect URI).
func TestServeDemoOnAllInterfaces(t *testing.T) {
	env := testsupport.SQLiteEnv(t).With("ASSETGATE_ADDR", ":0")
	demo := demoOutput(t, env)
	if demo.RedirectURI != "http://localhost:8080/demo/callback" || !strings.Contains(demo.Curl[0], "http://localhost:8080/oauth/token") {
		t.Fatalf("demo = %+v", demo)
	}
}

func TestDemoCallbackPage(t *testing.T) {
	ts := startServer(t, testsupport.SQLiteEnv(t), "--demo", "--json")
	resp, err := http.Get(ts.URL + "/demo/callback?code=agac_abc&state=xyz%3Cb%3E")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "agac_abc") ||
		!strings.Contains(string(body), "xyz&lt;b&gt;") || strings.Contains(string(body), "xyz<b>") {
		t.Fatalf("callback page %d: %s", resp.StatusCode, body)
	}
	// Without --demo the route does not exist.
	plain := startServer(t, testsupport.SQLiteEnv(t))
	resp, err = http.Get(plain.URL + "/demo/callback?code=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("without --demo: %d, want 404", resp.StatusCode)
	}
}

// demoResult is what serve --demo --json prints on its first line, as a
// client of the command reads it.
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
	// The customer console's application and address.
	ConsoleClient string `json:"console_client_id"`
	ConsoleURL    string `json:"console_url"`
}

// demoOutput starts serve --demo --json, reads what it printed and stops it.
func demoOutput(t *testing.T, env testsupport.Env) demoResult {
	t.Helper()
	ts := startServer(t, env, "--demo", "--json")
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(ts.stdout.String(), "\n")
	var res demoResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("demo output %q: %v", line, err)
	}
	return res
}
