package resource

import (
	"slices"
	"strings"
)

// Page sizes of lists, in both APIs (page[size]; first and last).
const (
	DefaultPageSize = 25
	MaxPageSize     = 100
	// maxPageNumber keeps offsets far from overflow; no real client pages
	// this far.
	maxPageNumber = 10_000_000
)

// Neutral paths of the parts of a query a validation error can point at
// (Error.Field). Each transport renders them in its own syntax: JSON:API
// as a query parameter (filter[radius_lte], page[size]), GraphQL as a path
// into the field's arguments (filter.radiusLte, orderBy, first).
const (
	PathSort       = "sort"
	PathPageNumber = "page.number"
	PathPageSize   = "page.size"
	PathInclude    = "include"
	// PathFilterPrefix starts the path of a filter field: "filter." and
	// the field's name in camelCase ("filter.radiusLte").
	PathFilterPrefix = "filter."
)

// filterPath returns the neutral path of the filter named name (in
// snake_case, as QuerySpec.Filters lists it): "radius_lte" is
// "filter.radiusLte".
func filterPath(name string) string { return PathFilterPrefix + CamelCase(name) }

// CamelCase turns snake_case into camelCase ("radius_lte" is "radiusLte";
// "" stays ""): the names of the neutral paths, and GraphQL's.
func CamelCase(s string) string {
	var b strings.Builder
	up := false
	for _, r := range s {
		switch {
		case r == '_':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Query is what both transports make of the parts of a read that are not
// list-specific: JSON:API's include and fields[..], GraphQL's selection
// set.
type Query struct {
	// Include lists relationship paths to load along ("group",
	// "group.configuration").
	Include []string
	// Fields maps a resource type to the attributes to present (sparse
	// fieldsets). Services pass it through; presenters apply it.
	Fields map[string][]string
}

// ListQuery is a list request of one resource, with F its typed filter
// (DeviceListFilter, EventListFilter...): JSON:API's filter[..], sort and
// page[..], GraphQL's filter, orderBy and paging arguments, each mapped
// field by field by its transport. A service checks the sort list, the
// include paths and the page against its resource's QuerySpec (unknown
// sort fields and include paths are errors, never ignored) and the
// filter with its Validate method.
type ListQuery[F any] struct {
	Filter F
	// Sort lists the sort fields, most significant first.
	Sort []SortField
	// Page selects the page; zero fields take the defaults.
	Page Page
	// Include and Fields are as in Query.
	Include []string
	Fields  map[string][]string
}

// Query returns the include paths and sparse fieldsets of q.
func (q ListQuery[F]) Query() Query { return Query{Include: q.Include, Fields: q.Fields} }

// SortField is one sort key: a field name (one of the resource's
// QuerySpec.Sorts, such as DeviceSortName) and its direction.
type SortField struct {
	Field string
	Desc  bool
}

// Page selects a page of a list by number (from 1) and size.
type Page struct {
	Number int
	Size   int
}

// Offset returns how many items come before the page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

// LastNumber returns the number of the last page of a list of total items
// (1 for an empty list).
func (p Page) LastNumber(total int) int {
	if total <= 0 || p.Size <= 0 {
		return 1
	}
	return (total + p.Size - 1) / p.Size
}

// normalize applies the defaults to p: number 1 and size DefaultPageSize.
// EInvalid (pointing at PathPageNumber or PathPageSize) for a negative
// number, a negative size or a size above MaxPageSize.
func (p Page) normalize() (Page, error) {
	switch {
	case p.Number < 0 || p.Number > maxPageNumber:
		return p, Invalidf(PathPageNumber, "page[number] must be between 1 and %d", maxPageNumber)
	case p.Size < 0 || p.Size > MaxPageSize:
		return p, Invalidf(PathPageSize, "page[size] must be between 1 and %d", MaxPageSize)
	}
	if p.Number == 0 {
		p.Number = 1
	}
	if p.Size == 0 {
		p.Size = DefaultPageSize
	}
	return p, nil
}

// QuerySpec declares, once per resource, what its list queries accept.
type QuerySpec struct {
	// Filters are the filter names (in snake_case, as JSON:API's
	// filter[NAME]; GraphQL's filter input has them in camelCase): the
	// fields of the resource's typed filter.
	Filters []string
	// Sorts are the accepted sort fields.
	Sorts []string
	// Includes are the accepted include paths.
	Includes []string
	// DefaultSort is the order of a query without sort fields. Every store
	// adds the id as the last key, so paging is stable.
	DefaultSort []SortField
}

// checked is the part of a list query every resource checks alike.
type checked struct {
	sort []SortField
	page Page
}

// check validates the sort list, the include paths and the page of a list
// query against the spec, and returns the sort with the default applied
// and the page normalised. EInvalid pointing at PathSort, PathInclude,
// PathPageNumber or PathPageSize.
func (spec QuerySpec) check(sort []SortField, page Page, include []string) (checked, error) {
	for i, s := range sort {
		if !slices.Contains(spec.Sorts, s.Field) {
			return checked{}, Invalidf(PathSort, "unknown sort field %q; known: %s", s.Field, orNone(spec.Sorts))
		}
		for _, prev := range sort[:i] {
			if prev.Field == s.Field {
				return checked{}, Invalidf(PathSort, "sort field %q is given twice", s.Field)
			}
		}
	}
	if err := spec.checkInclude(include); err != nil {
		return checked{}, err
	}
	page, err := page.normalize()
	if err != nil {
		return checked{}, err
	}
	if len(sort) == 0 {
		sort = slices.Clone(spec.DefaultSort)
	}
	return checked{sort: sort, page: page}, nil
}

// checkInclude validates include paths against the spec; EInvalid pointing
// at PathInclude.
func (spec QuerySpec) checkInclude(include []string) error {
	for _, inc := range include {
		if !slices.Contains(spec.Includes, inc) {
			return Invalidf(PathInclude, "unknown include path %q; known: %s", inc, orNone(spec.Includes))
		}
	}
	return nil
}

// clone returns a deep copy of the spec, so callers cannot change the
// declared one.
func (spec QuerySpec) clone() QuerySpec {
	return QuerySpec{
		Filters: slices.Clone(spec.Filters), Sorts: slices.Clone(spec.Sorts),
		Includes: slices.Clone(spec.Includes), DefaultSort: slices.Clone(spec.DefaultSort),
	}
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// cleanList trims the items of a list filter and drops the empty ones; nil
// stays nil (the filter is not given), anything else becomes a non-nil
// slice, so an empty result can be refused.
func cleanList(items []string) []string {
	if items == nil {
		return nil
	}
	out := []string{}
	for _, item := range items {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// checkTextFilter returns EInvalid pointing at the filter named name
// unless the value v, when given, is StorableText.
func checkTextFilter(name string, v *string) error {
	if v == nil {
		return nil
	}
	return CheckText(filterPath(name), *v)
}

// checkListFilter is checkTextFilter for each item of a list filter.
func checkListFilter(name string, items []string) error {
	for _, it := range items {
		if err := CheckText(filterPath(name), it); err != nil {
			return err
		}
	}
	return nil
}
