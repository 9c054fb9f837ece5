package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
)

// Bounds of TestPasswordLoginLoad: the memory and time a burst of password
// grants may cost the server.
const (
	loadMaxPeakRSS = 300 << 20 // bytes: the server's VmHWM
	loadMaxBurst   = 90 * time.Second
	loadWrong      = 150 // wrong password grants from one address, random e-mails
	loadUsers      = 40  // accounts of the right logins
	loadRight      = 200 // right password grants, from as many addresses
)

// TestPasswordLoginLoad is the memory test of password hashing: the real server
// binary, started as its own process, gets 150 wrong password grants from
// one address with random e-mails and, at the same time, 200 right ones
// (5 for each of 40 accounts, each from its own loopback address, so that
// no throttle holds them back and all of them reach the password hasher).
// The server's peak RSS (VmHWM of /proc/PID/status) must stay under
// 300 MB, the burst must end in bounded time, at most the address's limit
// of wrong guesses may be evaluated, and every answer is a token, an
// invalid_grant, a 429 or a 503 temporarily_unavailable with Retry-After.
func TestPasswordLoginLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the server binary for about half a minute")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read the server's peak RSS")
	}
	env := testsupport.SQLiteEnv(t)
	cust := mustCLI(t, env, "", "customer", "create", "--name", "Load")
	a := openGraph(t, env.With("ASSETGATE_PASSWORD_HASH_WAIT", "1m")) // seeding may queue for its hashes
	emails := make([]string, loadUsers)
	var ownerID string
	var seed sync.WaitGroup
	var seedErr error
	var mu sync.Mutex
	for i := range emails {
		emails[i] = fmt.Sprintf("load-%02d@example.com", i)
		seed.Go(func() {
			u, err := a.Users.Create(t.Context(), cust["id"].(string), emails[i], "load test password "+strconv.Itoa(i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				seedErr = err
			} else if i == 0 {
				ownerID = u.ID
			}
		})
	}
	seed.Wait()
	if seedErr != nil {
		t.Fatal(seedErr)
	}
	app := mustCLI(t, env, "", "app", "create", "--owner", ownerID, "--name", "Load", "--grant", "password")
	clientID, secret := app["client_id"].(string), app["client_secret"].(string)

	srv := startServer(t, env)
	grant := func(email, password string) *http.Request {
		form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(clientID, secret)
		return req
	}
	type shot struct {
		req    *http.Request
		client *http.Client
		right  bool
	}
	var shots []shot
	attacker := loopbackClient(t, net.IPv4(127, 0, 0, 1))
	for range loadWrong {
		shots = append(shots, shot{req: grant(resource.NewID()+"@example.com", "not the password"), client: attacker})
	}
	for i := range loadRight {
		u := i % loadUsers
		c := loopbackClient(t, net.IPv4(127, 0, 1+byte(i/250), 1+byte(i%250)))
		shots = append(shots, shot{req: grant(emails[u], "load test password "+strconv.Itoa(u)), client: c, right: true})
	}

	type answer struct {
		status     int
		err        string
		retryAfter string
		token      bool
	}
	answers := make([]answer, len(shots))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range shots {
		wg.Go(func() {
			<-start
			resp, err := s.client.Do(s.req)
			if err != nil {
				answers[i] = answer{err: err.Error()}
				return
			}
			defer resp.Body.Close()
			var body struct {
				AccessToken string `json:"access_token"`
				Error       string `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			answers[i] = answer{status: resp.StatusCode, err: body.Error, retryAfter: resp.Header.Get("Retry-After"), token: body.AccessToken != ""}
		})
	}
	idle := peakRSS(t, srv.pid)
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)

	count := map[string]int{}
	for i, an := range answers {
		kind := "wrong"
		if shots[i].right {
			kind = "right"
		}
		count[fmt.Sprintf("%s %d", kind, an.status)]++
		switch {
		case an.status == http.StatusServiceUnavailable && an.err == "temporarily_unavailable" && an.retryAfter != "":
		case an.status == http.StatusTooManyRequests && an.err == "invalid_grant" && an.retryAfter != "":
		case shots[i].right && an.status == http.StatusOK && an.token:
		case !shots[i].right && an.status == http.StatusBadRequest && an.err == "invalid_grant":
		default:
			t.Errorf("%s login answered %+v", kind, an)
		}
	}
	peak := peakRSS(t, srv.pid)
	t.Logf("burst of %d logins in %v; answers %v; server peak RSS (VmHWM) %d MiB, %d MiB before the burst",
		len(shots), elapsed.Round(time.Millisecond), count, peak>>20, idle>>20)
	if peak >= loadMaxPeakRSS {
		t.Errorf("server peak RSS %d MiB, want under %d MiB", peak>>20, loadMaxPeakRSS>>20)
	}
	if elapsed > loadMaxBurst {
		t.Errorf("the burst took %v, want under %v", elapsed, loadMaxBurst)
	}
	if n := count["wrong 400"]; n > resource.DefaultMaxFailuresPerAddr {
		t.Errorf("%d wrong guesses from one address evaluated, want at most %d", n, resource.DefaultMaxFailuresPerAddr)
	}
	if count["right 200"] == 0 {
		t.Error("no right login succeeded")
	}
	// The server still answers, and a right login works once the burst
	// is over.
	resp, err := loopbackClient(t, net.IPv4(127, 0, 2, 1)).Do(grant(emails[1], "load test password 1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a login after the burst answered %d", resp.StatusCode)
	}
}

// loopbackClient returns an HTTP client whose connections come from ip (any
// address of 127.0.0.0/8 is the loopback interface on Linux), so the server
// sees it as a client of its own.
func loopbackClient(t *testing.T, ip net.IP) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 200, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: loadMaxBurst}
}

// peakRSS returns the peak resident set size (VmHWM) of process pid in
// bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
