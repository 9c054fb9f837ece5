package oauth

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/assetgate/assetgate/resource"
)

// Signing algorithms of ID tokens and JWT access tokens.
const (
	AlgRS256 = string(jose.RS256)
	AlgES256 = string(jose.ES256)
)

// SigningAlgs returns the signing algorithms the server can sign with.
func SigningAlgs() []string { return []string{AlgRS256, AlgES256} }

// Defaults of the key settings of Config.
const (
	// DefaultKeyRefresh is how often a replica re-reads the signing keys
	// from the database (and so how soon it signs with a rotated key and
	// publishes a new one).
	DefaultKeyRefresh = 30 * time.Second
	// DefaultJWKSMaxAge is the max-age of the JWKS's Cache-Control.
	DefaultJWKSMaxAge = 5 * time.Minute
	// DefaultRotationDelay is how long after a rotation the new key starts
	// signing: longer than a replica's key refresh plus the JWKS's max-age,
	// so that every relying party that caches the JWKS has the new key
	// before it sees a token signed with it.
	DefaultRotationDelay = time.Hour
)

// jwksPath is the JWKS route (RFC 7517 §5).
const (
	jwksPath  = "/oauth/jwks"
	routeJWKS = "GET " + jwksPath
)

// signingKey is a stored key, decrypted.
type signingKey struct {
	rec  *resource.SigningKey
	priv crypto.Signer
	pub  jose.JSONWebKey
}

// keyring holds the signing keys as the database has them, re-read every
// Config.KeyRefresh (and at once when a token names a key it does not
// know), so that every replica signs with the same key and publishes the
// same set.
type keyring struct {
	s     *Server
	store resource.SigningKeyStore

	mu     sync.Mutex
	keys   []*signingKey
	loaded time.Time // when keys were read; zero: never
}

// keyEncryptionKey derives the AES-256 key that encrypts the private keys
// from the server key.
func (s *Server) keyEncryptionKey() []byte {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte("assetgate signing key encryption v1"))
	return m.Sum(nil)
}

func (s *Server) keyAEAD() cipher.AEAD {
	block, err := aes.NewCipher(s.keyEncryptionKey())
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// sealKey encrypts a PKCS #8 private key under the server key, bound to its
// key id and algorithm.
func (s *Server) sealKey(kid, alg string, der []byte) string {
	aead := s.keyAEAD()
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return "v1." + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, der, []byte(kid+"."+alg)))
}

// openKey decrypts a stored private key.
func (s *Server) openKey(rec *resource.SigningKey) (crypto.Signer, error) {
	raw, ok := strings.CutPrefix(rec.PrivateKey, "v1.")
	if !ok {
		return nil, errors.New("unknown private key format")
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	aead := s.keyAEAD()
	if err != nil || len(b) < aead.NonceSize() {
		return nil, errors.New("malformed private key")
	}
	der, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(rec.ID+"."+rec.Alg))
	if err != nil {
		return nil, errors.New("private key does not decrypt under the server key")
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("private key cannot sign")
	}
	return signer, nil
}

// newSigningKey makes a new key of alg, its private half sealed, signing
// from signsFrom.
func (s *Server) newSigningKey(alg string, signsFrom time.Time) (*resource.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, resource.Invalidf("alg", "alg must be one of %s", strings.Join(SigningAlgs(), ", "))
	}
	if err != nil {
		return nil, err
	}
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	jwk, err := pub.MarshalJSON()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	return &resource.SigningKey{
		ID: pub.KeyID, Alg: alg, PrivateKey: s.sealKey(pub.KeyID, alg, der), PublicJWK: string(jwk),
		CreatedAt: now, SignsFrom: signsFrom,
	}, nil
}

