package oauth

import (
	"context"

	oauth2 "github.com/go-oauth2/oauth2/v4"

	"github.com/assetgate/assetgate/resource"
)

// What the tests of package oauth_test reach inside a Server for.

// LibraryManager returns the oauth2.Manager that go-oauth2 runs on s.
func LibraryManager(s *Server) oauth2.Manager { return &manager{s: s} }

// LoadDeviceRecord returns the stored device authorization whose device
// code hashes to hash.
func (s *Server) LoadDeviceRecord(ctx context.Context, hash string) (*deviceRecord, error) {
	return s.loadDeviceRecord(ctx, hash)
}

// SetEphemeral makes s keep codes and sessions in st from now on.
func (s *Server) SetEphemeral(st resource.EphemeralStore) { s.ephemeral = st }

// DropGrant makes s forget a grant it dispatches itself.
func (s *Server) DropGrant(grant resource.GrantType) { delete(s.grants, grant) }
