package metrics

import "sync"

// NameSet bounds a label whose values come from clients, such as GraphQL
// operation names: the names it was given up front, or (when it was given
// none) the first max distinct names it sees, keep their own value; every
// other name is "other", an empty one "anonymous", and a name that is not
// a GraphQL name (letters, digits, '_', at most 64) is "other" too.
type NameSet struct {
	mu    sync.RWMutex
	names map[string]struct{}
	max   int
	fixed bool
}

// NewNameSet returns a set that learns up to max names.
func NewNameSet(max int) *NameSet { return &NameSet{names: map[string]struct{}{}, max: max} }

// FixedNameSet returns a set of exactly the names given (such as the
// operation names of the trusted documents); it learns none.
func FixedNameSet(names ...string) *NameSet {
	s := &NameSet{names: map[string]struct{}{}, fixed: true}
	for _, n := range names {
		if validName(n) {
			s.names[n] = struct{}{}
		}
	}
	return s
}

// Label returns the label value of name.
func (s *NameSet) Label(name string) string {
	if name == "" {
		return "anonymous"
	}
	if !validName(name) {
		return "other"
	}
	s.mu.RLock()
	_, ok := s.names[name]
	full := s.fixed || len(s.names) >= s.max
	s.mu.RUnlock()
	if ok {
		return name
	}
	if full {
		return "other"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.names[name]; ok {
		return name
	}
	if len(s.names) >= s.max {
		return "other"
	}
	s.names[name] = struct{}{}
	return name
}

func validName(n string) bool {
	if len(n) == 0 || len(n) > 64 || n == "other" || n == "anonymous" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
