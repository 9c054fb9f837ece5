package jsonapi

import (
	"net/http"
	"slices"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
)

// oneQuery parses the query of a route that answers with one resource:
// include (only the given paths; none when there are none) and
// fields[TYPE].
func (a *API) oneQuery(r *http.Request, includes ...string) (resource.Query, error) {
	q, err := a.parseQuery(r.URL.RawQuery, queryOne)
	if err != nil {
		return q, err
	}
	for _, inc := range q.Include {
		if !slices.Contains(includes, inc) {
			return q, badParameter("include", "unknown include path "+inc)
		}
	}
	return q, nil
}

// writeOne writes a document with one resource as primary data.
func (a *API) writeOne(w http.ResponseWriter, r *http.Request, status int, q resource.Query, p presenter, related []presenter) error {
	self := a.requestURL(r)
	return writeRendered(w, status, func(b []byte) ([]byte, error) { return a.writer(q).one(b, self, p, related) })
}

// writeCreated writes the 201 answer of a create: the new resource, with
// its URL in Location and as the document's self link.
func (a *API) writeCreated(w http.ResponseWriter, r *http.Request, q resource.Query, p presenter, related []presenter) error {
	self := a.requestURL(r)
	if links := p.JSONAPILinks(); links != nil {
		if s, ok := (*links)["self"].(string); ok {
			self = s
			w.Header().Set("Location", s)
		}
	}
	return writeRendered(w, http.StatusCreated, func(b []byte) ([]byte, error) { return a.writer(q).one(b, self, p, related) })
}

// writeMany writes a list page.
func (a *API) writeMany(w http.ResponseWriter, r *http.Request, q resource.Query, ps, related []presenter, page resource.Page, total int) error {
	links := a.pageLinks(r, page, total)
	return writeRendered(w, http.StatusOK, func(b []byte) ([]byte, error) { return a.writer(q).many(b, ps, related, links, total) })
}

// writeAll writes a list without pages: every item, the request as the self
// link and meta.total.
func (a *API) writeAll(w http.ResponseWriter, r *http.Request, status int, q resource.Query, ps []presenter) error {
	links := jsonapi.Links{"self": a.requestURL(r)}
	return writeRendered(w, status, func(b []byte) ([]byte, error) { return a.writer(q).many(b, ps, nil, links, len(ps)) })
}

// writeNull writes a document whose primary data is null (an empty to-one
// related resource).
func (a *API) writeNull(w http.ResponseWriter, r *http.Request) {
	writeDocument(w, http.StatusOK, &document{Links: map[string]any{"self": a.requestURL(r)}, JSONAPI: version()})
}

// presentIncluded turns the related resources a service loaded into
// presenters for included.
func (a *API) presentIncluded(inc *resource.Included) []presenter {
	if inc == nil {
		return nil
	}
	out := make([]presenter, 0, len(inc.Groups)+len(inc.Configurations))
	for _, g := range inc.Groups {
		out = append(out, a.presentGroup(g))
	}
	for _, c := range inc.Configurations {
		out = append(out, a.presentConfiguration(c))
	}
	return out
}

// noContent writes 204.
func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}
