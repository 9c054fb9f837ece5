package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"

	"github.com/assetgate/assetgate/resource"
)

// PKCE code challenge methods (RFC 7636 §4.2).
const (
	pkceS256  = "S256"
	pkcePlain = "plain"
)

// validPKCEString reports whether s is 43 to 128 characters of the
// unreserved set [A-Za-z0-9-._~], the form of code verifiers and challenges
// (RFC 7636 §4.1, §4.2).
func validPKCEString(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// checkChallenge validates the PKCE parameters of an authorization request
// against the application's enforcement and returns the method to record.
// S256 is the method when none is named (go-oauth2 picks plain; defect 5);
// plain is refused for s256_required applications; public clients need a
// challenge (Application.EffectivePKCE).
func checkChallenge(app *resource.Application, challenge, method string) (string, error) {
	enforcement := app.EffectivePKCE()
	if challenge == "" {
		if method != "" {
			return "", errInvalidRequest("code_challenge_method without code_challenge.")
		}
		if enforcement != resource.PKCEOptional {
			return "", errInvalidRequest("code_challenge is required (PKCE).")
		}
		return "", nil
	}
	if method == "" {
		method = pkceS256
	}
	switch {
	case method != pkceS256 && method != pkcePlain:
		return "", errInvalidRequest("code_challenge_method must be S256 or plain.")
	case method == pkcePlain && enforcement == resource.PKCES256Required:
		return "", errInvalidRequest("This client must use code_challenge_method S256.")
	case !validPKCEString(challenge), method == pkceS256 && len(challenge) != 43:
		return "", errInvalidRequest("code_challenge is malformed.")
	}
	return method, nil
}

// verifyPKCE checks the code_verifier of a token request against the
// challenge recorded with the code. A verifier that is not 43–128
// unreserved characters, a missing one, a wrong one, or one sent for a code
// issued without a challenge (a downgrade) is invalid_grant.
func verifyPKCE(challenge, method, verifier string) error {
	if challenge == "" {
		if verifier != "" {
			return errInvalidGrant("code_verifier given, but the authorization request had no code_challenge.")
		}
		return nil
	}
	if verifier == "" {
		return errInvalidGrant("code_verifier is missing.")
	}
	if !validPKCEString(verifier) {
		return errInvalidGrant("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~.")
	}
	want := verifier
	if method != pkcePlain {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) != 1 {
		return errInvalidGrant("code_verifier does not match the code_challenge.")
	}
	return nil
}
