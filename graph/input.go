package graph

import (
	"github.com/99designs/gqlgen/graphql"

	"github.com/assetgate/assetgate/resource"
)

// optional maps a nullable input field onto a patch field: absent stays
// absent, null is null, a value is a value (like JSON:API PATCH).
func optional[T any](o graphql.Omittable[*T]) resource.Optional[T] {
	v, ok := o.ValueOK()
	switch {
	case !ok:
		return resource.Optional[T]{}
	case v == nil:
		return resource.Null[T]()
	}
	return resource.Some(*v)
}

// optionalList is optional for a list field.
func optionalList[T any](o graphql.Omittable[[]T]) resource.Optional[[]T] {
	v, ok := o.ValueOK()
	switch {
	case !ok:
		return resource.Optional[[]T]{}
	case v == nil:
		return resource.Null[[]T]()
	}
	return resource.Some(v)
}

// optionalName converts an optional string input to a closed set's type.
func optionalName[T ~string](o resource.Optional[string]) resource.Optional[T] {
	return resource.Optional[T]{Set: o.Set, Null: o.Null, Value: T(o.Value)}
}

// optionalNames converts an optional list input to a closed set's type.
func optionalNames[T ~string](o resource.Optional[[]string]) resource.Optional[[]T] {
	return resource.Optional[[]T]{Set: o.Set, Null: o.Null, Value: resource.ValuesOf[T](o.Value)}
}

// value returns the value of a nullable input field, or the zero value
// when it is absent or null.
func value[T any](o graphql.Omittable[*T]) T {
	if v := o.Value(); v != nil {
		return *v
	}
	var zero T
	return zero
}

// deref returns *p, or the zero value when p is nil (an absent or null
// argument).
func deref[T any](p *T) T {
	if p != nil {
		return *p
	}
	var zero T
	return zero
}
