package graph

import (
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// This file turns the filter and orderBy arguments of a list field into a
// resource.Query. The schema declares the filter inputs and order enums of
// each resource from its QuerySpec (a test holds them equal), so the
// mapping is mechanical: a filter field is the JSON:API filter of the same
// name in snake case, an order field the sort field in lower case. The
// services check and parse the values, as they do JSON:API's.

// listQuery returns the query of a list field: filter is a pointer to a
// generated filter input (or nil), orderBy a slice of pointers to a
// generated order input (or nil).
func listQuery(filter, orderBy any) resource.Query {
	return resource.Query{Filter: filterOf(filter), Sort: sortOf(orderBy)}
}

// filterOf maps each set, non-null field of a filter input to its filter
// name and the raw value JSON:API would carry: numbers and booleans in
// their usual text form, times in RFC 3339, lists comma-separated, enums
// in lower case.
func filterOf(filter any) map[string]string {
	v := reflect.ValueOf(filter)
	if !v.IsValid() || v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	v = reflect.Indirect(v)
	out := map[string]string{}
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		res := v.Field(i).MethodByName("ValueOK").Call(nil) // graphql.Omittable
		if !res[1].Bool() {
			continue
		}
		if raw, ok := rawValue(res[0]); ok {
			out[snake(name)] = raw
		}
	}
	return out
}

// rawValue renders one filter value; ok is false for null.
func rawValue(v reflect.Value) (string, bool) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", false
		}
		v = v.Elem()
	}
	if t, ok := v.Interface().(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano), true
	}
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			return "", false
		}
		items := make([]string, v.Len())
		for i := range items {
			items[i], _ = rawValue(v.Index(i))
		}
		return strings.Join(items, ","), true
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64), true
	case reflect.Int:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.String:
		if v.Type() != reflect.TypeFor[string]() {
			return strings.ToLower(v.String()), true // an enum
		}
		return v.String(), true
	}
	return "", false
}

// sortOf maps an orderBy list (pointers to inputs with Field, an order
// enum, and Direction) to sort fields.
func sortOf(orderBy any) []resource.SortField {
	v := reflect.ValueOf(orderBy)
	if !v.IsValid() || v.Len() == 0 {
		return nil
	}
	out := make([]resource.SortField, v.Len())
	for i := range out {
		o := reflect.Indirect(v.Index(i))
		out[i] = resource.SortField{
			Field: strings.ToLower(o.FieldByName("Field").String()),
			Desc:  o.FieldByName("Direction").Interface().(model.OrderDirection) == model.OrderDirectionDesc,
		}
	}
	return out
}
