package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// ApplicationStore keeps OAuth applications in the SQL database; the list
// settings are JSON arrays.
type ApplicationStore struct {
	db *DB
}

var _ resource.ApplicationStore = (*ApplicationStore)(nil)

// NewApplicationStore returns an ApplicationStore on db.
func NewApplicationStore(db *DB) *ApplicationStore {
	return &ApplicationStore{db: db}
}

// applicationRow is an applications row: resource.Application with its list
// settings as JSON columns. Its fields are in the order of
// applicationColumns.
type applicationRow struct {
	ID                          string     `db:"id"`
	CustomerID                  string     `db:"customer_id"`
	OwnerID                     string     `db:"owner_id"`
	Name                        string     `db:"name"`
	SecretHash                  string     `db:"secret_hash"`
	GrantTypes                  stringList `db:"grant_types"`
	RedirectURIs                stringList `db:"redirect_uris"`
	PostLogoutRedirectURIs      stringList `db:"post_logout_redirect_uris"`
	Scopes                      stringList `db:"scopes"`
	TokenEndpointAuthMethod     string     `db:"token_endpoint_auth_method"`
	PKCEEnforcement             string     `db:"pkce_enforcement"`
	AccessTokenTTL              int        `db:"access_token_ttl"`
	RefreshTokenDuration        int        `db:"refresh_token_duration"`
	RefreshTokenRollingDuration int        `db:"refresh_token_rolling_duration"`
	DeviceTimeout               int        `db:"device_timeout"`
	DevicePollingInterval       int        `db:"device_polling_interval"`
	Enabled                     bool       `db:"enabled"`
	RedirectURIsTrusted         bool       `db:"redirect_uris_trusted"`
	LogoutRevokesTokens         bool       `db:"logout_revokes_tokens"`
	JWTAccessTokens             bool       `db:"jwt_access_tokens"`
	CreatedAt                   time.Time  `db:"created_at"`
	UpdatedAt                   time.Time  `db:"updated_at"`
}

const applicationColumns = `id, customer_id, owner_id, name, secret_hash,
	grant_types, redirect_uris, post_logout_redirect_uris, scopes,
	token_endpoint_auth_method, pkce_enforcement,
	access_token_ttl, refresh_token_duration, refresh_token_rolling_duration,
	device_timeout, device_polling_interval, enabled, redirect_uris_trusted,
	logout_revokes_tokens, jwt_access_tokens, created_at, updated_at`

// newApplicationRow returns the row of a, with its times as the database
// keeps them.
func newApplicationRow(a *resource.Application) *applicationRow {
	return &applicationRow{
		ID: a.ID, CustomerID: a.CustomerID, OwnerID: a.OwnerID, Name: a.Name, SecretHash: a.SecretHash,
		GrantTypes: resource.Names(a.GrantTypes), RedirectURIs: a.RedirectURIs, PostLogoutRedirectURIs: a.PostLogoutRedirectURIs,
		Scopes: a.Scopes, TokenEndpointAuthMethod: string(a.TokenEndpointAuthMethod), PKCEEnforcement: string(a.PKCEEnforcement),
		AccessTokenTTL: a.AccessTokenTTL, RefreshTokenDuration: a.RefreshTokenDuration,
		RefreshTokenRollingDuration: a.RefreshTokenRollingDuration, DeviceTimeout: a.DeviceTimeout,
		DevicePollingInterval: a.DevicePollingInterval, Enabled: a.Enabled, RedirectURIsTrusted: a.RedirectURIsTrusted,
		LogoutRevokesTokens: a.LogoutRevokesTokens, JWTAccessTokens: a.JWTAccessTokens,
		CreatedAt: dbTime(a.CreatedAt), UpdatedAt: dbTime(a.UpdatedAt),
	}
}

// application returns the resource value of r.
func (r *applicationRow) application() *resource.Application {
	return &resource.Application{
		ID: r.ID, CustomerID: r.CustomerID, OwnerID: r.OwnerID, Name: r.Name, SecretHash: r.SecretHash,
		GrantTypes: resource.ValuesOf[resource.GrantType](r.GrantTypes), RedirectURIs: r.RedirectURIs, PostLogoutRedirectURIs: r.PostLogoutRedirectURIs,
		Scopes: r.Scopes, TokenEndpointAuthMethod: resource.AuthMethod(r.TokenEndpointAuthMethod),
		PKCEEnforcement: resource.PKCELevel(r.PKCEEnforcement),
		AccessTokenTTL:  r.AccessTokenTTL, RefreshTokenDuration: r.RefreshTokenDuration,
		RefreshTokenRollingDuration: r.RefreshTokenRollingDuration, DeviceTimeout: r.DeviceTimeout,
		DevicePollingInterval: r.DevicePollingInterval, Enabled: r.Enabled, RedirectURIsTrusted: r.RedirectURIsTrusted,
		LogoutRevokesTokens: r.LogoutRevokesTokens, JWTAccessTokens: r.JWTAccessTokens,
		CreatedAt: dbTime(r.CreatedAt), UpdatedAt: dbTime(r.UpdatedAt),
	}
}

