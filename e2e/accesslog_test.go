package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/internal/testsupport"
)

// TestAccessLog checks the access log: at info, one JSON line per request
// with the method, route pattern, status, duration, bytes, client address
// and a request id (the client's X-Request-Id when it sends a sane one,
// else a new one, answered in the response), and never the query string
// or a token; ASSETGATE_LOG_LEVEL=warn silences it.
func TestAccessLog(t *testing.T) {
	ts := startServer(t, testsupport.SQLiteEnv(t).With("ASSETGATE_LOG_LEVEL", "info"))
	secret := "agat_never-in-the-log"
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/devices?authorization="+secret+"&filter%5Bsearch%5D=x", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("X-Request-Id", "client-chosen-42")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("X-Request-Id"); got != "client-chosen-42" {
		t.Fatalf("X-Request-Id answered %q", got)
	}
	res, err = http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	generated := res.Header.Get("X-Request-Id")
	if len(generated) < 16 {
		t.Fatalf("no request id made: %q", generated)
	}
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	logs := ts.stderr.String()
	if strings.Contains(logs, secret) {
		t.Fatalf("a token reached the log:\n%s", logs)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "request" {
			lines = append(lines, rec)
		}
	}
	byID := map[string]map[string]any{}
	for _, l := range lines {
		if l["level"] != "INFO" {
			t.Fatalf("access line at %v: %v", l["level"], l)
		}
		id, _ := l["request_id"].(string)
		byID[id] = l
	}
	api, health := byID["client-chosen-42"], byID[generated]
	if api == nil || health == nil {
		t.Fatalf("missing access lines in %v", lines)
	}
	if api["method"] != "GET" || api["path"] != "/api/v1/devices" || api["status"] != 401.0 || api["route"] == nil ||
		api["client_address"] != "127.0.0.1" || api["bytes"] == nil || api["duration_ms"] == nil {
		t.Fatalf("access line %v", api)
	}
	if health["route"] != "GET /healthz" || health["status"] != 200.0 {
		t.Fatalf("access line %v", health)
	}

	quiet := startServer(t, testsupport.SQLiteEnv(t).With("ASSETGATE_LOG_LEVEL", "warn"))
	res, err = http.Get(quiet.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if err := quiet.stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(quiet.stderr.String(), `"msg":"request"`) {
		t.Fatalf("access lines at warn:\n%s", quiet.stderr.String())
	}
}
