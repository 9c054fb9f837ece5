// Package model holds the GraphQL types that no resource type binds to:
// connections, edges, inputs, payloads and enums (generated into
// models_gen.go from graph/schema), and the few hand-written ones here.
package model

import "github.com/assetgate/assetgate/resource"

// User is the current user as Query.me presents it: the user with the
// customer it belongs to, both read by one service call.
type User struct {
	*resource.User
	// Customer is the user's customer.
	Customer *resource.Customer
}
