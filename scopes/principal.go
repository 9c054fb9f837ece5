// Package scopes knows who is calling: the scope names and device
// permissions of assetgate's tokens, the Principal a bearer token resolves
// to and how it travels in a request's context, the one table that says which
// principal may perform which operation (table.go), and the bearer
// middleware with its RFC 6750 challenges. It depends on the standard library
// only, so every other package may import it.
package scopes

import (
	"context"
	"slices"
)

// Scope names. A user token carries Me; an application token carries App
// and/or Basic.
const (
	Me    = "me"
	App   = "app"
	Basic = "basic"
)

// Device token permissions. A device token acts on its own device only, and
// only as far as its permissions reach.
const (
	DeviceRead  = "device:read"
	EventsRead  = "events:read"
	EventsWrite = "events:write"
	// ResourcesCall lets a device token call every resource of its
	// device; ResourcesCall + ":" + NAME only the resource NAME.
	ResourcesCall = "resources:call"
)

// AllPermissions lists every device token permission.
func AllPermissions() []string { return []string{DeviceRead, EventsRead, EventsWrite, ResourcesCall} }

// Kind is what a principal is.
type Kind string

// Kinds of principals.
const (
	KindUser        Kind = "user"
	KindApplication Kind = "application"
	KindDevice      Kind = "device"
)

// Principal is who a bearer token speaks for. Every principal belongs to
// exactly one customer and may only ever see that customer's data.
type Principal struct {
	Kind Kind
	// CustomerID is the tenant of the principal; never empty.
	CustomerID string
	// UserID is the user of a user token; "" otherwise.
	UserID string
	// ClientID is the application the token was issued to (for device
	// tokens, the application that created it, if any).
	ClientID string
	// DeviceID is the device of a device token; "" otherwise.
	DeviceID string
	// TokenID names the token in lists (device tokens); may be "".
	TokenID string
	// FamilyID is the token family (grant) the token belongs to, so that a
	// password change can revoke every other family of the user.
	FamilyID string
	// Scopes are the granted scopes of a user or application token.
	Scopes []string
	// Permissions are the permissions of a device token.
	Permissions []string
}

// HasScope reports whether the principal was granted scope s.
func (p *Principal) HasScope(s string) bool {
	return p != nil && slices.Contains(p.Scopes, s)
}

// HasPermission reports whether the principal is a device token with
// permission perm.
func (p *Principal) HasPermission(perm string) bool {
	return p != nil && p.Kind == KindDevice && slices.Contains(p.Permissions, perm)
}

// IsUser reports whether the principal is a user (a `me` token).
func (p *Principal) IsUser() bool { return p != nil && p.Kind == KindUser }

// IsApplication reports whether the principal is an application (a client
// credentials token).
func (p *Principal) IsApplication() bool { return p != nil && p.Kind == KindApplication }

// IsDevice reports whether the principal is a device token.
func (p *Principal) IsDevice() bool { return p != nil && p.Kind == KindDevice }

// principalKey is the context key of the principal.
type principalKey struct{}

// NewContext returns a copy of ctx that carries p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal carried by ctx; ok is false when there is
// none (or it is nil).
func FromContext(ctx context.Context) (p *Principal, ok bool) {
	p, _ = ctx.Value(principalKey{}).(*Principal)
	return p, p != nil
}
