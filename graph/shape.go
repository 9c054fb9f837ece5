package graph

import (
	"context"
	"crypto/sha256"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// Codes of the errors of the shape limits (gqlgen's complexity limit has
// COMPLEXITY_LIMIT_EXCEEDED).
const (
	CodeDepthLimit = "DEPTH_LIMIT_EXCEEDED"
	CodeFieldLimit = "FIELD_LIMIT_EXCEEDED"
	CodeAliasLimit = "ALIAS_LIMIT_EXCEEDED"
)

// introspectionAllowance is how many times the field limit the
// introspection parts of an operation (under __schema and __type) may
// select: GraphiQL's introspection query expands to a few hundred fields,
// and introspection has no limit of its own but this one.
const introspectionAllowance = 4

// shapeLimits refuses a document by its shape before gqlgen validates it
// or computes its complexity, both of which cost far more than the
// document's size when fragments spread fragments (the cost doubles with
// each level of a fragment that spreads the next one twice) or a
// selection holds thousands of fields (validation compares fields pairwise).
//
// It parses the document itself (linear in its size, under the parser
// token limit) and measures it with one memo per fragment, so a document
// costs time in proportion to its text however much it expands to. An
// operation may nest at most depth levels and select at most fields
// fields and aliases aliases in all, fragments counting each time they
// are spread; introspection fields count apart, against
// introspectionAllowance times the field limit. The document as written
// may hold at most fields fields plus the introspection allowance, so
// fragments nobody spreads cannot carry a large selection to the
// validator. Fragment cycles are refused here too. Documents that pass are
// remembered (by their SHA-256) in a small cache, so a client's repeated
// document is not parsed twice per request.
type shapeLimits struct {
	depth, fields, aliases int
	tokens                 int
	passed                 *lru.LRU[struct{}]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*shapeLimits)(nil)

// newShapeLimits returns the shape limits of cfg.
func newShapeLimits(cfg Config) *shapeLimits {
	return &shapeLimits{
		depth: cfg.DepthLimit, fields: cfg.FieldLimit, aliases: cfg.AliasLimit, tokens: cfg.ParserTokenLimit,
		passed: lru.New[struct{}](cfg.QueryCacheSize),
	}
}

// ExtensionName implements graphql.HandlerExtension.
func (*shapeLimits) ExtensionName() string { return "ShapeLimits" }

// Validate implements graphql.HandlerExtension.
func (*shapeLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters implements graphql.OperationParameterMutator:
// it runs before the document is parsed and validated by gqlgen.
func (l *shapeLimits) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if params.Query == "" {
		return nil // gqlgen refuses it, or APQ has not resolved it yet
	}
	// Keyed by a hash: a document may be as large as a request body.
	sum := sha256.Sum256([]byte(params.Query))
	key := string(sum[:])
	if _, ok := l.passed.Get(ctx, key); ok {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: params.Query}, l.tokens)
	if err != nil {
		return nil // gqlgen parses it again and reports the syntax error
	}
	if gerr := l.check(doc, params.OperationName); gerr != nil {
		return gerr
	}
	l.passed.Add(ctx, key, struct{}{})
	return nil
}

// check measures every operation of doc (the one named, when a name is
// given) and the document as written.
func (l *shapeLimits) check(doc *ast.QueryDocument, operation string) *gqlerror.Error {
	m := &measurer{fragments: map[string]*ast.FragmentDefinition{}, memo: map[string]*size{}, cap: l.capacity()}
	written := 0
	for _, f := range doc.Fragments {
		m.fragments[f.Name] = f
		written += countWritten(f.SelectionSet)
	}
	for _, op := range doc.Operations {
		written += countWritten(op.SelectionSet)
	}
	if written > l.fields*(1+introspectionAllowance) {
		return limitError(CodeFieldLimit, "the document selects more than %d fields", l.fields*(1+introspectionAllowance))
	}
	for _, op := range doc.Operations {
		if operation != "" && op.Name != operation {
			continue
		}
		s, err := m.measure(op.SelectionSet, false)
		if err != nil {
			return err
		}
		switch {
		case s.depth > l.depth:
			return limitError(CodeDepthLimit, "the operation nests deeper than %d levels", l.depth)
		case s.fields > l.fields:
			return limitError(CodeFieldLimit, "the operation selects more than %d fields", l.fields)
		case s.introspection > l.fields*introspectionAllowance:
			return limitError(CodeFieldLimit, "the operation selects more than %d introspection fields", l.fields*introspectionAllowance)
		case s.aliases > l.aliases:
			return limitError(CodeAliasLimit, "the operation uses more than %d aliases", l.aliases)
		}
	}
	return nil
}

