package resource

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// DeviceToken is a per-device bearer token as lists show it: never the
// token itself, which is shown once at creation and kept only as a keyed
// hash in the token store. Each device token is a token family of its own
// (the family id is inside the token), so resolving one is a single token
// store look-up and revoking one is revoking its family.
type DeviceToken struct {
	ID         string
	CustomerID string
	DeviceID   string
	// FamilyID is the token family in the token store; never shown.
	FamilyID    string
	Name        string
	Permissions []string
	CreatedAt   time.Time
	// ExpiresAt is nil for a token that does not expire.
	ExpiresAt *time.Time
}

// DeviceTokenStore is the catalogue of device tokens: what lists show, and
// the family to revoke. The secret lives only in the TokenStore.
type DeviceTokenStore interface {
	// CreateDeviceToken inserts t. ENotFound when its device does not
	// exist (that it is the customer's is the caller's check); EConflict
	// for an id in use.
	CreateDeviceToken(ctx context.Context, t *DeviceToken) error
	// ListDeviceTokens returns the tokens of a device of the customer that
	// have not expired at now, oldest first.
	ListDeviceTokens(ctx context.Context, customerID, deviceID string, now time.Time) ([]*DeviceToken, error)
	// ListDeviceTokensMany returns, in one read, the tokens of the
	// customer's devices among deviceIDs that have not expired at now,
	// ordered by device, then oldest first.
	ListDeviceTokensMany(ctx context.Context, customerID string, deviceIDs []string, now time.Time) ([]*DeviceToken, error)
	// FindDeviceToken returns a token of a device of the customer, or
	// ENotFound.
	FindDeviceToken(ctx context.Context, customerID, deviceID, id string) (*DeviceToken, error)
	// DeleteDeviceToken removes a token of a device of the customer;
	// ENotFound.
	DeleteDeviceToken(ctx context.Context, customerID, deviceID, id string) error
}

var _ DeviceTokenRevoker = (*DeviceTokenService)(nil)

// MaxDeviceTokens bounds the live tokens of one device.
const MaxDeviceTokens = 100

// DeviceTokenInput is what a user gives to create a device token.
type DeviceTokenInput struct {
	Name string
	// Permissions is a subset of scopes.AllPermissions; nil means all.
	Permissions []string
	// ExpiresAt is nil for a token that never expires.
	ExpiresAt *time.Time
}

// DeviceTokenClientID returns the client id that the token families of a
// device's tokens are filed under in the token store: revoking that
// "client" revokes every token of the device at once.
func DeviceTokenClientID(deviceID string) string { return "device:" + deviceID }

// DeviceTokenService holds the rules for device tokens: only `me` tokens
// manage them (the scopes table), and only for the user's customer's
// devices. The bearer resolver (oauth.Server.Principal) turns a device
// token into its device principal.
type DeviceTokenService struct {
	Store   DeviceTokenStore
	Devices DeviceStore
	Tokens  TokenStore
	// Key is the server key that tokens are hashed under.
	Key []byte
	Now func() time.Time
}

// Create issues a token for a device and returns it with the token itself,
// which is never shown again. EInvalid pointing at "name", "permissions" or
// "expires_at"; EConflict when the device has MaxDeviceTokens tokens
// already; ENotFound, EUnauthenticated, EForbidden.
func (s *DeviceTokenService) Create(ctx context.Context, deviceID string, in DeviceTokenInput) (*DeviceToken, string, error) {
	p, err := authorize(ctx, scopes.OpDeviceTokens)
	if err != nil {
		return nil, "", err
	}
	d, err := s.findDevice(ctx, p, deviceID)
	if err != nil {
		return nil, "", err
	}
	now := nowUTC(s.Now)
	name, err := normalizeName("name", in.Name)
	if err != nil {
		return nil, "", err
	}
	perms, err := normalizePermissions(in.Permissions)
	if err != nil {
		return nil, "", err
	}
	var expires time.Time
	if in.ExpiresAt != nil {
		expires = in.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !expires.After(now) {
			return nil, "", Invalidf("expires_at", "expires_at must be in the future")
		}
	}
	live, err := s.Store.ListDeviceTokens(ctx, p.CustomerID, d.ID, now)
	if err != nil {
		return nil, "", err
	}
	if len(live) >= MaxDeviceTokens {
		return nil, "", Errorf(EConflict, "a device may have at most %d tokens; revoke one first", MaxDeviceTokens)
	}
	fam := &TokenFamily{ID: NewFamilyID(), ClientID: DeviceTokenClientID(d.ID), CustomerID: p.CustomerID,
		DeviceID: d.ID, ExpiresAt: expires}
	secret := NewToken(DeviceTokenPrefix, fam.ID)
	dt := &DeviceToken{ID: NewID(), CustomerID: p.CustomerID, DeviceID: d.ID, FamilyID: fam.ID, Name: name,
		Permissions: perms, CreatedAt: now}
	if !expires.IsZero() {
		dt.ExpiresAt = &expires
	}
	tok := &Token{Kind: TokenDevice, FamilyID: fam.ID, Hash: KeyedHash(s.Key, secret), ClientID: p.ClientID,
		CustomerID: p.CustomerID, DeviceID: d.ID, ID: dt.ID, Name: name, Permissions: slices.Clone(perms),
		IssuedAt: now, ExpiresAt: expires}
	if err := s.Tokens.CreateFamily(ctx, fam, tok); err != nil {
		return nil, "", err
	}
	// The catalogue row last: if the device was deleted meanwhile, its
	// foreign key fails and the family is revoked again here.
	if err := s.Store.CreateDeviceToken(ctx, dt); err != nil {
		if rerr := s.Tokens.RevokeFamily(context.WithoutCancel(ctx), fam.ID); rerr != nil {
			return nil, "", errors.Join(err, rerr)
		}
		return nil, "", err
	}
	return dt, secret, nil
}

