package testsupport

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// PageClient is a cookie-keeping HTTP client for the server's login,
// consent and device pages, as a browser without JavaScript uses them; it
// does not follow redirects. The tests of the oauth package (an in-process
// server) and of e2e (the real binary) drive the pages through it.
type PageClient struct{ C *http.Client }

// NewPageClient returns a PageClient with an empty cookie jar.
func NewPageClient(tb testing.TB) *PageClient {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &PageClient{C: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Do sends one request (a form when form is not nil) and returns the
// response with its body read.
func (pc *PageClient) Do(tb testing.TB, method, u string, form url.Values) (*http.Response, string) {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		tb.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := pc.C.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// HiddenFields returns the hidden inputs of a page's form.
func HiddenFields(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// SignIn runs the authorization request params against the server at base
// through whatever pages it shows: the login page (email and password),
// the consent page (approved), or none at all (a live session and a
// remembered consent). It returns the redirect to the client.
func (pc *PageClient) SignIn(tb testing.TB, base string, params url.Values, email, password string) *url.URL {
	tb.Helper()
	resp, page := pc.Do(tb, http.MethodGet, base+"/oauth/authorize?"+params.Encode(), nil)
	for range 3 {
		switch {
		case resp.StatusCode == http.StatusFound:
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				tb.Fatal(err)
			}
			return loc
		case resp.StatusCode == http.StatusOK && strings.Contains(page, `value="login"`):
			form := HiddenFields(page)
			form.Set("email", email)
			form.Set("password", password)
			form.Set("action", "login")
			resp, page = pc.Do(tb, http.MethodPost, base+"/oauth/authorize", form)
			if resp.StatusCode != http.StatusSeeOther {
				tb.Fatalf("login: status %d: %s", resp.StatusCode, page)
			}
			resp, page = pc.Do(tb, http.MethodGet, base+resp.Header.Get("Location"), nil)
		case resp.StatusCode == http.StatusOK && strings.Contains(page, `value="approve"`):
			form := HiddenFields(page)
			form.Set("action", "approve")
			resp, page = pc.Do(tb, http.MethodPost, base+"/oauth/authorize", form)
		default:
			tb.Fatalf("authorize: status %d: %s", resp.StatusCode, page)
		}
	}
	tb.Fatalf("authorize: no redirect after the pages: %d: %s", resp.StatusCode, page)
	return nil
}

// DecideDevice types the user code typed on the server's /device page,
// signs in there (email and password) when asked, and approves or denies
// the request. It returns the final page.
func (pc *PageClient) DecideDevice(tb testing.TB, base, typed, email, password string, approve bool) string {
	tb.Helper()
	resp, page := pc.Do(tb, http.MethodGet, base+"/device", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="user_code"`) {
		tb.Fatalf("GET /device: %d: %s", resp.StatusCode, page)
	}
	form := HiddenFields(page)
	form.Set("user_code", typed)
	form.Set("action", "code")
	resp, page = pc.Do(tb, http.MethodPost, base+"/device", form)
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("code form: %d: %s", resp.StatusCode, page)
	}
	resp, page = pc.Do(tb, http.MethodGet, base+resp.Header.Get("Location"), nil)
	if strings.Contains(page, `value="login"`) {
		form = HiddenFields(page)
		form.Set("email", email)
		form.Set("password", password)
		form.Set("action", "login")
		resp, page = pc.Do(tb, http.MethodPost, base+"/device", form)
		if resp.StatusCode != http.StatusSeeOther {
			tb.Fatalf("login: %d: %s", resp.StatusCode, page)
		}
		resp, page = pc.Do(tb, http.MethodGet, base+resp.Header.Get("Location"), nil)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="approve"`) {
		tb.Fatalf("no consent page: %d: %s", resp.StatusCode, page)
	}
	form = HiddenFields(page)
	form.Set("action", map[bool]string{true: "approve", false: "deny"}[approve])
	resp, page = pc.Do(tb, http.MethodPost, base+"/device", form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="device-done"`) {
		tb.Fatalf("decision: %d: %s", resp.StatusCode, page)
	}
	return page
}
