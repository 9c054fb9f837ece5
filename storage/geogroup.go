package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// GeogroupStore keeps geogroups in the SQL database: the geometry as its
// GeoJSON text, with its bounding box in columns of their own.
type GeogroupStore struct {
	db *DB
}

var _ resource.GeogroupStore = (*GeogroupStore)(nil)

// NewGeogroupStore returns a GeogroupStore on db.
func NewGeogroupStore(db *DB) *GeogroupStore {
	return &GeogroupStore{db: db}
}

type geogroupRow struct {
	ID         string    `db:"id"`
	CustomerID string    `db:"customer_id"`
	Name       string    `db:"name"`
	Geometry   string    `db:"geometry"`
	CreatedAt  time.Time `db:"created_at"`
	UpdatedAt  time.Time `db:"updated_at"`
}

const geogroupColumns = `id, customer_id, name, geometry, created_at, updated_at`

func (r *geogroupRow) geogroup() (*resource.Geogroup, error) {
	g, err := resource.ParseGeometry("geometry", []byte(r.Geometry))
	if err != nil {
		return nil, fmt.Errorf("geogroup %s: stored geometry: %w", r.ID, err)
	}
	return &resource.Geogroup{
		ID: r.ID, CustomerID: r.CustomerID, Name: r.Name, Geometry: g,
		CreatedAt: dbTime(r.CreatedAt), UpdatedAt: dbTime(r.UpdatedAt),
	}, nil
}

var geogroupSorts = map[string]sortColumn{
	"name":       {expr: "lower(name)"},
	"created_at": {expr: "created_at"},
}

// geometryColumns returns the GeoJSON text and the box of a geometry.
func geometryColumns(g *resource.Geometry) (string, [4]float64, error) {
	b, err := g.MarshalJSON()
	if err != nil {
		return "", [4]float64{}, err
	}
	minLat, maxLat, minLon, maxLon := g.Bounds()
	for _, v := range []float64{minLat, maxLat, minLon, maxLon} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", [4]float64{}, errors.New("geometry without bounds")
		}
	}
	return string(b), [4]float64{minLat, maxLat, minLon, maxLon}, nil
}

// CreateGeogroup inserts g. ENotFound for an unknown customer.
func (s *GeogroupStore) CreateGeogroup(ctx context.Context, g *resource.Geogroup) error {
	geom, box, err := geometryColumns(g.Geometry)
	if err != nil {
		return fmt.Errorf("create geogroup: %w", err)
	}
	created, updated := dbTime(g.CreatedAt), dbTime(g.UpdatedAt)
	err = s.db.WithTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO geogroups
			(id, customer_id, name, geometry, min_lat, max_lat, min_lon, max_lon, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			g.ID, g.CustomerID, g.Name, geom, box[0], box[1], box[2], box[3], created, updated); err != nil {
			return err
		}
		return bumpGeofenceVersion(ctx, tx, g.CustomerID)
	})
	switch {
	case isUniqueViolation(err, "id"):
		return resource.Errorf(resource.EConflict, "geogroup %q already exists", g.ID)
	case isForeignKeyViolation(err):
		return resource.Errorf(resource.ENotFound, "customer %q not found", g.CustomerID)
	case err != nil:
		return fmt.Errorf("create geogroup: %w", err)
	}
	g.CreatedAt, g.UpdatedAt = created, updated
	return nil
}

// FindGeogroup returns a geogroup of the customer, or ENotFound.
func (s *GeogroupStore) FindGeogroup(ctx context.Context, customerID, id string) (*resource.Geogroup, error) {
	var r geogroupRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+geogroupColumns+` FROM geogroups WHERE customer_id = ? AND id = ?`), customerID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, resource.Errorf(resource.ENotFound, "geogroup %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find geogroup: %w", err)
	}
	return r.geogroup()
}

// ListGeogroups returns the page of the customer's geogroups that q
// selects and how many match in all.
func (s *GeogroupStore) ListGeogroups(ctx context.Context, customerID string, q resource.GeogroupQuery) ([]*resource.Geogroup, int, error) {
	c := &conds{}
	c.add("customer_id = ?", customerID)
	if q.Filter.Search != "" {
		c.add(`lower(name) LIKE ? ESCAPE '\'`, likePattern(q.Filter.Search))
	}
	if len(q.Filter.Names) > 0 {
		c.in("name", q.Filter.Names)
	}
	order, err := orderBy(q.Sort, geogroupSorts)
	if err != nil {
		return nil, 0, err
	}
	rows, total, err := listPage[geogroupRow](ctx, s.db, `SELECT `+geogroupColumns+` FROM geogroups`, countAll("geogroups", c),
		c, order, q.Offset, q.Limit)
	if err != nil {
		return nil, 0, fmt.Errorf("geogroups: %w", err)
	}
	out := make([]*resource.Geogroup, len(rows))
	for i := range rows {
		if out[i], err = rows[i].geogroup(); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// UpdateGeogroup writes the name, geometry and update time of g.
// ENotFound.
func (s *GeogroupStore) UpdateGeogroup(ctx context.Context, g *resource.Geogroup) error {
	geom, box, err := geometryColumns(g.Geometry)
	if err != nil {
		return fmt.Errorf("update geogroup: %w", err)
	}
	updated := dbTime(g.UpdatedAt)
	err = s.db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE geogroups SET name = ?, geometry = ?,
			min_lat = ?, max_lat = ?, min_lon = ?, max_lon = ?, updated_at = ? WHERE customer_id = ? AND id = ?`),
			g.Name, geom, box[0], box[1], box[2], box[3], updated, g.CustomerID, g.ID)
		if err != nil {
			return fmt.Errorf("update geogroup: %w", err)
		}
		if err := changedRow(res, resource.Errorf(resource.ENotFound, "geogroup %q not found", g.ID)); err != nil {
			return err
		}
		return bumpGeofenceVersion(ctx, tx, g.CustomerID)
	})
	if err != nil {
		return err
	}
	g.UpdatedAt = updated
	return nil
}

// bumpGeofenceVersion adds one to the customer's geofence_version, in the
// transaction that changes one of its geogroups: devices then decide
// their memberships afresh, without events, at their next location
// (geofence.go). Memberships themselves are not touched here (a deleted
// geogroup's go with it).
func bumpGeofenceVersion(ctx context.Context, tx *Tx, customerID string) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE customers SET geofence_version = geofence_version + 1 WHERE id = ?`), customerID); err != nil {
		return fmt.Errorf("geofence version: %w", err)
	}
	return nil
}

// DeleteGeogroup removes a geogroup of the customer. ENotFound.
func (s *GeogroupStore) DeleteGeogroup(ctx context.Context, customerID, id string) error {
	return s.db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM geogroups WHERE customer_id = ? AND id = ?`), customerID, id)
		if err != nil {
			return fmt.Errorf("delete geogroup: %w", err)
		}
		if err := changedRow(res, resource.Errorf(resource.ENotFound, "geogroup %q not found", id)); err != nil {
			return err
		}
		return bumpGeofenceVersion(ctx, tx, customerID)
	})
}