// List returns the live tokens of a device, without their secrets.
// ENotFound, EUnauthenticated, EForbidden.
func (s *DeviceTokenService) List(ctx context.Context, deviceID string) ([]*DeviceToken, error) {
	p, err := authorize(ctx, scopes.OpDeviceTokens)
	if err != nil {
		return nil, err
	}
	d, err := s.findDevice(ctx, p, deviceID)
	if err != nil {
		return nil, err
	}
	return s.Store.ListDeviceTokens(ctx, p.CustomerID, d.ID, nowUTC(s.Now))
}

// Read returns one live token of a device, without its secret, as List
// shows it: an expired or revoked token, or another device's, is
// ENotFound. ENotFound, EUnauthenticated, EForbidden.
func (s *DeviceTokenService) Read(ctx context.Context, deviceID, tokenID string) (*DeviceToken, error) {
	p, err := authorize(ctx, scopes.OpDeviceTokens)
	if err != nil {
		return nil, err
	}
	d, err := s.findDevice(ctx, p, deviceID)
	if err != nil {
		return nil, err
	}
	notFound := Errorf(ENotFound, "device token %q not found", tokenID)
	if !ValidID(tokenID) {
		return nil, notFound
	}
	dt, err := s.Store.FindDeviceToken(ctx, p.CustomerID, d.ID, tokenID)
	if err != nil {
		return nil, err
	}
	if dt.ExpiresAt != nil && !dt.ExpiresAt.After(nowUTC(s.Now)) {
		return nil, notFound
	}
	return dt, nil
}

// Revoke revokes a token of a device at once: every replica refuses it from
// the moment Revoke returns. ENotFound (for the device, or the token),
// EUnauthenticated, EForbidden.
func (s *DeviceTokenService) Revoke(ctx context.Context, deviceID, tokenID string) error {
	p, err := authorize(ctx, scopes.OpDeviceTokens)
	if err != nil {
		return err
	}
	d, err := s.findDevice(ctx, p, deviceID)
	if err != nil {
		return err
	}
	if !ValidID(tokenID) {
		return Errorf(ENotFound, "device token %q not found", tokenID)
	}
	dt, err := s.Store.FindDeviceToken(ctx, p.CustomerID, d.ID, tokenID)
	if err != nil {
		return err
	}
	if err := s.Tokens.RevokeFamily(ctx, dt.FamilyID); err != nil {
		return err
	}
	return s.Store.DeleteDeviceToken(ctx, p.CustomerID, d.ID, tokenID)
}

// RevokeDeviceTokens revokes every token of a device; DeviceService.Delete
// calls it once the device is gone (its catalogue rows go with it). It
// checks no principal: the caller has.
func (s *DeviceTokenService) RevokeDeviceTokens(ctx context.Context, customerID, deviceID string) error {
	return s.Tokens.RevokeClient(ctx, DeviceTokenClientID(deviceID))
}

// findDevice returns a device of the principal's customer, or ENotFound.
func (s *DeviceTokenService) findDevice(ctx context.Context, p *scopes.Principal, id string) (*Device, error) {
	if !ValidID(id) {
		return nil, errDeviceNotFound(id)
	}
	return s.Devices.FindDevice(ctx, p.CustomerID, id)
}

// normalizePermissions checks a permission list: nil means every
// permission; otherwise a non-empty subset of scopes.AllPermissions,
// returned in their canonical order without duplicates. EInvalid pointing
// at "permissions".
func normalizePermissions(perms []string) ([]string, error) {
	all := scopes.AllPermissions()
	if perms == nil {
		return all, nil
	}
	if len(perms) == 0 {
		return nil, Invalidf("permissions", "permissions must not be empty (omit it for all of %s)", strings.Join(all, ", "))
	}
	var named []string
	for _, p := range perms {
		if name, ok := strings.CutPrefix(p, scopes.ResourcesCall+":"); ok {
			if !ValidResourceName(name) {
				return nil, Invalidf("permissions", "%q names no resource (resources:call:NAME)", p)
			}
			if !slices.Contains(named, p) {
				named = append(named, p)
			}
			continue
		}
		if !slices.Contains(all, p) {
			return nil, Invalidf("permissions", "unknown permission %q; known: %s, or %s:NAME for one resource", p,
				strings.Join(all, ", "), scopes.ResourcesCall)
		}
	}
	out := []string{}
	for _, p := range all {
		if slices.Contains(perms, p) {
			out = append(out, p)
		}
	}
	if !slices.Contains(out, scopes.ResourcesCall) {
		// resources:call reaches every resource already.
		slices.Sort(named)
		out = append(out, named...)
	}
	return out, nil
}
