package storage

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/assetgate/assetgate/resource"
)

// Geofence crossings at ingest.
//
// A group transaction (event_commit.go) that holds location events of
// devices whose customer has geogroups reads, after locking the devices'
// rows:
//
//  1. the boxes of those customers' geogroups, with the customers'
//     geofence_version, in one statement (so the version is the one of the
//     boxes read);
//  2. the devices' memberships (geofence_memberships);
//  3. the geometries of the geogroups whose box holds one of the points to
//     test, unless the committer has them cached (by id and updated_at).
//
// Then, in the devices' event order, each location event that becomes its
// device's position (none later by occurred_at; an older one changes
// nothing) is tested exactly against the geogroups whose box holds it,
// and every geogroup it enters or leaves adds a geofence event right after
// it. The memberships the device ends with are written in the same
// transaction. As the device's row stays locked until the commit (on
// SQLite, one writer at a time), two ingests of one device never decide
// from the same memberships: each crossing is one event.
//
// A geogroup created, changed or deleted adds one to its customer's
// geofence_version and touches no membership. A device whose memberships
// were decided at another version (or never) first decides them afresh,
// without events, from the position it had before the batch, and only then
// tests its new location: a changed or new geogroup yields crossings from
// the device's next move on, never a bogus one for where it already was.
// A deleted geogroup's memberships go with it (ON DELETE CASCADE), and
// nobody is told it was left.

// fenceGroup is a geogroup as the ingest tests it.
type fenceGroup struct {
	ID         string    `db:"id"`
	CustomerID string    `db:"customer_id"`
	MinLat     float64   `db:"min_lat"`
	MaxLat     float64   `db:"max_lat"`
	MinLon     float64   `db:"min_lon"`
	MaxLon     float64   `db:"max_lon"`
	UpdatedAt  time.Time `db:"updated_at"`
	Version    int64     `db:"geofence_version"`
	geometry   *resource.Geometry
}

// boxSlack widens the stored boxes a little against rounding (the exact
// test decides anyway).
const fenceBoxSlack = 1e-7

// mayHold reports whether the point may lie in the geogroup: whether its
// box (in unwrapped longitudes) holds it, one turn either way included.
func (g *fenceGroup) mayHold(lat, lon float64) bool {
	if lat < g.MinLat-fenceBoxSlack || lat > g.MaxLat+fenceBoxSlack {
		return false
	}
	for _, l := range [3]float64{lon, lon + 360, lon - 360} {
		if l >= g.MinLon-fenceBoxSlack && l <= g.MaxLon+fenceBoxSlack {
			return true
		}
	}
	return false
}

// fenceDevice is the membership state of one device during a group.
type fenceDevice struct {
	customer string
	// stored is what the database holds; inside what the device is in
	// now (valid once decided).
	stored, inside map[string]bool
	// current is false until the memberships were decided at the
	// customer's version (they are, up front, when the device's version
	// is the customer's).
	current bool
	changed bool
}

// fencer holds what a group transaction needs to find crossings.
type fencer struct {
	groups   map[string][]*fenceGroup // by customer, by id
	versions map[string]int64         // by customer
	devices  map[string]*fenceDevice
}

// geometryCache keeps parsed geometries by geogroup id, update time and
// the customer's geofence_version (which every change of a geogroup moves,
// even one within the same microsecond), so that a group transaction
// reads and parses only those it has not seen.
type geometryCache struct {
	mu sync.Mutex
	m  map[string]cachedGeometry
}

type cachedGeometry struct {
	updatedAt time.Time
	version   int64
	g         *resource.Geometry
}

// maxCachedGeometries bounds the cache (it starts over when full).
const maxCachedGeometries = 10000

func (c *geometryCache) get(id string, updatedAt time.Time, version int64) *resource.Geometry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok && e.updatedAt.Equal(updatedAt) && e.version == version {
		return e.g
	}
	return nil
}

func (c *geometryCache) put(id string, updatedAt time.Time, version int64, g *resource.Geometry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedGeometries {
		c.m = make(map[string]cachedGeometry)
	}
	c.m[id] = cachedGeometry{updatedAt: updatedAt, version: version, g: g}
}

// mayMove reports whether b holds a location event that may become the
// device's position.
func mayMove(d *deviceState, b *resource.EventBatch) bool {
	for _, e := range b.Events {
		if e.Type == resource.EventLocation && (d.LocationAt == nil || !e.OccurredAt.Before(*d.LocationAt)) {
			return true
		}
	}
	return false
}

