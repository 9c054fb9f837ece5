package resource

import (
	"context"
	"time"
)

// SigningKey is a key the authorization server signs ID tokens (and JWT
// access tokens) with. The private key is kept only encrypted under the
// server key (the oauth package encrypts and decrypts it); PublicJWK is the
// public half as a JSON Web Key, as the JWKS publishes it.
type SigningKey struct {
	ID  string `db:"id"` // the JWK "kid"
	Alg string `db:"alg"`
	// PrivateKey is the encrypted private key.
	PrivateKey string    `db:"private_key"`
	PublicJWK  string    `db:"public_jwk"`
	CreatedAt  time.Time `db:"created_at"`
	// SignsFrom is when the key starts signing; it is published from
	// CreatedAt on.
	SignsFrom time.Time `db:"signs_from"`
	// RetiredAt is when a newer key took over signing; zero while none did.
	RetiredAt time.Time `db:"-"`
	// PublishedUntil is when the last token the key signed has expired, so
	// that it leaves the JWKS; zero while it still signs.
	PublishedUntil time.Time `db:"-"`
}

// Signs reports whether the key may sign at t.
func (k *SigningKey) Signs(t time.Time) bool {
	return !t.Before(k.SignsFrom) && (k.RetiredAt.IsZero() || t.Before(k.RetiredAt))
}

// Published reports whether the key is in the JWKS at t.
func (k *SigningKey) Published(t time.Time) bool {
	return k.PublishedUntil.IsZero() || t.Before(k.PublishedUntil)
}

// SigningKeyStore keeps the signing keys, shared by every replica.
type SigningKeyStore interface {
	// ListSigningKeys returns every stored key, oldest first.
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
	// AddFirstSigningKey stores k when no key is stored yet (the first
	// start); it reports whether k was stored.
	AddFirstSigningKey(ctx context.Context, k *SigningKey) (bool, error)
	// RotateSigningKey stores k and, in the same transaction, retires
	// every key that is not retired yet: it stops signing at k.SignsFrom
	// and is published until publishedUntil.
	RotateSigningKey(ctx context.Context, k *SigningKey, publishedUntil time.Time) error
	// DeleteUnpublishedSigningKeys removes the keys no longer published at
	// now and returns how many.
	DeleteUnpublishedSigningKeys(ctx context.Context, now time.Time) (int, error)
}

// FamilySession is the record of a token family of a user's grant: whose
// and which application's it is (a withdrawn consent revokes it) and, for
// an OpenID Connect grant, the login session (its public id, the ID
// tokens' sid; "" when none) and when the user logged in (auth_time, zero
// when unknown), which its refreshes repeat.
type FamilySession struct {
	FamilyID  string
	UserID    string
	ClientID  string
	SID       string
	AuthTime  time.Time
	ExpiresAt time.Time
}

// FamilySessionStore keeps FamilySession records.
type FamilySessionStore interface {
	// PutFamilySession stores fs, replacing the family's record.
	PutFamilySession(ctx context.Context, fs *FamilySession) error
	// FindFamilySession returns the live record of a family, or ENotFound.
	FindFamilySession(ctx context.Context, familyID string) (*FamilySession, error)
	// FamiliesOfSession returns the ids of the live families of a login
	// session.
	FamiliesOfSession(ctx context.Context, sid string) ([]string, error)
	// FamiliesOfGrant returns the ids of the live families of a user's
	// grants to an application.
	FamiliesOfGrant(ctx context.Context, userID, clientID string) ([]string, error)
}

// Consent is the scope set a user granted an application, remembered so
// that the consent page is not shown again for it.
type Consent struct {
	UserID     string    `db:"user_id"`
	ClientID   string    `db:"client_id"`
	CustomerID string    `db:"customer_id"`
	Scope      string    `db:"scope"`
	CreatedAt  time.Time `db:"created_at"`
	UpdatedAt  time.Time `db:"updated_at"`
}

// ConsentStore keeps consents, one per user and application.
type ConsentStore interface {
	// PutConsent stores c, replacing the user's consent to the application
	// (its CreatedAt is kept).
	PutConsent(ctx context.Context, c *Consent) error
	// FindConsent returns a user's consent to an application, or ENotFound.
	FindConsent(ctx context.Context, userID, clientID string) (*Consent, error)
	// ListConsents returns a user's consents, oldest first.
	ListConsents(ctx context.Context, userID string) ([]*Consent, error)
	// DeleteConsent removes a user's consent to an application; ENotFound
	// when there is none.
	DeleteConsent(ctx context.Context, userID, clientID string) error
}
