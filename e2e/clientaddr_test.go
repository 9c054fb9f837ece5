package e2e

import (
	"github.com/assetgate/assetgate/internal/testsupport"

	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestClientAddressBehindTrustedProxy checks that the access log names the
// client a trusted proxy forwarded (the right-most untrusted entry of
// X-Forwarded-For, then of Forwarded), and the connection's peer when the
// peer is not trusted, whatever the request's headers claim.
func TestClientAddressBehindTrustedProxy(t *testing.T) {
	logged := func(t *testing.T, env testsupport.Env, header http.Header) string {
		t.Helper()
		ts := startServer(t, env.With("ASSETGATE_LOG_LEVEL", "info"))
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/healthz", nil)
		req.Header = header
		req.Header.Set("X-Request-Id", "addr-probe")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if err := ts.stop(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(ts.stderr.String()))
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "request" && rec["request_id"] == "addr-probe" {
				addr, _ := rec["client_address"].(string)
				return addr
			}
		}
		t.Fatalf("no access line in\n%s", ts.stderr.String())
		return ""
	}
	xff := http.Header{"X-Forwarded-For": {"203.0.113.5, 198.51.100.7"}}
	trusted := testsupport.SQLiteEnv(t).With("ASSETGATE_TRUSTED_PROXIES", "127.0.0.1/32")
	if got := logged(t, trusted, xff.Clone()); got != "198.51.100.7" {
		t.Errorf("trusted proxy, X-Forwarded-For: logged %q, want 198.51.100.7", got)
	}
	fwd := http.Header{"Forwarded": {`for="[2001:db8::9]:1234";proto=https`}}
	if got := logged(t, trusted, fwd); got != "2001:db8::9" {
		t.Errorf("trusted proxy, Forwarded: logged %q, want 2001:db8::9", got)
	}
	if got := logged(t, testsupport.SQLiteEnv(t), xff.Clone()); got != "127.0.0.1" {
		t.Errorf("no trusted proxy: logged %q, want the peer 127.0.0.1", got)
	}
	if got := logged(t, testsupport.SQLiteEnv(t).With("ASSETGATE_TRUSTED_PROXIES", "10.0.0.0/8"), xff.Clone()); got != "127.0.0.1" {
		t.Errorf("peer outside the trusted proxies: logged %q, want 127.0.0.1", got)
	}
}