// CreateApplication inserts a, storing its times in UTC at microsecond
// precision (and setting a's times to the stored values). EConflict when the
// id is taken; ENotFound when the customer or the owner does not exist.
func (s *ApplicationStore) CreateApplication(ctx context.Context, a *resource.Application) error {
	r := newApplicationRow(a)
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO applications (`+applicationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.ID, r.CustomerID, r.OwnerID, r.Name, r.SecretHash,
		r.GrantTypes, r.RedirectURIs, r.PostLogoutRedirectURIs, r.Scopes,
		r.TokenEndpointAuthMethod, r.PKCEEnforcement,
		r.AccessTokenTTL, r.RefreshTokenDuration, r.RefreshTokenRollingDuration,
		r.DeviceTimeout, r.DevicePollingInterval, r.Enabled, r.RedirectURIsTrusted,
		r.LogoutRevokesTokens, r.JWTAccessTokens, r.CreatedAt, r.UpdatedAt)
	switch {
	case err == nil:
		a.CreatedAt, a.UpdatedAt = r.CreatedAt, r.UpdatedAt
		return nil
	case isUniqueViolation(err, "id"):
		return resource.Errorf(resource.EConflict, "application %q already exists", a.ID)
	case isForeignKeyViolation(err):
		return resource.Errorf(resource.ENotFound, "owner %q of customer %q not found", a.OwnerID, a.CustomerID)
	default:
		return fmt.Errorf("create application: %w", err)
	}
}

// FindApplication returns the application with the given id, or ENotFound.
func (s *ApplicationStore) FindApplication(ctx context.Context, id string) (*resource.Application, error) {
	var r applicationRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+applicationColumns+` FROM applications WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, resource.Errorf(resource.ENotFound, "application %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find application: %w", err)
	}
	return r.application(), nil
}

// ListApplications returns the page of a customer's applications that skips
// offset of them and holds at most limit, oldest first, and how many the
// customer has in all. A negative offset counts as 0; a limit of 0 or less
// returns no applications, only the total.
func (s *ApplicationStore) ListApplications(ctx context.Context, customerID string, offset, limit int) ([]*resource.Application, int, error) {
	offset, limit = max(offset, 0), max(limit, 0)
	var total int
	if err := s.db.GetContext(ctx, &total, s.db.Rebind(`SELECT COUNT(*) FROM applications WHERE customer_id = ?`), customerID); err != nil {
		return nil, 0, fmt.Errorf("count applications: %w", err)
	}
	apps := []*resource.Application{}
	if limit == 0 || offset >= total {
		return apps, total, nil
	}
	var rows []applicationRow
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+applicationColumns+` FROM applications
		WHERE customer_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?`), customerID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list applications: %w", err)
	}
	for i := range rows {
		apps = append(apps, rows[i].application())
	}
	return apps, total, nil
}

// UpdateApplication writes every mutable field of a: everything but its id,
// customer, owner and creation time. ENotFound.
func (s *ApplicationStore) UpdateApplication(ctx context.Context, a *resource.Application) error {
	r := newApplicationRow(a)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE applications SET
		name = ?, secret_hash = ?,
		grant_types = ?, redirect_uris = ?, post_logout_redirect_uris = ?, scopes = ?,
		token_endpoint_auth_method = ?, pkce_enforcement = ?,
		access_token_ttl = ?, refresh_token_duration = ?, refresh_token_rolling_duration = ?,
		device_timeout = ?, device_polling_interval = ?, enabled = ?, redirect_uris_trusted = ?,
		logout_revokes_tokens = ?, jwt_access_tokens = ?, updated_at = ?
		WHERE id = ?`),
		r.Name, r.SecretHash,
		r.GrantTypes, r.RedirectURIs, r.PostLogoutRedirectURIs, r.Scopes,
		r.TokenEndpointAuthMethod, r.PKCEEnforcement,
		r.AccessTokenTTL, r.RefreshTokenDuration, r.RefreshTokenRollingDuration,
		r.DeviceTimeout, r.DevicePollingInterval, r.Enabled, r.RedirectURIsTrusted,
		r.LogoutRevokesTokens, r.JWTAccessTokens, r.UpdatedAt,
		r.ID)
	if err != nil {
		return fmt.Errorf("update application: %w", err)
	}
	if err := changedRow(res, resource.Errorf(resource.ENotFound, "application %q not found", a.ID)); err != nil {
		return err
	}
	a.UpdatedAt = r.UpdatedAt
	return nil
}

// DeleteApplication removes the application; ENotFound.
func (s *ApplicationStore) DeleteApplication(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM applications WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete application: %w", err)
	}
	return changedRow(res, resource.Errorf(resource.ENotFound, "application %q not found", id))
}
