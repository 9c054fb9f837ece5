package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// sessionKeyPrefix names login sessions in the ephemeral store, each under
// the keyed hash of its cookie value.
const sessionKeyPrefix = "oauth:session:"

// session is a browser's server-side login session. Every browser that
// reaches the authorization pages gets one (anonymous until the user logs
// in) so that even the login form carries a CSRF token.
type session struct {
	id        string    // the cookie value; not stored
	UserID    string    `json:"user_id,omitempty"`
	CSRF      string    `json:"csrf"`
	CreatedAt time.Time `json:"created_at"`
	// AuthTime is when the user logged in, and SID the session's public
	// id, which ID tokens carry as auth_time and sid (logout.go).
	AuthTime time.Time `json:"auth_time,omitzero"`
	SID      string    `json:"sid,omitempty"`
}

// cookieName is __Host- prefixed when the cookie is Secure, which binds it
// to this host and path /.
func (s *Server) cookieName() string {
	if s.secure {
		return "__Host-assetgate_session"
	}
	return "assetgate_session"
}

// loadSession returns the session of the request's cookie, or nil when there
// is none (no cookie, unknown or expired session).
func (s *Server) loadSession(r *http.Request) (*session, error) {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil, nil
	}
	raw, err := s.ephemeral.Get(r.Context(), sessionKeyPrefix+resource.KeyedHash(s.cfg.Key, c.Value))
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var sess session
	if err := json.Unmarshal(raw, &sess); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	sess.id = c.Value
	return &sess, nil
}

// startSession stores a new session for userID ("" for an anonymous one),
// with a new id and CSRF token, and sets its cookie. The old session, if
// any, is deleted: logging in always changes the session id (no session
// fixation).
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, old *session, userID string) (*session, error) {
	if old != nil {
		if err := s.ephemeral.Delete(ctx, sessionKeyPrefix+resource.KeyedHash(s.cfg.Key, old.id)); err != nil {
			return nil, err
		}
	}
	sess := &session{id: randomString(), UserID: userID, CSRF: randomString(), CreatedAt: s.clock()}
	if userID != "" {
		sess.AuthTime, sess.SID = sess.CreatedAt, randomString()[:22]
		if err := s.indexSession(ctx, sess); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(sess)
	if err != nil {
		return nil, err
	}
	if err := s.ephemeral.Put(ctx, sessionKeyPrefix+resource.KeyedHash(s.cfg.Key, sess.id), b, s.cfg.SessionTTL); err != nil {
		return nil, fmt.Errorf("store session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: sess.id, Path: "/",
		MaxAge: int(s.cfg.SessionTTL / time.Second), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
	return sess, nil
}

// csrfValid reports, in constant time, whether token is the session's CSRF
// token.
func (sess *session) csrfValid(token string) bool {
	return sess != nil && token != "" && subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(token)) == 1
}

// randomString returns 256 random bits in unpadded base64url.
func randomString() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