// load returns the keys, re-reading them when they are older than the
// refresh interval or force is set (and they were not read in the last
// second). The first load of an empty database stores a first key.
func (k *keyring) load(ctx context.Context, force bool) ([]*signingKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.s.now()
	age := now.Sub(k.loaded)
	if !k.loaded.IsZero() && age < k.s.cfg.KeyRefresh && (!force || age < time.Second) {
		return k.keys, nil
	}
	recs, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		first, err := k.s.newSigningKey(k.s.cfg.SigningAlg, k.s.clock())
		if err != nil {
			return nil, err
		}
		if _, err := k.store.AddFirstSigningKey(ctx, first); err != nil {
			return nil, err
		}
		if recs, err = k.store.ListSigningKeys(ctx); err != nil {
			return nil, err
		}
	}
	keys := make([]*signingKey, 0, len(recs))
	for _, rec := range recs {
		priv, err := k.s.openKey(rec)
		if err != nil {
			// A key sealed under another server key: it can neither sign
			// nor be trusted. Logged, skipped.
			k.s.log.Error("oauth: signing key unusable", "kid", rec.ID, "err", err)
			continue
		}
		var pub jose.JSONWebKey
		if err := pub.UnmarshalJSON([]byte(rec.PublicJWK)); err != nil {
			k.s.log.Error("oauth: signing key unusable", "kid", rec.ID, "err", err)
			continue
		}
		keys = append(keys, &signingKey{rec: rec, priv: priv, pub: pub})
	}
	k.keys, k.loaded = keys, now
	return keys, nil
}

// signer returns the key that signs now: of the keys that may sign, the
// one that started last.
func (k *keyring) signer(ctx context.Context) (*signingKey, error) {
	keys, err := k.load(ctx, false)
	if err != nil {
		return nil, err
	}
	now := k.s.clock()
	var best *signingKey
	for _, key := range keys {
		if key.rec.Signs(now) && (best == nil || !key.rec.SignsFrom.Before(best.rec.SignsFrom)) {
			best = key
		}
	}
	if best == nil {
		return nil, errors.New("no signing key signs now")
	}
	return best, nil
}

// published returns the keys of the JWKS.
func (k *keyring) published(ctx context.Context, force bool) ([]*signingKey, error) {
	keys, err := k.load(ctx, force)
	if err != nil {
		return nil, err
	}
	now := k.s.clock()
	var out []*signingKey
	for _, key := range keys {
		if key.rec.Published(now) {
			out = append(out, key)
		}
	}
	return out, nil
}

// find returns the published key kid, re-reading the keys once when it is
// unknown (another replica may have just rotated).
func (k *keyring) find(ctx context.Context, kid string) (*signingKey, error) {
	for _, force := range []bool{false, true} {
		keys, err := k.published(ctx, force)
		if err != nil {
			return nil, err
		}
		for _, key := range keys {
			if key.rec.ID == kid {
				return key, nil
			}
		}
	}
	return nil, nil
}

// signJWT signs claims as a compact JWS with the current key; typ is the
// header's typ ("JWT", or "at+jwt" for access tokens).
func (s *Server) signJWT(ctx context.Context, claims any, typ string) (string, error) {
	key, err := s.keys.signer(ctx)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader(jose.HeaderKey("kid"), key.rec.ID)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.rec.Alg), Key: key.priv}, opts)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// errJWTInvalid is a JWT that is malformed or not signed by a published
// key of this server.
var errJWTInvalid = errors.New("not a JWT signed by this server")

// verifyJWT checks that raw is a compact JWS signed by one of the published
// keys (with the key's own algorithm) and returns its header's typ and its
// payload. It checks no claims.
func (s *Server) verifyJWT(ctx context.Context, raw string) (string, []byte, error) {
	if len(raw) > 16<<10 {
		return "", nil, errJWTInvalid
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return "", nil, errJWTInvalid
	}
	h := jws.Signatures[0].Protected
	key, err := s.keys.find(ctx, h.KeyID)
	if err != nil {
		return "", nil, err
	}
	if key == nil || h.Algorithm != key.rec.Alg {
		return "", nil, errJWTInvalid
	}
	payload, err := jws.Verify(key.pub.Key)
	if err != nil {
		return "", nil, errJWTInvalid
	}
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	return typ, payload, nil
}

