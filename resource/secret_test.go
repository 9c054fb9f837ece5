package resource

import (
	"strings"
	"testing"
)

func TestNewSecret(t *testing.T) {
	a, b := NewSecret("agcs_"), NewSecret("agcs_")
	if a == b {
		t.Fatal("two secrets are equal")
	}
	if !strings.HasPrefix(a, "agcs_") || len(a) != len("agcs_")+43 {
		t.Fatalf("secret %q: want prefix and 43 base64url characters (256 bits)", a)
	}
}

func TestSecretMatches(t *testing.T) {
	s := NewSecret("x_")
	h := HashSecret(s)
	for _, tc := range []struct {
		name         string
		hash, secret string
		want         bool
	}{
		{"OK", h, s, true},
		{"ErrWrongSecret", h, s + "x", false},
		{"ErrEmptyStoredHash", "", "", false},
		{"ErrEmptyStoredHashAnySecret", "", s, false},
		{"ErrEmptySecret", h, "", false},
		{"ErrPlainTextStored", s, s, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SecretMatches(tc.hash, tc.secret); got != tc.want {
				t.Fatalf("SecretMatches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestKeyedHash(t *testing.T) {
	a := KeyedHash([]byte("key-one-0123456789abcdef0123456789"), "token")
	b := KeyedHash([]byte("key-two-0123456789abcdef0123456789"), "token")
	if a == b || a == HashSecret("token") || len(a) != 64 {
		t.Fatalf("keyed hashes %q %q", a, b)
	}
	// Stored hashes must stay the same across versions: HMAC-SHA256 in
	// hex, RFC 4231 test case 2.
	const want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got := KeyedHash([]byte("Jefe"), "what do ya want for nothing?"); got != want {
		t.Fatalf("KeyedHash = %s, want HMAC-SHA256 %s", got, want)
	}
	if again := KeyedHash([]byte("key-one-0123456789abcdef0123456789"), "token"); again != a {
		t.Fatalf("the same key and token hash to %s and %s", a, again)
	}
}

func TestHashSecret(t *testing.T) {
	// SHA-256 in hex (FIPS 180-2, the message "abc").
	if got, want := HashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashSecret = %s, want SHA-256 %s", got, want)
	}
}

func TestParseToken(t *testing.T) {
	fam := NewFamilyID()
	tok := NewToken(AccessTokenPrefix, fam)
	prefix, got, ok := ParseToken(tok)
	if !ok || prefix != AccessTokenPrefix || got != fam {
		t.Fatalf("ParseToken(%q) = %q, %q, %v", tok, prefix, got, ok)
	}
	for _, bad := range []string{"", "agat_", tok[:len(tok)-1], tok + "x", strings.Replace(tok, "agat_", "agat", 1), tok[:30] + "!" + tok[31:]} {
		if _, _, ok := ParseToken(bad); ok {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
}
