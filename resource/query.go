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

// Query is what both front ends make of a list request: JSON:API's
// filter[..], sort, page[..], include and fields[..], GraphQL's filter,
// orderBy, paging arguments and selection set. A service checks it against
// its resource's QuerySpec: unknown filters, sorts and include paths are
// errors, never ignored.
type Query struct {
	// Filter maps a filter name (as in filter[NAME]) to its raw value.
	Filter map[string]string
	// Sort lists the sort fields, most significant first.
	Sort []SortField
	// Page selects the page; zero fields take the defaults.
	Page Page
	// Include lists relationship paths to load along ("group",
	// "group.configuration").
	Include []string
	// Fields maps a resource type to the attributes to present (sparse
	// fieldsets). Services pass it through; presenters apply it.
	Fields map[string][]string
}

// SortField is one sort key: a field name and its direction.
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
// EInvalid (pointing at page[number] or page[size]) for a negative number,
// a negative size or a size above MaxPageSize.
func (p Page) normalize() (Page, error) {
	switch {
	case p.Number < 0 || p.Number > maxPageNumber:
		return p, Invalidf("page[number]", "page[number] must be between 1 and %d", maxPageNumber)
	case p.Size < 0 || p.Size > MaxPageSize:
		return p, Invalidf("page[size]", "page[size] must be between 1 and %d", MaxPageSize)
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
	// Filters are the accepted filter names.
	Filters []string
	// Sorts are the accepted sort fields.
	Sorts []string
	// Includes are the accepted include paths.
	Includes []string
	// DefaultSort is the order of a query without sort fields. Every store
	// adds the id as the last key, so paging is stable.
	DefaultSort []SortField
}

// check validates q against the spec and returns it with its page
// normalised and its default sort applied. EInvalid naming the offending
// parameter: filter[NAME] (also for a value that is not StorableText),
// sort, include, page[number] or page[size].
func (spec QuerySpec) check(q Query) (Query, error) {
	names := make([]string, 0, len(q.Filter))
	for name := range q.Filter {
		names = append(names, name)
	}
	slices.Sort(names) // report the same unknown filter every time
	for _, name := range names {
		if !StorableText(name) {
			return q, Invalidf("filter", "a filter name must be valid UTF-8 without NUL characters")
		}
		if !slices.Contains(spec.Filters, name) {
			return q, Invalidf("filter["+name+"]", "unknown filter %q; known: %s", name, orNone(spec.Filters))
		}
		if err := CheckText("filter["+name+"]", q.Filter[name]); err != nil {
			return q, err
		}
	}
	for i, s := range q.Sort {
		if !slices.Contains(spec.Sorts, s.Field) {
			return q, Invalidf("sort", "unknown sort field %q; known: %s", s.Field, orNone(spec.Sorts))
		}
		for _, prev := range q.Sort[:i] {
			if prev.Field == s.Field {
				return q, Invalidf("sort", "sort field %q is given twice", s.Field)
			}
		}
	}
	for _, inc := range q.Include {
		if !slices.Contains(spec.Includes, inc) {
			return q, Invalidf("include", "unknown include path %q; known: %s", inc, orNone(spec.Includes))
		}
	}
	page, err := q.Page.normalize()
	if err != nil {
		return q, err
	}
	q.Page = page
	if len(q.Sort) == 0 {
		q.Sort = slices.Clone(spec.DefaultSort)
	}
	return q, nil
}

// checkInclude validates include paths against the spec; EInvalid pointing
// at include.
func (spec QuerySpec) checkInclude(include []string) error {
	_, err := spec.check(Query{Include: include})
	return err
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

// commaList splits a comma-separated filter value into its trimmed,
// non-empty items.
func commaList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parseBoolFilter reads a boolean filter value ("true" or "false");
// EInvalid pointing at filter[name] otherwise.
func parseBoolFilter(name, v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, Invalidf("filter["+name+"]", "filter[%s] must be true or false", name)
}
