package jsonapi

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
)

// This file is the reference the renderer of render.go is compared with
// (TestRenderMatchesLibrary): documents built as google/jsonapi builds
// them, a *jsonapi.Node per presenter from jsonapi.Marshal, with this
// package's fixes of its defects (document.go) applied to the nodes, then
// written by encoding/json (writeDocument).

// docBuilder builds the documents of one request.
type docBuilder struct {
	api    *API
	fields map[string][]string
}

// builder returns a document builder applying q's sparse fieldsets.
func (a *API) builder(q resource.Query) *docBuilder {
	return &docBuilder{api: a, fields: q.Fields}
}

// node turns a presenter into a resource object: the library's node with
// its included resources dropped (defect 2), the links of empty to-one
// relations restored (defect 5) and the sparse fieldset applied (defect 3).
func (b *docBuilder) node(p presenter) (*jsonapi.Node, error) {
	payload, err := jsonapi.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("jsonapi: marshal %T: %w", p, err)
	}
	one, ok := payload.(*jsonapi.OnePayload)
	if !ok || one.Data == nil {
		return nil, fmt.Errorf("jsonapi: marshal %T: no resource object", p)
	}
	n := one.Data
	for name, rel := range n.Relationships {
		if r, ok := rel.(*jsonapi.RelationshipOneNode); ok && r.Links == nil {
			r.Links = p.JSONAPIRelationshipLinks(name)
		}
	}
	b.sparse(n)
	return n, nil
}

// sparse keeps only the members of n that fields[n.Type] lists, if given.
func (b *docBuilder) sparse(n *jsonapi.Node) {
	keep, ok := b.fields[n.Type]
	if !ok {
		return
	}
	for k := range n.Attributes {
		if !slices.Contains(keep, k) && k != alwaysShown {
			delete(n.Attributes, k)
		}
	}
	for k := range n.Relationships {
		if !slices.Contains(keep, k) {
			delete(n.Relationships, k)
		}
	}
	if len(n.Attributes) == 0 {
		n.Attributes = nil
	}
	if len(n.Relationships) == 0 {
		n.Relationships = nil
	}
}

// one builds a document with one resource as primary data and the given
// related resources in included.
func (b *docBuilder) one(r *http.Request, p presenter, related []presenter) (*document, error) {
	n, err := b.node(p)
	if err != nil {
		return nil, err
	}
	inc, err := b.included([]*jsonapi.Node{n}, related)
	if err != nil {
		return nil, err
	}
	return &document{Data: n, Included: inc, Links: jsonapi.Links{"self": b.api.requestURL(r)}, JSONAPI: version()}, nil
}

// many builds a document with a page of resources as primary data, with
// pagination links and meta.total.
func (b *docBuilder) many(r *http.Request, ps []presenter, related []presenter, page resource.Page, total int) (*document, error) {
	nodes := make([]*jsonapi.Node, 0, len(ps))
	for _, p := range ps {
		n, err := b.node(p)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	inc, err := b.included(nodes, related)
	if err != nil {
		return nil, err
	}
	return &document{Data: nodes, Included: inc, Links: b.api.pageLinks(r, page, total),
		Meta: jsonapi.Meta{"total": total}, JSONAPI: version()}, nil
}

// included turns related presenters into the included member: each
// type+id once, none that is primary data, ordered by type and id
// (defect 1).
func (b *docBuilder) included(primary []*jsonapi.Node, related []presenter) ([]*jsonapi.Node, error) {
	seen := make(map[[2]string]bool, len(primary)+len(related))
	for _, n := range primary {
		seen[[2]string{n.Type, n.ID}] = true
	}
	var out []*jsonapi.Node
	for _, p := range related {
		n, err := b.node(p)
		if err != nil {
			return nil, err
		}
		k := [2]string{n.Type, n.ID}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, n)
	}
	slices.SortFunc(out, func(x, y *jsonapi.Node) int {
		return cmp.Or(cmp.Compare(x.Type, y.Type), cmp.Compare(x.ID, y.ID))
	})
	return out, nil
}
