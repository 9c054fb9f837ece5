package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/redis/go-redis/v9"
)

// codeExchangeRoute adds POST /code-exchange, the reference row of the
// authorization code + openid exchange: what a careful hand-written
// authorization server does at the least for one exchange. One Redis
// GETDEL takes the code (the harness sends codes nobody stored: a missing
// key costs Redis the same round trip, and the reference row then needs no
// seeding), an ID token (iss, sub, aud, exp, iat, auth_time, nonce,
// at_hash) is signed with RS256 (a 2048-bit key, as assetgate's), and one
// SET with a TTL stores the access token's hash; the answer is the token
// response.
func codeExchangeRoute(mux *http.ServeMux, rc *redis.Client) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), "baseline-1"))
	if err != nil {
		return err
	}
	mux.HandleFunc("POST /code-exchange", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "form", http.StatusBadRequest)
			return
		}
		if err := rc.GetDel(r.Context(), "baseline:code:"+r.PostForm.Get("code")).Err(); err != nil && err != redis.Nil {
			http.Error(w, "redis", http.StatusBadGateway)
			return
		}
		access := "agat_" + rand.Text()
		sum := sha256.Sum256([]byte(access))
		now := time.Now()
		claims, _ := json.Marshal(map[string]any{"iss": "http://" + r.Host, "sub": "00000000-0000-7000-8000-0000000000aa",
			"aud": r.PostForm.Get("client_id"), "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "auth_time": now.Unix(),
			"nonce": "n-bench", "at_hash": base64.RawURLEncoding.EncodeToString(sum[:16])})
		jws, err := signer.Sign(claims)
		if err != nil {
			http.Error(w, "sign", http.StatusInternalServerError)
			return
		}
		idToken, err := jws.CompactSerialize()
		if err != nil {
			http.Error(w, "sign", http.StatusInternalServerError)
			return
		}
		if err := rc.Set(r.Context(), "baseline:token:"+fmt.Sprintf("%x", sum), "user", time.Hour).Err(); err != nil {
			http.Error(w, "redis", http.StatusBadGateway)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600,
			"scope": "openid me", "id_token": idToken})
	})
	return nil
}
