package resource

// Optional is one field of a patch: absent (Set false: leave the value
// alone), null (Set and Null: clear it) or a value (Set, not Null). A
// transport fills it from the raw request, so that a PATCH that omits an
// attribute and one that sends null mean different things; GraphQL's
// Omittable maps onto it the same way.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// Some returns an Optional that sets the value v.
func Some[T any](v T) Optional[T] {
	return Optional[T]{Set: true, Value: v}
}

// Null returns an Optional that clears the value.
func Null[T any]() Optional[T] {
	return Optional[T]{Set: true, Null: true}
}

// nonNull returns the value of o, or EInvalid pointing at field when o is
// null (for fields that cannot be cleared). ok is false when o is absent.
func nonNull[T any](o Optional[T], field string) (v T, ok bool, err error) {
	if !o.Set {
		return v, false, nil
	}
	if o.Null {
		return v, false, Invalidf(field, "%s must not be null", field)
	}
	return o.Value, true, nil
}