// loadFences reads what the group needs to find the crossings of its
// location events; nil when no batch can cross anything (no location
// event that may move its device, or a customer without geogroups).
func (c *committer) loadFences(ctx context.Context, tx *Tx, devices map[string]*deviceState, live []*ingest) (*fencer, error) {
	var customers, ids []string
	for _, in := range live {
		d := devices[in.b.DeviceID]
		if d.Geofenced && mayMove(d, in.b) {
			customers, ids = append(customers, d.CustomerID), append(ids, d.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(customers)
	customers = slices.Compact(customers)
	slices.Sort(ids)
	ids = slices.Compact(ids)

	q, args, err := sqlx.In(`SELECT g.id, g.customer_id, g.min_lat, g.max_lat, g.min_lon, g.max_lon, g.updated_at, c.geofence_version
		FROM geogroups g JOIN customers c ON c.id = g.customer_id WHERE g.customer_id IN (?) ORDER BY g.id`, customers)
	if err != nil {
		return nil, err
	}
	var groups []*fenceGroup
	if err := tx.SelectContext(ctx, &groups, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("geofence geogroups: %w", err)
	}
	f := &fencer{groups: map[string][]*fenceGroup{}, versions: map[string]int64{}, devices: map[string]*fenceDevice{}}
	for _, g := range groups {
		g.UpdatedAt = dbTime(g.UpdatedAt)
		f.groups[g.CustomerID] = append(f.groups[g.CustomerID], g)
		f.versions[g.CustomerID] = g.Version
	}
	if len(groups) == 0 {
		return nil, nil // the geogroups were deleted since the devices were read
	}

	q, args, err = sqlx.In(`SELECT device_id, geogroup_id FROM geofence_memberships WHERE device_id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Device   string `db:"device_id"`
		Geogroup string `db:"geogroup_id"`
	}
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("geofence memberships: %w", err)
	}
	for _, id := range ids {
		d := devices[id]
		if _, ok := f.versions[d.CustomerID]; !ok {
			continue
		}
		f.devices[id] = &fenceDevice{customer: d.CustomerID, stored: map[string]bool{},
			current: d.GeofenceVersion.Valid && d.GeofenceVersion.Int64 == f.versions[d.CustomerID]}
	}
	for _, r := range rows {
		if fd := f.devices[r.Device]; fd != nil {
			fd.stored[r.Geogroup] = true
		}
	}
	for _, fd := range f.devices {
		if fd.current {
			fd.inside = maps.Clone(fd.stored)
		}
	}
	if err := c.loadGeometries(ctx, tx, f, devices, live); err != nil {
		return nil, err
	}
	return f, nil
}

// loadGeometries sets the geometry of every geogroup whose box holds a
// point the group will test: a location of the batches, or the previous
// position of a device whose memberships are decided afresh.
func (c *committer) loadGeometries(ctx context.Context, tx *Tx, f *fencer, devices map[string]*deviceState, live []*ingest) error {
	need := map[string]*fenceGroup{}
	mark := func(customer string, lat, lon float64) {
		for _, g := range f.groups[customer] {
			if g.geometry == nil && need[g.ID] == nil && g.mayHold(lat, lon) {
				if g.geometry = c.geoms.get(g.ID, g.UpdatedAt, g.Version); g.geometry == nil {
					need[g.ID] = g
				}
			}
		}
	}
	for _, in := range live {
		fd := f.devices[in.b.DeviceID]
		if fd == nil {
			continue
		}
		if d := devices[in.b.DeviceID]; !fd.current && d.Latitude.Valid && d.Longitude.Valid {
			mark(fd.customer, d.Latitude.Float64, d.Longitude.Float64)
		}
		for _, e := range in.b.Events {
			if e.Type == resource.EventLocation {
				lat, lon := location(e)
				mark(fd.customer, lat, lon)
			}
		}
	}
	if len(need) == 0 {
		return nil
	}
	ids := make([]string, 0, len(need))
	for id := range need {
		ids = append(ids, id)
	}
	q, args, err := sqlx.In(`SELECT id, geometry, updated_at FROM geogroups WHERE id IN (?)`, ids)
	if err != nil {
		return err
	}
	var rows []geogroupRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("geofence geometries: %w", err)
	}
	for _, r := range rows {
		g, err := resource.ParseGeometry("geometry", []byte(r.Geometry))
		if err != nil {
			return fmt.Errorf("geogroup %s: stored geometry: %w", r.ID, err)
		}
		// The geometry may be newer than the version read with the boxes:
		// cached under the boxes' version, it serves only until the next
		// version, from which devices decide afresh anyway.
		fg := need[r.ID]
		c.geoms.put(r.ID, dbTime(r.UpdatedAt), fg.Version, g)
		fg.geometry = g
	}
	// A geogroup deleted since the boxes were read has no geometry: it
	// holds nothing (and its memberships are gone with it).
	return nil
}

// location returns the position of a location event.
func location(e *resource.Event) (lat, lon float64) {
	lat, _ = e.Payload[resource.PayloadLatitude].(float64)
	lon, _ = e.Payload[resource.PayloadLongitude].(float64)
	return lat, lon
}

// insideOf returns the geogroups of a customer that hold the point.
func (f *fencer) insideOf(customer string, lat, lon float64) map[string]bool {
	out := map[string]bool{}
	for _, g := range f.groups[customer] {
		if g.geometry != nil && g.mayHold(lat, lon) && g.geometry.Contains(lat, lon) {
			out[g.ID] = true
		}
	}
	return out
}

// cross moves the device d to the location of loc, which becomes its
// position, and returns the geofence events of the crossings, those it
// leaves first, each set in geogroup id order. d is the device as it was
// before the batch (its position is the previous one until assign is
// done); nil for a device that crosses nothing.
func (f *fencer) cross(d *deviceState, loc *resource.Event) []*resource.Event {
	if f == nil {
		return nil
	}
	fd := f.devices[d.ID]
	if fd == nil {
		return nil
	}
	if !fd.current {
		fd.inside = map[string]bool{}
		if d.Latitude.Valid && d.Longitude.Valid {
			fd.inside = f.insideOf(fd.customer, d.Latitude.Float64, d.Longitude.Float64)
		}
		fd.current, fd.changed = true, true
	}
	lat, lon := location(loc)
	now := f.insideOf(fd.customer, lat, lon)
	var out []*resource.Event
	for _, g := range f.groups[fd.customer] { // in id order
		if fd.inside[g.ID] && !now[g.ID] {
			out = append(out, resource.NewGeofenceEvent(loc, resource.GeofenceLeft, g.ID))
		}
	}
	for _, g := range f.groups[fd.customer] {
		if now[g.ID] && !fd.inside[g.ID] {
			out = append(out, resource.NewGeofenceEvent(loc, resource.GeofenceEntered, g.ID))
		}
	}
	fd.inside, fd.changed = now, true
	return out
}

// finish writes the memberships the devices ended with and sets their
// geofence_version in their state (updateDevices writes it).
func (f *fencer) finish(ctx context.Context, tx *Tx, devices map[string]*deviceState) error {
	if f == nil {
		return nil
	}
	var addDev, addGroup, delDev, delGroup []string
	for id, fd := range f.devices {
		if !fd.changed {
			continue
		}
		d := devices[id]
		d.GeofenceVersion = sql.NullInt64{Int64: f.versions[fd.customer], Valid: true}
		d.changed = true
		for g := range fd.inside {
			if !fd.stored[g] {
				addDev, addGroup = append(addDev, id), append(addGroup, g)
			}
		}
		for g := range fd.stored {
			if !fd.inside[g] {
				delDev, delGroup = append(delDev, id), append(delGroup, g)
			}
		}
	}
	// Inserts first: an insert's foreign key check waits for a geogroup
	// being deleted, whose cascade may wait for a membership row; with the
	// deletes after, this transaction holds no membership row yet when it
	// waits, so the two never deadlock.
	if len(addDev) > 0 {
		if err := writeMemberships(ctx, tx, true, addDev, addGroup); err != nil {
			return fmt.Errorf("geofence memberships: %w", err)
		}
	}
	if len(delDev) > 0 {
		if err := writeMemberships(ctx, tx, false, delDev, delGroup); err != nil {
			return fmt.Errorf("geofence memberships: %w", err)
		}
	}
	return nil
}

// membershipChunk bounds the pairs of one statement on SQLite.
const membershipChunk = 400

// writeMemberships inserts (add) or deletes the (device, geogroup) pairs:
// on PostgreSQL one statement from arrays, on SQLite one per chunk.
func writeMemberships(ctx context.Context, tx *Tx, add bool, devs, groups []string) error {
	if tx.dialect == Postgres {
		q := `DELETE FROM geofence_memberships m USING unnest($1::text[], $2::text[]) AS v(device_id, geogroup_id)
			WHERE m.device_id = v.device_id AND m.geogroup_id = v.geogroup_id`
		if add {
			q = `INSERT INTO geofence_memberships (device_id, geogroup_id)
				SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`
		}
		_, err := tx.ExecContext(ctx, q, devs, groups)
		return err
	}
	for start := 0; start < len(devs); start += membershipChunk {
		end := min(start+membershipChunk, len(devs))
		args := make([]any, 0, 2*(end-start))
		q := `INSERT INTO geofence_memberships (device_id, geogroup_id) VALUES `
		if !add {
			q = `DELETE FROM geofence_memberships WHERE `
		}
		for i := start; i < end; i++ {
			switch {
			case i > start && add:
				q += ", "
			case i > start:
				q += " OR "
			}
			if add {
				q += "(?, ?)"
			} else {
				q += "(device_id = ? AND geogroup_id = ?)"
			}
			args = append(args, devs[i], groups[i])
		}
		if add {
			q += " ON CONFLICT DO NOTHING"
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}
