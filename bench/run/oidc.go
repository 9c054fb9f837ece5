package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/assetgate/assetgate/internal/testsupport"
)

// The authorization code + openid exchange row. Every exchange consumes a
// code, so the row needs a code per request. They are issued through the
// real authorization endpoint: the harness signs the bench user in once on
// the login and consent pages (a public client with PKCE, scopes openid
// and me), after which the consent is remembered and each
// GET /oauth/authorize?...&prompt=none over the session answers at once
// with a redirect carrying a new code. The codes are issued before the row,
// unmeasured, as many as the row can use: a first batch is exchanged at
// full load to learn the exchange rate, then enough for warm-up and
// measurement at that rate (with a margin) are issued. Every code has the
// same PKCE challenge; the server still checks the verifier at each
// exchange.

// codeVerifier is the PKCE verifier of every bench code.
const codeVerifier = "bench-code-verifier-0123456789-0123456789-abcdefghijklmnop"

// codeSource issues authorization codes over a signed-in session.
type codeSource struct {
	base, clientID, redirectURI string
	client                      *http.Client // keeps the session cookie
	authorize                   string       // the authorization URL with prompt=none
}

// newCodeSource signs email in for the public client clientID and returns
// a source of codes.
func newCodeSource(ctx context.Context, base, clientID, redirectURI, email, password string) (*codeSource, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	cs := &codeSource{base: base, clientID: clientID, redirectURI: redirectURI, client: &http.Client{
		Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute},
	}}
	sum := sha256.Sum256([]byte(codeVerifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI}, "scope": {"openid me"},
		"state": {"bench"}, "nonce": {"n-bench"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	// The login and consent pages, once.
	status, loc, page, err := cs.do(ctx, http.MethodGet, base+"/oauth/authorize?"+q.Encode(), nil)
	for range 4 {
		if err != nil {
			return nil, err
		}
		switch {
		case status == http.StatusFound:
			if _, err := codeOf(loc); err != nil {
				return nil, err
			}
			q.Set("prompt", "none")
			cs.authorize = base + "/oauth/authorize?" + q.Encode()
			return cs, nil
		case status == http.StatusOK && strings.Contains(page, `value="login"`):
			f := testsupport.HiddenFields(page)
			f.Set("email", email)
			f.Set("password", password)
			f.Set("action", "login")
			if status, loc, page, err = cs.do(ctx, http.MethodPost, base+"/oauth/authorize", f); err == nil && status == http.StatusSeeOther {
				status, loc, page, err = cs.do(ctx, http.MethodGet, base+loc, nil)
			}
		case status == http.StatusOK && strings.Contains(page, `value="approve"`):
			f := testsupport.HiddenFields(page)
			f.Set("action", "approve")
			status, loc, page, err = cs.do(ctx, http.MethodPost, base+"/oauth/authorize", f)
		default:
			return nil, fmt.Errorf("authorize answered %d: %.200s", status, page)
		}
	}
	return nil, errors.New("authorize: no code after the login and consent pages")
}

func (cs *codeSource) do(ctx context.Context, method, u string, f url.Values) (int, string, string, error) {
	var body io.Reader
	if f != nil {
		body = strings.NewReader(f.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, "", "", err
	}
	if f != nil {
		req.Header.Set("Content-Type", formType)
	}
	resp, err := cs.client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b), err
}

// codeOf returns the code of an authorization response redirect.
func codeOf(loc string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", err
	}
	if c := u.Query().Get("code"); c != "" {
		return c, nil
	}
	return "", fmt.Errorf("authorization response without a code: %.200s", loc)
}

// issue gets n codes from conc workers.
func (cs *codeSource) issue(ctx context.Context, n, conc int) ([]string, error) {
	codes := make([]string, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				status, loc, page, err := cs.do(ctx, http.MethodGet, cs.authorize, nil)
				if err == nil && status != http.StatusFound {
					err = fmt.Errorf("authorize (prompt=none) answered %d: %.200s", status, page)
				}
				if err == nil {
					codes[i], err = codeOf(loc)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return codes, firstErr
}

// exchange is the target that exchanges the codes in order, one per
// request; it fails the request once they are used up.
func (cs *codeSource) exchange(codes []string) (target, *atomic.Int64) {
	var next atomic.Int64
	return target{func(ctx context.Context) (*http.Request, error) {
		i := int(next.Add(1) - 1)
		if i >= len(codes) {
			return nil, errors.New("the row used up its authorization codes")
		}
		return post(cs.base+"/oauth/token", "", form("grant_type", "authorization_code", "code", codes[i], "client_id", cs.clientID,
			"redirect_uri", cs.redirectURI, "code_verifier", codeVerifier), formType)(ctx)
	}, http.StatusOK}, &next
}

// codeExchangeTarget issues the codes of one run of the row (warm-up and
// measurement) and returns its target.
func codeExchangeTarget(ctx context.Context, client *http.Client, cs *codeSource, o options) (target, error) {
	// Learn the exchange rate on a first batch, at the row's concurrency.
	first, err := cs.issue(ctx, max(40*o.conc, 800), o.conc)
	if err != nil {
		return target{}, err
	}
	calib, used := cs.exchange(first)
	warm := min(o.warmup, 500*time.Millisecond)
	drive(ctx, client, calib, o.conc, 0, warm) // unmeasured: the first exchanges are slower
	warmed := min(used.Load(), int64(len(first)))
	start := time.Now()
	st := drive(ctx, client, calib, o.conc, 0, time.Second)
	elapsed := time.Since(start)
	if st.Errors > 0 && used.Load() < int64(len(first)) {
		return target{}, fmt.Errorf("calibration exchange: %d errors (first: %s)", st.Errors, st.FirstError)
	}
	rate := float64(min(used.Load(), int64(len(first)))-warmed) / elapsed.Seconds()
	// A wide margin: the load on a shared machine drifts between the
	// calibration and the row, and codes left over cost nothing.
	need := int(rate*(o.warmup+o.duration).Seconds()*3) + 8*o.conc
	begin := time.Now()
	codes, err := cs.issue(ctx, need, o.conc)
	if err != nil {
		return target{}, err
	}
	fmt.Fprintf(os.Stderr, "bench: issued %d authorization codes in %s through GET /oauth/authorize (prompt=none; exchange rate about %.0f/s)\n",
		need, time.Since(begin).Round(time.Millisecond), rate)
	t, _ := cs.exchange(codes)
	return t, nil
}