// KeyInfo describes a signing key for `assetgate keys list`.
type KeyInfo struct {
	ID        string    `json:"kid"`
	Alg       string    `json:"alg"`
	State     string    `json:"state"` // pending, signing, retired (published, no longer signing) or expired
	CreatedAt time.Time `json:"created_at"`
	SignsFrom time.Time `json:"signs_from"`
	// RetiredAt and PublishedUntil are null until a rotation sets them.
	RetiredAt      *time.Time `json:"retired_at"`
	PublishedUntil *time.Time `json:"published_until"`
}

func (s *Server) keyInfo(rec *resource.SigningKey, now time.Time) KeyInfo {
	ki := KeyInfo{ID: rec.ID, Alg: rec.Alg, CreatedAt: rec.CreatedAt, SignsFrom: rec.SignsFrom}
	if !rec.RetiredAt.IsZero() {
		t := rec.RetiredAt
		ki.RetiredAt = &t
	}
	if !rec.PublishedUntil.IsZero() {
		t := rec.PublishedUntil
		ki.PublishedUntil = &t
	}
	switch {
	case !rec.Published(now):
		ki.State = "expired"
	case rec.Signs(now):
		ki.State = "signing"
	case now.Before(rec.SignsFrom):
		ki.State = "pending"
	default:
		ki.State = "retired"
	}
	return ki
}

// SigningKeys lists the stored signing keys, oldest first (storing a first
// one when there is none).
func (s *Server) SigningKeys(ctx context.Context) ([]KeyInfo, error) {
	if _, err := s.keys.load(ctx, true); err != nil {
		return nil, err
	}
	recs, err := s.keys.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	out := make([]KeyInfo, 0, len(recs))
	for _, rec := range recs {
		out = append(out, s.keyInfo(rec, now))
	}
	return out, nil
}

// maxSignedLifetime is the longest a token signed by a key stays valid: an
// ID token, or a JWT access token of the longest lifetime an application
// may have.
func (s *Server) maxSignedLifetime() time.Duration {
	return max(s.cfg.IDTokenTTL, seconds(resource.MaxAccessTokenTTL))
}

// RotateSigningKey adds a new key of alg ("" for the configured one): it
// is published at once and signs after delay (negative: the configured
// Config.RotationDelay); the keys before it stop signing then and stay
// published until the last token they signed has expired. Keys whose
// publication has ended are deleted.
func (s *Server) RotateSigningKey(ctx context.Context, alg string, delay time.Duration) (KeyInfo, error) {
	if alg == "" {
		alg = s.cfg.SigningAlg
	}
	if delay < 0 {
		delay = s.cfg.RotationDelay
	}
	if _, err := s.keys.load(ctx, true); err != nil { // the first key, on an empty database
		return KeyInfo{}, err
	}
	now := s.clock()
	k, err := s.newSigningKey(alg, now.Add(delay))
	if err != nil {
		return KeyInfo{}, err
	}
	if err := s.keys.store.RotateSigningKey(ctx, k, k.SignsFrom.Add(s.maxSignedLifetime())); err != nil {
		return KeyInfo{}, err
	}
	if _, err := s.keys.store.DeleteUnpublishedSigningKeys(ctx, now); err != nil {
		return KeyInfo{}, err
	}
	if _, err := s.keys.load(ctx, true); err != nil {
		return KeyInfo{}, err
	}
	return s.keyInfo(k, now), nil
}

// JWKS returns the handler of "GET /oauth/jwks": the published keys (RFC
// 7517 §5), cacheable for Config.JWKSMaxAge.
func (s *Server) JWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys, err := s.keys.published(r.Context(), false)
		if err != nil {
			s.writeError(w, err)
			return
		}
		set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
		for _, k := range keys {
			set.Keys = append(set.Keys, k.pub)
		}
		hd := w.Header()
		hd.Set("Content-Type", "application/jwk-set+json")
		hd.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(s.cfg.JWKSMaxAge/time.Second)))
		hd.Set("Access-Control-Allow-Origin", "*")
		writeBody(w, set)
	})
}

// writeBody writes v as a 200 JSON body with the headers already set.
func writeBody(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
