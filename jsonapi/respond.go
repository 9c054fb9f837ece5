package jsonapi

import (
	"net/http"
	"slices"

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
	doc, err := a.builder(q).one(r, p, related)
	if err != nil {
		return err
	}
	writeDocument(w, status, doc)
	return nil
}

// writeCreated writes the 201 answer of a create: the new resource, with
// its URL in Location and as the document's self link.
func (a *API) writeCreated(w http.ResponseWriter, r *http.Request, q resource.Query, p presenter, related []presenter) error {
	doc, err := a.builder(q).one(r, p, related)
	if err != nil {
		return err
	}
	if links := p.JSONAPILinks(); links != nil {
		if self, ok := (*links)["self"].(string); ok {
			doc.Links["self"] = self
			w.Header().Set("Location", self)
		}
	}
	writeDocument(w, http.StatusCreated, doc)
	return nil
}

// writeMany writes a list page.
func (a *API) writeMany(w http.ResponseWriter, r *http.Request, q resource.Query, ps, related []presenter, page resource.Page, total int) error {
	doc, err := a.builder(q).many(r, ps, related, page, total)
	if err != nil {
		return err
	}
	writeDocument(w, http.StatusOK, doc)
	return nil
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
