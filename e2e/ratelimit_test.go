package e2e

import (
	"fmt"
	"github.com/assetgate/assetgate/internal/testsupport"
	"math/rand/v2"
	"strconv"

	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// e2eTenant is a customer, its user and two confidential applications
// made with the CLI: one with the client credentials grant, one with the
// password grant.
type e2eTenant struct {
	customerID, userID, email, password string
	ccID, ccSecret, pwID, pwSecret      string
}

func mustE2ETenant(t *testing.T, env testsupport.Env, name string) e2eTenant {
	t.Helper()
	tn := e2eTenant{email: name + "@example.com", password: "correct horse battery staple 9"}
	tn.customerID = mustCLI(t, env, "", "customer", "create", "--name", name, "--json")["id"].(string)
	tn.userID = mustCLI(t, env, tn.password+"\n", "user", "create", "--customer", tn.customerID, "--email", tn.email,
		"--password-stdin", "--json")["id"].(string)
	cc := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", name+"-cc", "--grant", "client_credentials", "--json")
	tn.ccID, tn.ccSecret = cc["client_id"].(string), cc["client_secret"].(string)
	pw := mustCLI(t, env, "", "app", "create", "--owner", tn.userID, "--name", name+"-pw", "--grant", "password",
		"--grant", "refresh_token", "--json")
	tn.pwID, tn.pwSecret = pw["client_id"].(string), pw["client_secret"].(string)
	return tn
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// send sends req from the client address from (through the trusted
// proxy's X-Forwarded-For; "" sends none) and reads the answer.
func send(t *testing.T, req *http.Request, from string) answer {
	t.Helper()
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func formRequest(u, basic string, form url.Values) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id, secret, ok := strings.Cut(basic, ":"); ok {
		req.SetBasicAuth(id, secret)
	}
	return req
}

func bearerRequest(method, u, token, contentType, body string) *http.Request {
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// checkRefused checks a 429 carries Retry-After and the RateLimit fields
// of the named policy, with nothing left.
func checkRefused(t *testing.T, a answer, policy string, quota string) {
	t.Helper()
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", a.status, a.raw)
	}
	if a.header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %v", a.header)
	}
	if p := a.header.Get("RateLimit-Policy"); !strings.Contains(p, `"`+policy+`";`+quota) {
		t.Fatalf("RateLimit-Policy %q, want %q;%s", p, policy, quota)
	}
	if s := a.header.Get("RateLimit"); !strings.Contains(s, `"`+policy+`";r=0;t=`) {
		t.Fatalf("RateLimit %q, want %q with r=0", s, policy)
	}
}

// TestRateLimits drives every kind of rate limit through a real server:
// per client and per address on the OAuth endpoints (RFC 6749 JSON
// errors), per token on JSON:API (a JSON:API error object) and GraphQL
// (extensions.code RATE_LIMITED), each 429 with Retry-After and the
// RateLimit / RateLimit-Policy fields; an application's own quotas; on
// SQLite (in memory) and on PostgreSQL + Redis.
func TestRateLimits(t *testing.T) {
	for name, mkEnv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mkEnv(t)
			tn := mustE2ETenant(t, env, "limits")
			big := mustE2ETenant(t, env, "bigapp")
			ts := startServer(t, env.With(
				"ASSETGATE_TRUSTED_PROXIES", "127.0.0.1/32",
				"ASSETGATE_RATE_LIMITS", "token.client=3/1m,introspect.addr=2/1m,jsonapi.token=3/1m,graphql.token=3/1m",
				"ASSETGATE_RATE_LIMIT_CLIENTS", big.ccID+" token.client=6/1m"))
			basic := tn.ccID + ":" + tn.ccSecret
			cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"app basic"}}
			// An address's counts outlive a server in a shared Redis: each
			// run takes addresses of its own, 10.A.B.x.
			run := fmt.Sprintf("10.%d.%d.", rand.IntN(256), rand.IntN(256))
			at := func(host int) string { return run + strconv.Itoa(host) }

			var tokens []string
			for i := range 3 {
				a := send(t, formRequest(ts.URL+"/oauth/token", basic, cc), at(1))
				if a.status != http.StatusOK {
					t.Fatalf("token %d: %d %s", i, a.status, a.raw)
				}
				if p := a.header.Get("RateLimit-Policy"); !strings.Contains(p, `"token.client";q=3;w=60`) || !strings.Contains(p, `"token.addr";q=1200;w=60`) {
					t.Fatalf("RateLimit-Policy %q", p)
				}
				tokens = append(tokens, a.body["access_token"].(string))
			}
			// Another address does not help: the quota is the client's.
			a := send(t, formRequest(ts.URL+"/oauth/token", basic, cc), at(2))
			checkRefused(t, a, "token.client", "q=3;w=60")
			if a.body["error"] != "temporarily_unavailable" || a.header.Get("Content-Type") != "application/json;charset=UTF-8" {
				t.Fatalf("OAuth refusal %s %v", a.raw, a.header)
			}
			// Naming the client with a wrong secret spends nothing of its
			// quota and is still invalid_client.
			if a := send(t, formRequest(ts.URL+"/oauth/token", tn.ccID+":wrong", cc), at(3)); a.status != http.StatusUnauthorized {
				t.Fatalf("wrong secret: %d %s", a.status, a.raw)
			}
			// The application with its own quota gets six.
			for i := range 7 {
				a := send(t, formRequest(ts.URL+"/oauth/token", big.ccID+":"+big.ccSecret, cc), at(4))
				if want := http.StatusOK; i < 6 && a.status != want {
					t.Fatalf("own quota, token %d: %d %s", i, a.status, a.raw)
				} else if i == 6 {
					checkRefused(t, a, "token.client", "q=6;w=60")
				}
			}

			// Per address: two introspections from one address, then 429;
			// another address still gets its own.
			intro := url.Values{"token": {tokens[0]}}
			for range 2 {
				if a := send(t, formRequest(ts.URL+"/oauth/introspect", basic, intro), at(9)); a.status != http.StatusOK || a.body["active"] != true {
					t.Fatalf("introspect: %d %s", a.status, a.raw)
				}
			}
			a = send(t, formRequest(ts.URL+"/oauth/introspect", basic, intro), at(9))
			checkRefused(t, a, "introspect.addr", "q=2;w=60")
			if a.body["error"] != "temporarily_unavailable" {
				t.Fatalf("introspect refusal %s", a.raw)
			}
			if a := send(t, formRequest(ts.URL+"/oauth/introspect", basic, intro), at(10)); a.status != http.StatusOK {
				t.Fatalf("introspect from another address: %d %s", a.status, a.raw)
			}

			// Per token on JSON:API: three, then a JSON:API error object.
			for range 3 {
				if a := send(t, bearerRequest(http.MethodGet, ts.URL+"/api/v1/devices", tokens[1], "", ""), ""); a.status != http.StatusOK ||
					!strings.Contains(a.header.Get("RateLimit"), `"jsonapi.token";r=`) {
					t.Fatalf("devices: %d %v %s", a.status, a.header, a.raw)
				}
			}
			a = send(t, bearerRequest(http.MethodGet, ts.URL+"/api/v1/devices", tokens[1], "", ""), "")
			checkRefused(t, a, "jsonapi.token", "q=3;w=60")
			errs, _ := a.body["errors"].([]any)
			if len(errs) != 1 || errs[0].(map[string]any)["code"] != "RateLimited" || errs[0].(map[string]any)["status"] != "429" ||
				a.header.Get("Content-Type") != "application/vnd.api+json" {
				t.Fatalf("JSON:API refusal %v %s", a.header, a.raw)
			}
			// Another token of the same client has its own quota.
			if a := send(t, bearerRequest(http.MethodGet, ts.URL+"/api/v1/devices", tokens[2], "", ""), ""); a.status != http.StatusOK {
				t.Fatalf("another token: %d %s", a.status, a.raw)
			}

			// Per token on GraphQL: three, then RATE_LIMITED.
			q := `{"query":"{ devices(first: 1) { totalCount } }"}`
			for range 3 {
				if a := send(t, bearerRequest(http.MethodPost, ts.URL+"/graphql", tokens[0], "application/json", q), ""); a.status != http.StatusOK {
					t.Fatalf("graphql: %d %s", a.status, a.raw)
				}
			}
			a = send(t, bearerRequest(http.MethodPost, ts.URL+"/graphql", tokens[0], "application/json", q), "")
			checkRefused(t, a, "graphql.token", "q=3;w=60")
			errs, _ = a.body["errors"].([]any)
			if len(errs) != 1 {
				t.Fatalf("GraphQL refusal %s", a.raw)
			}
			ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
			if ext["code"] != "RATE_LIMITED" || ext["retryAfter"] == nil {
				t.Fatalf("GraphQL refusal %s", a.raw)
			}
			if strings.Contains(ts.stderr.String(), tokens[0]) {
				t.Fatal("a token reached the log")
			}
		})
	}
}

// TestRateLimitsSharedAcrossReplicas checks that two servers on one Redis
// count one client's quota together.
func TestRateLimitsSharedAcrossReplicas(t *testing.T) {
	env := envs()["postgres+redis"](t).With("ASSETGATE_RATE_LIMITS", "token.client=4/1m")
	tn := mustE2ETenant(t, env, "replicas")
	a, b := startServer(t, env), startServer(t, env)
	basic := tn.ccID + ":" + tn.ccSecret
	cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"app"}}
	var statuses []int
	for i := range 6 {
		ts := a
		if i%2 == 1 {
			ts = b
		}
		statuses = append(statuses, send(t, formRequest(ts.URL+"/oauth/token", basic, cc), "").status)
	}
	want := []int{200, 200, 200, 200, 429, 429}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("two replicas answered %v, want %v", statuses, want)
		}
	}
}
