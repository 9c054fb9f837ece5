package oauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// The known-browser cookie tells the login throttle that a browser signed
// in to a user before, so that the user goes on signing in from it while
// strangers' failures have locked the account (see resource.LoginGate).
// It holds up to maxKnownUsers entries, one per user who signed in on the
// browser, each the user id, when it was issued and an HMAC-SHA256 of
// both under the server key: nobody can make one without the key, and it
// says nothing secret. Each successful login on the pages issues the
// user's entry afresh.
const (
	knownBrowserCookie       = "ag_known"
	knownBrowserCookieSecure = "__Host-ag_known"
	maxKnownUsers            = 5
	knownBrowserFor          = 180 * 24 * time.Hour
)

// knownEntry is one user's entry of the cookie.
type knownEntry struct {
	userID string
	issued int64 // unix seconds
	mac    string
}

func (s *Server) knownBrowserCookieName() string {
	if s.secure {
		return knownBrowserCookieSecure
	}
	return knownBrowserCookie
}

// knownMAC is the entry's HMAC, base64url, 128 bits.
func (s *Server) knownMAC(userID string, issued int64) string {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte("assetgate known browser\x00" + userID + "\x00" + strconv.FormatInt(issued, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// knownEntries returns the valid entries of r's cookie: well formed,
// signed under the key, issued less than knownBrowserFor ago.
func (s *Server) knownEntries(r *http.Request) []knownEntry {
	c, err := r.Cookie(s.knownBrowserCookieName())
	if err != nil || len(c.Value) > 1024 {
		return nil
	}
	now := s.now().Unix()
	var out []knownEntry
	for _, e := range strings.Split(c.Value, ".") {
		parts := strings.Split(e, "~")
		if len(parts) != 3 || !resource.ValidID(parts[0]) {
			continue
		}
		issued, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || issued > now+300 || now-issued > int64(knownBrowserFor/time.Second) {
			continue
		}
		if !hmac.Equal([]byte(parts[2]), []byte(s.knownMAC(parts[0], issued))) {
			continue
		}
		out = append(out, knownEntry{userID: parts[0], issued: issued, mac: parts[2]})
		if len(out) == maxKnownUsers {
			break
		}
	}
	return out
}

// knownBrowsers returns the users r's browser is known to, for the login
// throttle; each entry's MAC names the browser.
func (s *Server) knownBrowsers(r *http.Request) []resource.KnownBrowser {
	var out []resource.KnownBrowser
	for _, e := range s.knownEntries(r) {
		out = append(out, resource.KnownBrowser{UserID: e.userID, ID: e.mac})
	}
	return out
}

// setKnownBrowser issues the cookie after userID signed in on r's
// browser: the user's entry afresh, first, then the other users' valid
// entries, at most maxKnownUsers. HttpOnly, SameSite=Lax, Secure (and
// __Host-) with an https issuer.
func (s *Server) setKnownBrowser(w http.ResponseWriter, r *http.Request, userID string) {
	now := s.now().Unix()
	entries := []knownEntry{{userID: userID, issued: now, mac: s.knownMAC(userID, now)}}
	for _, e := range s.knownEntries(r) {
		if e.userID != userID && len(entries) < maxKnownUsers {
			entries = append(entries, e)
		}
	}
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = e.userID + "~" + strconv.FormatInt(e.issued, 10) + "~" + e.mac
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.knownBrowserCookieName(), Value: strings.Join(parts, "."), Path: "/",
		MaxAge: int(knownBrowserFor / time.Second), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}
