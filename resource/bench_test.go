package resource

import "testing"

// The hot pure functions of every token request (make bench-micro).

func BenchmarkNewToken(b *testing.B) {
	fam := NewFamilyID()
	for b.Loop() {
		_ = NewToken(AccessTokenPrefix, fam)
	}
}

func BenchmarkKeyedHash(b *testing.B) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tok := NewToken(AccessTokenPrefix, NewFamilyID())
	for b.Loop() {
		_ = KeyedHash(key, tok)
	}
}

func BenchmarkParseToken(b *testing.B) {
	tok := NewToken(AccessTokenPrefix, NewFamilyID())
	for b.Loop() {
		_, _, _ = ParseToken(tok)
	}
}

func BenchmarkSecretMatches(b *testing.B) {
	s := NewSecret(ClientSecretPrefix)
	h := HashSecret(s)
	for b.Loop() {
		_ = SecretMatches(h, s)
	}
}
