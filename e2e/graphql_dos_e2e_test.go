package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
)

// Bounds of TestGraphQLDenialOfServiceBinary.
const (
	dosMaxPeakRSS = 200 << 20 // bytes: the server's VmHWM
	dosMaxBurst   = 10 * time.Second
	dosParallel   = 20
)

// TestGraphQLDenialOfServiceBinary sends the documents that held the server
// for minutes (a 1 KB fragment bomb that expands to 2^31 fields, by POST
// and GET, and selections of thousands of fields) to the real server
// binary, from 20 clients at once, with a basic-scope application token:
// every one is refused with its code, the whole burst ends in bounded
// time, the server's peak RSS stays bounded, and an ordinary query works
// after it.
func TestGraphQLDenialOfServiceBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the server binary with hostile GraphQL requests")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read the server's peak RSS")
	}
	env := testsupport.SQLiteEnv(t)
	cust := mustCLI(t, env, "", "customer", "create", "--name", "DoS")
	user := mustCLI(t, env, "a long enough password", "user", "create", "--customer", cust["id"].(string),
		"--email", "dos@example.com", "--password-stdin")
	app := mustCLI(t, env, "", "app", "create", "--owner", user["id"].(string), "--name", "DoS",
		"--grant", "client_credentials", "--scope", "basic")
	srv := startServer(t, env)

	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"basic"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(app["client_id"].(string), app["client_secret"].(string))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" {
		t.Fatalf("no token: %d", resp.StatusCode)
	}

	var bomb strings.Builder
	bomb.WriteString("query{...F0}")
	for i := range 30 {
		fmt.Fprintf(&bomb, " fragment F%d on Query{...F%d ...F%d}", i, i+1, i+1)
	}
	bomb.WriteString(" fragment F30 on Query{devices(first:1){totalCount}}")
	docs := []struct{ method, query, code string }{
		{http.MethodPost, bomb.String(), "FIELD_LIMIT_EXCEEDED"},
		{http.MethodGet, bomb.String(), "FIELD_LIMIT_EXCEEDED"},
		{http.MethodPost, "{ " + strings.Repeat("__typename ", 5000) + "}", "FIELD_LIMIT_EXCEEDED"},
		{http.MethodPost, "{ " + strings.Repeat("__typename ", 14000) + "}", "GRAPHQL_PARSE_FAILED"},
	}
	send := func(ctx context.Context, method, query string) (int, string, error) {
		var req *http.Request
		if method == http.MethodGet {
			req, _ = http.NewRequestWithContext(ctx, method, srv.URL+"/graphql?query="+url.QueryEscape(query), nil)
		} else {
			body, _ := json.Marshal(map[string]string{"query": query})
			req, _ = http.NewRequestWithContext(ctx, method, srv.URL+"/graphql", strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		var out struct {
			Errors []struct {
				Extensions struct {
					Code string `json:"code"`
				} `json:"extensions"`
			} `json:"errors"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		code := ""
		if len(out.Errors) > 0 {
			code = out.Errors[0].Extensions.Code
		}
		return resp.StatusCode, code, nil
	}

	ctx, cancel := context.WithTimeout(t.Context(), dosMaxBurst)
	defer cancel()
	began := time.Now()
	var wg sync.WaitGroup
	for i := range dosParallel {
		d := docs[i%len(docs)]
		wg.Go(func() {
			// Whitespace that defeats any cache of the document text.
			_, code, err := send(ctx, d.method, d.query+strings.Repeat(" ", i))
			if err != nil {
				t.Errorf("%s: %v", d.code, err)
			} else if code != d.code {
				t.Errorf("refused with %q, want %s", code, d.code)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	peak := peakRSS(t, srv.pid)
	t.Logf("%d hostile documents refused in %v; server peak RSS (VmHWM) %d MiB", dosParallel, elapsed.Round(time.Millisecond), peak>>20)
	if elapsed > dosMaxBurst {
		t.Errorf("refusing took %v, want under %v", elapsed, dosMaxBurst)
	}
	if peak >= dosMaxPeakRSS {
		t.Errorf("server peak RSS %d MiB, want under %d MiB", peak>>20, dosMaxPeakRSS>>20)
	}
	status, code, err := send(t.Context(), http.MethodPost, "{ devices(first: 1) { totalCount } }")
	if err != nil || status != http.StatusOK || code != "" {
		t.Fatalf("an ordinary query after the burst: %d %q %v", status, code, err)
	}
}
