package scopes

import "slices"

// Operation is a kind of thing a principal may ask to do. Every route of
// both APIs performs exactly one operation, and every operation has exactly
// one row in the table.
type Operation string

// Operations, one per row of the scopes table (see Table).
const (
	// OpCurrentUser is reading the current user and changing its password.
	OpCurrentUser Operation = "current_user"
	// OpApplications is listing, creating, reading, updating and deleting
	// OAuth applications and rotating their secrets.
	OpApplications Operation = "applications"
	// OpDevicesRead is reading devices.
	OpDevicesRead Operation = "devices:read"
	// OpDevicesWrite is creating, updating and deleting devices (including
	// a device's group relationship).
	OpDevicesWrite Operation = "devices:write"
	// OpGroupsRead is reading device groups and configurations.
	OpGroupsRead Operation = "groups:read"
	// OpGroupsWrite is writing device groups and configurations,
	// publishing configurations and assigning them to groups.
	OpGroupsWrite Operation = "groups:write"
	// OpGeogroupsRead is reading geogroups (geofences).
	OpGeogroupsRead Operation = "geogroups:read"
	// OpGeogroupsWrite is creating, updating and deleting geogroups.
	OpGeogroupsWrite Operation = "geogroups:write"
	// OpEventsRead is reading events and following the live stream.
	OpEventsRead Operation = "events:read"
	// OpEventsIngest is posting events.
	OpEventsIngest Operation = "events:ingest"
	// OpDevicesCall is calling a resource of a connected device.
	OpDevicesCall Operation = "devices:call"
	// OpDeviceTokens is listing, creating and revoking device tokens.
	OpDeviceTokens Operation = "device_tokens"
	// OpGrants is listing and withdrawing the consents the current user
	// gave applications.
	OpGrants Operation = "grants"
)

// Rule is one row of the scopes table: which scopes allow an operation, and
// which permission a device token needs for it (on its own device only).
type Rule struct {
	Op Operation
	// Description says what the operation covers, for documents and test
	// names.
	Description string
	// Scopes lists the scopes that allow the operation.
	Scopes []string
	// Permission is the device token permission that allows the operation,
	// or "" when device tokens may not perform it.
	Permission string
}

// table is THE scopes table; nothing else decides who may do what
// (docs/architecture.md lists where it is enforced). It is never modified:
// Table hands out copies.
var table = []Rule{
	{Op: OpCurrentUser, Description: "current user, change password", Scopes: []string{Me}},
	{Op: OpApplications, Description: "applications: list, create, read, update, delete, rotate secret", Scopes: []string{Me}},
	{Op: OpDevicesRead, Description: "devices: read", Scopes: []string{Me, App, Basic}, Permission: DeviceRead},
	{Op: OpDevicesWrite, Description: "devices: create, update, delete", Scopes: []string{Me, App}},
	{Op: OpGroupsRead, Description: "device groups, configurations: read", Scopes: []string{Me, App, Basic}},
	{Op: OpGroupsWrite, Description: "device groups, configurations: write, publish, assign", Scopes: []string{Me, App}},
	{Op: OpGeogroupsRead, Description: "geogroups: read", Scopes: []string{Me, App, Basic}},
	{Op: OpGeogroupsWrite, Description: "geogroups: create, update, delete", Scopes: []string{Me, App}},
	{Op: OpEventsRead, Description: "events: read, live stream", Scopes: []string{Me, App, Basic}, Permission: EventsRead},
	{Op: OpEventsIngest, Description: "events: ingest", Scopes: []string{App}, Permission: EventsWrite},
	{Op: OpDevicesCall, Description: "devices: call a resource of a connected device", Scopes: []string{Me, App}, Permission: ResourcesCall},
	{Op: OpDeviceTokens, Description: "device tokens: list, create, revoke", Scopes: []string{Me}},
	{Op: OpGrants, Description: "grants (consents given to applications): list, withdraw", Scopes: []string{Me}},
}

// Table returns a copy of the scopes table, one row per operation, in the
// order documents show them. The scope-matrix tests of both APIs are
// generated from it.
func Table() []Rule {
	out := make([]Rule, len(table))
	for i, r := range table {
		r.Scopes = slices.Clone(r.Scopes)
		out[i] = r
	}
	return out
}

// Lookup returns the row of op; ok is false for an operation without one.
func Lookup(op Operation) (r Rule, ok bool) {
	r, ok = lookup(op)
	r.Scopes = slices.Clone(r.Scopes)
	return r, ok
}

// lookup returns the row of op itself (callers must not change it).
func lookup(op Operation) (Rule, bool) {
	for _, r := range table {
		if r.Op == op {
			return r, true
		}
	}
	return Rule{}, false
}

// scopeKind says which kind of principal a scope is meant for: a scope only
// counts when held by that kind, so a token minted with a scope it should not
// carry grants nothing.
func scopeKind(scope string) Kind {
	switch scope {
	case Me:
		return KindUser
	case App, Basic:
		return KindApplication
	}
	return ""
}

// Allowed reports whether p may perform op according to the table. A nil
// principal, an operation without a row, and a principal without a customer
// are never allowed. For a device token Allowed checks the permission only;
// that the target is the token's own device is the caller's check.
func Allowed(p *Principal, op Operation) bool {
	if p == nil || p.CustomerID == "" {
		return false
	}
	r, ok := lookup(op) // no copy: Allowed runs on every request
	if !ok {
		return false
	}
	if p.Kind == KindDevice {
		return r.Permission != "" && p.DeviceID != "" && slices.Contains(p.Permissions, r.Permission)
	}
	for _, s := range p.Scopes {
		if slices.Contains(r.Scopes, s) && scopeKind(s) == p.Kind {
			return true
		}
	}
	return false
}
