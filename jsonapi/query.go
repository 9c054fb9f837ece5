package jsonapi

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/assetgate/assetgate/resource"
)

// queryKind says which query parameters a route accepts.
type queryKind int

const (
	// queryNone accepts no query parameter (relationship documents, bodies
	// without a response document).
	queryNone queryKind = iota
	// queryOne accepts include and fields[TYPE] (one resource).
	queryOne
	// queryList also accepts sort, page[..] and filter[..].
	queryList
	// querySeries accepts fields[TYPE], filter[..] and interval (a
	// telemetry series: neither sorted nor paged).
	querySeries
)

// parsedQuery is what parseQuery reads: the parts every route kind shares,
// and for lists the sort, the page and the filter values by name, to be
// mapped onto a resource's typed filter (see parseList).
type parsedQuery struct {
	resource.Query
	sort   []resource.SortField
	page   resource.Page
	filter map[string]string
	// interval is the interval parameter of a series.
	interval string
}

// parseQuery reads the JSON:API query parameters of rawQuery. Which sorts
// and include paths a resource accepts is the service's check, and which
// filters the route's filterFields; this layer refuses, with 400 and
// source.parameter, what no route of its kind accepts: unknown parameter
// families, parameters given twice, names or values that are not storable
// text (NUL characters, invalid UTF-8; see resource.StorableText), empty
// list items, page values that are not integers from 1 (page[size] at
// most 100), and fields[TYPE] naming an unknown type or member. Both
// page[size] and page%5Bsize%5D are read (url.ParseQuery decodes names).
func (a *API) parseQuery(rawQuery string, kind queryKind) (resource.Query, error) {
	q, err := a.parseParams(rawQuery, kind)
	return q.Query, err
}

// parseParams is parseQuery with the parts of a list query.
func (a *API) parseParams(rawQuery string, kind queryKind) (parsedQuery, error) {
	var q parsedQuery
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return q, &apiError{Status: 400, Code: resource.EInvalid, Detail: "the query string is malformed"}
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names) // report the same parameter every time
	for _, name := range names {
		if len(values[name]) > 1 {
			return q, badParameter(name, "query parameter "+name+" is given more than once")
		}
		if !resource.StorableText(name) || !resource.StorableText(values[name][0]) {
			return q, badParameter(name, "query parameters must be valid UTF-8 without NUL characters")
		}
		if err := a.parseParam(&q, name, values[name][0], kind); err != nil {
			return q, err
		}
	}
	return q, nil
}

// parseList reads the query of a list route whose resource has the typed
// filter F, with filters mapping each filter[NAME] the route accepts onto
// a field of F. An unknown filter name is a 400 pointing at it, never
// ignored.
func parseList[F any](a *API, rawQuery string, filters filterFields[F]) (resource.ListQuery[F], error) {
	pq, err := a.parseParams(rawQuery, queryList)
	if err != nil {
		return resource.ListQuery[F]{}, err
	}
	q := resource.ListQuery[F]{Sort: pq.sort, Page: pq.page, Include: pq.Include, Fields: pq.Fields}
	if err := filters.apply(&q.Filter, pq.filter); err != nil {
		return q, err
	}
	return q, nil
}

// parseParam reads one query parameter into q.
func (a *API) parseParam(q *parsedQuery, name, value string, kind queryKind) error {
	family, member, bracketed := splitFamily(name)
	switch {
	case kind == querySeries && name == "interval":
		if value == "" {
			return badParameter(name, "interval must not be empty")
		}
		q.interval = value
	case (kind == queryOne || kind == queryList) && name == "include":
		paths, err := commaItems(name, value)
		if err != nil {
			return err
		}
		for _, p := range paths {
			if !slices.Contains(q.Include, p) {
				q.Include = append(q.Include, p)
			}
		}
		if q.Include == nil {
			q.Include = []string{} // include= asks for nothing, explicitly
		}
	case kind >= queryOne && family == "fields" && bracketed:
		return a.parseFields(&q.Query, name, member, value)
	case kind == queryList && name == "sort":
		items, err := commaItems(name, value)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return badParameter(name, "sort must name at least one field")
		}
		for _, it := range items {
			desc := strings.HasPrefix(it, "-")
			q.sort = append(q.sort, resource.SortField{Field: strings.TrimPrefix(it, "-"), Desc: desc})
		}
	case kind == queryList && family == "page" && bracketed && (member == "number" || member == "size"):
		n, err := strconv.Atoi(value)
		switch {
		case err != nil || n < 1:
			return badParameter(name, name+" must be an integer of at least 1")
		case member == "size" && n > resource.MaxPageSize:
			return badParameter(name, "page[size] must be at most "+strconv.Itoa(resource.MaxPageSize))
		case member == "number":
			q.page.Number = n
		default:
			q.page.Size = n
		}
	case (kind == queryList || kind == querySeries) && family == "filter" && bracketed && member != "":
		if q.filter == nil {
			q.filter = map[string]string{}
		}
		q.filter[member] = value
	default:
		return badParameter(name, "query parameter "+name+" is not supported here")
	}
	return nil
}

// parseFields reads fields[TYPE]: a comma list of attribute and
// relationship names of a known type; empty asks for none.
func (a *API) parseFields(q *resource.Query, name, typ, value string) error {
	known, ok := a.members[typ]
	if !ok {
		return badParameter(name, "unknown resource type "+strconv.Quote(typ))
	}
	var list []string
	if value != "" {
		items, err := commaItems(name, value)
		if err != nil {
			return err
		}
		for _, it := range items {
			if !slices.Contains(known, it) {
				return badParameter(name, typ+" has no attribute or relationship "+strconv.Quote(it)+"; known: "+strings.Join(known, ", "))
			}
		}
		list = items
	}
	if q.Fields == nil {
		q.Fields = map[string][]string{}
	}
	q.Fields[typ] = append([]string{}, list...)
	return nil
}

// splitFamily splits "family[member]" into its parts; bracketed is false
// for a name without exactly one trailing [..] part.
func splitFamily(name string) (family, member string, bracketed bool) {
	i := strings.IndexByte(name, '[')
	if i < 0 || !strings.HasSuffix(name, "]") {
		return name, "", false
	}
	member = name[i+1 : len(name)-1]
	if strings.ContainsAny(member, "[]") {
		return name, "", false
	}
	return name[:i], member, true
}

// commaItems splits a comma list; an empty value is an empty list, an
// empty item is an error.
func commaItems(param, value string) ([]string, error) {
	if value == "" {
		return nil, nil
	}
	items := strings.Split(value, ",")
	for _, it := range items {
		if strings.TrimSpace(it) == "" || it != strings.TrimSpace(it) {
			return nil, badParameter(param, param+" must be a comma-separated list without empty items or spaces")
		}
	}
	return items, nil
}