// capacity is the count past which a measure stops growing: any count
// above every limit refuses the same, and saturating keeps the sums of a
// fragment bomb from overflowing.
func (l *shapeLimits) capacity() int {
	return max(l.depth, l.fields*(1+introspectionAllowance), l.aliases) + 1
}

func limitError(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, code)
	return err
}

// size is what a selection set expands to: its fields (apart from the
// introspection ones), introspection fields, aliases, and how many levels
// it nests (1 for a set of leaves).
type size struct {
	fields, introspection, aliases, depth int
}

// measurer measures selection sets, remembering each fragment's size.
type measurer struct {
	fragments map[string]*ast.FragmentDefinition
	// memo holds the size of each fragment measured; nil while the
	// fragment is being measured (so a spread of it then is a cycle).
	memo map[string]*size
	cap  int
}

// measure returns the size of set; in introspection, its fields count as
// introspection fields.
func (m *measurer) measure(set ast.SelectionSet, introspection bool) (size, *gqlerror.Error) {
	var total size
	for _, sel := range set {
		var s size
		switch sel := sel.(type) {
		case *ast.Field:
			in := introspection || sel.Name == "__schema" || sel.Name == "__type"
			child, err := m.measure(sel.SelectionSet, in)
			if err != nil {
				return total, err
			}
			s = child
			if in {
				// Introspection nests as deep as the types it describes;
				// its field count bounds it instead.
				s.introspection = m.add(s.introspection, 1)
			} else {
				s.fields = m.add(s.fields, 1)
				s.depth = child.depth + 1
			}
			if sel.Alias != "" && sel.Alias != sel.Name {
				s.aliases = m.add(s.aliases, 1)
			}
		case *ast.InlineFragment:
			child, err := m.measure(sel.SelectionSet, introspection)
			if err != nil {
				return total, err
			}
			s = child
		case *ast.FragmentSpread:
			child, err := m.spread(sel.Name, introspection)
			if err != nil {
				return total, err
			}
			s = child
		}
		total = m.sum(total, s)
	}
	return total, nil
}

// spread returns the size of the fragment named, measured once. A fragment
// spread in introspection is measured there: the memo is per place, and a
// fragment is spread in one or the other, as its type condition says.
func (m *measurer) spread(name string, introspection bool) (size, *gqlerror.Error) {
	key := name
	if introspection {
		key = "\x00" + name
	}
	if s, ok := m.memo[key]; ok {
		if s == nil {
			err := gqlerror.Errorf("cannot spread fragment %q within itself", name)
			errcode.Set(err, errcode.ValidationFailed)
			return size{}, err
		}
		return *s, nil
	}
	f := m.fragments[name]
	if f == nil {
		return size{}, nil // the validator reports the unknown fragment
	}
	m.memo[key] = nil
	s, err := m.measure(f.SelectionSet, introspection)
	if err != nil {
		return size{}, err
	}
	m.memo[key] = &s
	return s, nil
}

// add returns a+b, at most m.cap.
func (m *measurer) add(a, b int) int { return min(a+b, m.cap) }

// sum adds the counts of two sibling selections and keeps the deeper depth.
func (m *measurer) sum(a, b size) size {
	return size{
		fields: m.add(a.fields, b.fields), introspection: m.add(a.introspection, b.introspection),
		aliases: m.add(a.aliases, b.aliases), depth: max(a.depth, b.depth),
	}
}

// countWritten counts the fields of set as written, fragments not expanded.
func countWritten(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			n += 1 + countWritten(sel.SelectionSet)
		case *ast.InlineFragment:
			n += countWritten(sel.SelectionSet)
		}
	}
	return n
}
