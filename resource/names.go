package resource

// Names returns the strings of values of a closed set (grant types, PKCE
// levels...), as the APIs and the database show them; nil stays nil.
func Names[T ~string](values []T) []string {
	if values == nil {
		return nil
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// ValuesOf returns names as values of a closed set; nil stays nil. It
// checks nothing: the services refuse the values they do not know.
func ValuesOf[T ~string](names []string) []T {
	if names == nil {
		return nil
	}
	out := make([]T, len(names))
	for i, n := range names {
		out[i] = T(n)
	}
	return out
}
