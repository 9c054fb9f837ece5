package resource

import (
	"context"
	"errors"

	"github.com/assetgate/assetgate/scopes"
)

// Me returns the user of the principal and the user's customer (GET
// /users/me). Only `me` tokens may call it. ENotFound when the user is gone;
// EUnauthenticated, EForbidden.
func (s *UserService) Me(ctx context.Context) (*User, *Customer, error) {
	p, err := authorize(ctx, scopes.OpCurrentUser)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.current(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.Customers.FindCustomer(ctx, u.CustomerID)
	if err != nil {
		return nil, nil, err
	}
	return u, c, nil
}

// Current returns the user of the principal without its customer, for
// callers that do not show the customer. Only `me` tokens may call it.
// ENotFound when the user is gone; EUnauthenticated, EForbidden.
func (s *UserService) Current(ctx context.Context) (*User, error) {
	p, err := authorize(ctx, scopes.OpCurrentUser)
	if err != nil {
		return nil, err
	}
	return s.current(ctx, p)
}

// ChangePassword replaces the principal's password (POST
// /users/me/password) and revokes every other grant of the user, so that
// only the session that changed it stays logged in. EInvalid (Field
// "password_confirmation") when the confirmation differs, (Field
// "password") when the new password is weak; EForbidden (Field
// "old_password") when the old password is wrong; EUnauthenticated,
// EForbidden for a token that is not a `me` token. The old password is
// checked like a login of the account, on the same counters (see
// checkOldPassword): ERateLimited past the limit, EUnavailable when the
// hasher is busy for too long.
func (s *UserService) ChangePassword(ctx context.Context, oldPassword, password, confirmation string) error {
	p, err := authorize(ctx, scopes.OpCurrentUser)
	if err != nil {
		return err
	}
	if s.Tokens == nil {
		return errors.New("resource: UserService.Tokens is not set")
	} else if s.Hasher == nil {
		return errNoHasher
	} else if s.Throttle == nil {
		return errNoThrottle
	}
	if password != confirmation {
		return Invalidf("password_confirmation", "password_confirmation does not match password")
	}
	if err := ValidatePassword("password", password); err != nil {
		return err
	}
	u, err := s.current(ctx, p)
	if err != nil {
		return err
	}
	if err := s.checkOldPassword(ctx, u, oldPassword); err != nil {
		return err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	if err := s.Store.UpdateUserPassword(ctx, u.ID, hash, nowUTC(s.Now)); err != nil {
		return err
	}
	// After the update, so a grant made with the old password in between
	// is revoked too.
	return s.Tokens.RevokeUser(ctx, u.ID, p.FamilyID)
}

// checkOldPassword checks the old password of a password change through
// the login throttle, as the account's own holder (the caller has the
// user's token): its failures make the token's family wait, as a pair's
// do, and are refused with ERateLimited without being checked while it
// waits; strangers' failures never lock it out, and it never locks the
// account for others. A right old password forgets the failures.
func (s *UserService) checkOldPassword(ctx context.Context, u *User, oldPassword string) error {
	self := u.ID
	if p, ok := scopes.FromContext(ctx); ok && p.FamilyID != "" {
		self = p.FamilyID
	}
	g, err := s.Throttle.Enter(NewContextWithLoginOrigin(ctx, LoginOrigin{Self: self}), "password", u.Email, u.ID)
	if err != nil {
		return err
	}
	ok, err := s.Hasher.Matches(ctx, u.PasswordHash, oldPassword)
	switch {
	case err != nil:
		g.Unchecked(ctx)
		return err
	case !ok:
		g.Failed(ctx)
		return &Error{Code: EForbidden, Field: "old_password", Message: "the old password is wrong"}
	}
	g.Succeeded(ctx)
	return nil
}

// current returns the principal's user, checking that it still belongs to
// the principal's customer; ENotFound otherwise.
func (s *UserService) current(ctx context.Context, p *scopes.Principal) (*User, error) {
	if !ValidID(p.UserID) {
		return nil, Errorf(ENotFound, "user not found")
	}
	u, err := s.Store.FindUser(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if u.CustomerID != p.CustomerID {
		return nil, Errorf(ENotFound, "user not found")
	}
	return u, nil
}
