package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/assetgate/assetgate/resource"
)

// The geogroup filters of device lists (docs/architecture.md,
// "Geogroups"). SQL narrows the devices to the geometry's bounding box
// (widened by the distance) through the (customer_id, latitude, longitude,
// id) index, reading only id and position; Go decides each of them exactly
// (resource.GeogroupMatch.Keep: point in polygon, great-circle distance to
// the boundary); the page query then names the decided ids. So the exact
// test happens before LIMIT/OFFSET and the total is exact:
//
//   - inside: the kept ids are the whole answer; the page selects among
//     them and the total is their number;
//   - outside: every positioned device beyond the box matches; of those in
//     the box, the refused ids are excluded, and the total is a COUNT.
//
// The two reads are not one snapshot: a device that moves between them is
// judged by the position of the first read.

// geoCandidate is a device in the box, as the exact test needs it.
type geoCandidate struct {
	ID        string  `db:"id"`
	Latitude  float64 `db:"latitude"`
	Longitude float64 `db:"longitude"`
}

// geogroupConds returns the conditions and the count query of a device
// list with a geogroup filter: an indexed box query reads the candidates'
// positions (the other filters applied), each is decided exactly here, and
// the page then names the decided ids (inside: the kept ones; outside:
// positioned devices but the refused ones), so the exact test comes before
// the page's LIMIT and OFFSET. empty is true when nothing can match.
func (s *DeviceStore) geogroupConds(ctx context.Context, customerID string, f resource.DeviceFilter) (c, count *conds, empty bool, err error) {
	m := f.Geogroup
	rest := f
	rest.Geogroup = nil
	c = deviceConds(s.db.Dialect, customerID, rest)
	c.add("latitude IS NOT NULL AND longitude IS NOT NULL")
	cand := &conds{clauses: append([]string{}, c.clauses...), args: append([]any{}, c.args...)}
	if box, ok := m.Box(); ok {
		addBox(cand, box)
	}
	var found []geoCandidate
	if err := s.db.SelectContext(ctx, &found, s.db.Rebind(`SELECT id, latitude, longitude FROM devices`+cand.where()), cand.args...); err != nil {
		return nil, nil, false, fmt.Errorf("devices by geogroup: %w", err)
	}
	// decided holds the kept ids (inside) or the refused ones (outside).
	decided := make([]string, 0, len(found))
	for _, d := range found {
		if m.Keep(d.Latitude, d.Longitude) != m.Outside {
			decided = append(decided, d.ID)
		}
	}
	if m.Outside {
		if len(decided) > 0 {
			s.idList(c, "NOT IN", decided)
		}
		return c, countAll("devices", c), false, nil
	}
	if len(decided) == 0 {
		return nil, nil, true, nil
	}
	c = &conds{}
	c.add("customer_id = ?", customerID)
	s.idList(c, "IN", decided)
	return c, &conds{clauses: []string{"SELECT " + strconv.Itoa(len(decided))}}, false, nil
}

// idList adds "id IN (…)" or "id NOT IN (…)" for ids, passed as one
// argument however many there are: a text[] on PostgreSQL (whose planner
// then knows how many there are), a JSON array on SQLite.
func (s *DeviceStore) idList(c *conds, op string, ids []string) {
	if s.db.Dialect == Postgres {
		if op == "IN" {
			c.add("id = ANY(?)", ids)
		} else {
			c.add("NOT (id = ANY(?))", ids)
		}
		return
	}
	b, _ := json.Marshal(ids) // strings always marshal
	c.add("id "+op+" (SELECT value FROM json_each(?))", string(b))
}

// addBox adds the conditions of a latitude/longitude box.
func addBox(c *conds, box resource.GeoBox) {
	c.add("latitude BETWEEN ? AND ?", box.MinLat, box.MaxLat)
	switch len(box.Lon) {
	case 0:
	case 1:
		c.add("longitude BETWEEN ? AND ?", box.Lon[0][0], box.Lon[0][1])
	default:
		var ors []string
		var args []any
		for _, r := range box.Lon {
			ors = append(ors, "longitude BETWEEN ? AND ?")
			args = append(args, r[0], r[1])
		}
		c.add("("+joinOr(ors)+")", args...)
	}
}

func joinOr(parts []string) string {
	out := parts[0]
	for _, p := range parts[1:] {
		out += " OR " + p
	}
	return out
}
