package resource

import (
	"context"
	"strings"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// Geogroup is a named area of a customer (a geofence): devices are inside
// it, outside it or within some distance of its boundary.
type Geogroup struct {
	ID         string
	CustomerID string
	Name       string
	Geometry   *Geometry
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// GeogroupFilter is a checked geogroup list filter; zero fields do not
// filter.
type GeogroupFilter struct {
	// Search keeps geogroups whose name contains it (lower-case already).
	Search string
	// Names keeps geogroups with one of these exact names.
	Names []string
}

// GeogroupQuery is a checked list query as a GeogroupStore runs it.
type GeogroupQuery struct {
	Filter GeogroupFilter
	Sort   []SortField
	Offset int
	Limit  int
}

// GeogroupStore persists geogroups, confined to one customer per call.
type GeogroupStore interface {
	// CreateGeogroup inserts g. ENotFound for an unknown customer.
	CreateGeogroup(ctx context.Context, g *Geogroup) error
	// FindGeogroup returns a geogroup of the customer, or ENotFound.
	FindGeogroup(ctx context.Context, customerID, id string) (*Geogroup, error)
	// ListGeogroups returns the page of the customer's geogroups that q
	// selects and how many match in all.
	ListGeogroups(ctx context.Context, customerID string, q GeogroupQuery) ([]*Geogroup, int, error)
	// UpdateGeogroup writes the name, geometry and update time of g.
	// ENotFound.
	UpdateGeogroup(ctx context.Context, g *Geogroup) error
	// DeleteGeogroup removes a geogroup of the customer. ENotFound.
	DeleteGeogroup(ctx context.Context, customerID, id string) error
}

// Geogroup filter names and sort fields.
const (
	GeogroupFilterSearch = "search"
	GeogroupFilterName   = "name"

	GeogroupSortName      = "name"
	GeogroupSortCreatedAt = "created_at"
)

var geogroupSpec = QuerySpec{
	Filters:     []string{GeogroupFilterSearch, GeogroupFilterName},
	Sorts:       []string{GeogroupSortName, GeogroupSortCreatedAt},
	DefaultSort: []SortField{{Field: GeogroupSortCreatedAt}},
}

// GeogroupQuerySpec returns the filters and sorts that geogroup lists
// accept.
func GeogroupQuerySpec() QuerySpec { return geogroupSpec.clone() }

// GeogroupList is a page of geogroups.
type GeogroupList struct {
	Geogroups []*Geogroup
	Total     int
	Page      Page
}

// GeogroupInput is what a caller gives to create a geogroup: the geometry
// as GeoJSON (see ParseGeometry).
type GeogroupInput struct {
	Name     string
	Geometry []byte
}

// GeogroupPatch changes some fields of a geogroup; neither may be null.
type GeogroupPatch struct {
	Name     Optional[string]
	Geometry Optional[[]byte]
}

// GeogroupListFilter is the filter of a geogroup list as a client gives
// it; nil fields do not filter.
type GeogroupListFilter struct {
	// Search keeps geogroups whose name contains it, case-insensitively.
	Search *string
	// Name keeps geogroups with one of these exact names.
	Name []string
}

// Validate checks f and returns it as stores apply it. EInvalid pointing
// at the filter's path.
func (f GeogroupListFilter) Validate() (GeogroupFilter, error) {
	var out GeogroupFilter
	if err := checkTextFilter(GeogroupFilterSearch, f.Search); err != nil {
		return out, err
	}
	if err := checkListFilter(GeogroupFilterName, f.Name); err != nil {
		return out, err
	}
	if f.Search != nil {
		out.Search = strings.ToLower(strings.TrimSpace(*f.Search))
	}
	if f.Name != nil {
		if out.Names = cleanList(f.Name); len(out.Names) == 0 {
			return out, Invalidf(filterPath(GeogroupFilterName), "filter[name] must list at least one name")
		}
	}
	return out, nil
}

// GeogroupService holds the rules for geogroups.
type GeogroupService struct {
	Store GeogroupStore
	Now   func() time.Time
}

// List returns a page of the principal's customer's geogroups. EInvalid
// for a malformed filter, an unknown sort field or a bad page;
// EUnauthenticated, EForbidden.
func (s *GeogroupService) List(ctx context.Context, q ListQuery[GeogroupListFilter]) (*GeogroupList, error) {
	p, err := authorize(ctx, scopes.OpGeogroupsRead)
	if err != nil {
		return nil, err
	}
	c, err := geogroupSpec.check(q.Sort, q.Page, q.Include)
	if err != nil {
		return nil, err
	}
	f, err := q.Filter.Validate()
	if err != nil {
		return nil, err
	}
	gs, total, err := s.Store.ListGeogroups(ctx, p.CustomerID, GeogroupQuery{
		Filter: f, Sort: c.sort, Offset: c.page.Offset(), Limit: c.page.Size,
	})
	if err != nil {
		return nil, err
	}
	return &GeogroupList{Geogroups: gs, Total: total, Page: c.page}, nil
}

// Find returns a geogroup of the principal's customer. ENotFound,
// EUnauthenticated, EForbidden.
func (s *GeogroupService) Find(ctx context.Context, id string) (*Geogroup, error) {
	p, err := authorize(ctx, scopes.OpGeogroupsRead)
	if err != nil {
		return nil, err
	}
	return s.find(ctx, p.CustomerID, id)
}

func (s *GeogroupService) find(ctx context.Context, customerID, id string) (*Geogroup, error) {
	if !ValidID(id) {
		return nil, errGeogroupNotFound(id)
	}
	return s.Store.FindGeogroup(ctx, customerID, id)
}

// Create adds a geogroup to the principal's customer. EInvalid for a bad
// name or geometry (every one, pointing into the geometry);
// EUnauthenticated, EForbidden.
func (s *GeogroupService) Create(ctx context.Context, in GeogroupInput) (*Geogroup, error) {
	p, err := authorize(ctx, scopes.OpGeogroupsWrite)
	if err != nil {
		return nil, err
	}
	var bad invalids
	name, err := normalizeName("name", in.Name)
	_ = bad.add(err)
	var geom *Geometry
	if in.Geometry == nil {
		_ = bad.add(Invalidf("geometry", "geometry is required"))
	} else {
		geom, err = ParseGeometry("geometry", in.Geometry)
		_ = bad.add(err)
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	now := nowUTC(s.Now)
	g := &Geogroup{ID: NewID(), CustomerID: p.CustomerID, Name: name, Geometry: geom, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateGeogroup(ctx, g); err != nil {
		return nil, err
	}
	return g, nil
}

// Update changes the fields of a geogroup that patch sets. ENotFound,
// EInvalid as for Create; EUnauthenticated, EForbidden.
func (s *GeogroupService) Update(ctx context.Context, id string, patch GeogroupPatch) (*Geogroup, error) {
	p, err := authorize(ctx, scopes.OpGeogroupsWrite)
	if err != nil {
		return nil, err
	}
	g, err := s.find(ctx, p.CustomerID, id)
	if err != nil {
		return nil, err
	}
	var bad invalids
	if v, ok, err := nonNull(patch.Name, "name"); err != nil {
		_ = bad.add(err)
	} else if ok {
		g.Name, err = normalizeName("name", v)
		_ = bad.add(err)
	}
	if v, ok, err := nonNull(patch.Geometry, "geometry"); err != nil {
		_ = bad.add(err)
	} else if ok {
		geom, err := ParseGeometry("geometry", v)
		if bad.add(err) == nil && err == nil {
			g.Geometry = geom
		}
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	g.UpdatedAt = nowUTC(s.Now)
	if err := s.Store.UpdateGeogroup(ctx, g); err != nil {
		return nil, err
	}
	return g, nil
}

// Delete removes a geogroup of the principal's customer. ENotFound,
// EUnauthenticated, EForbidden.
func (s *GeogroupService) Delete(ctx context.Context, id string) error {
	p, err := authorize(ctx, scopes.OpGeogroupsWrite)
	if err != nil {
		return err
	}
	if !ValidID(id) {
		return errGeogroupNotFound(id)
	}
	return s.Store.DeleteGeogroup(ctx, p.CustomerID, id)
}

func errGeogroupNotFound(id string) error {
	return Errorf(ENotFound, "geogroup %q not found", id)
}
