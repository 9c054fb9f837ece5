package resource

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Limits of device attributes.
const (
	MaxAttributes    = 64
	MaxAttributeKey  = 64
	MaxAttributesLen = 4096 // bytes of the object serialized as JSON
)

// attributeKey is the syntax of an attribute key. A '.' is allowed
// ("fw.version"): the filter filter[attributes.KEY] takes everything after
// the first "attributes." as the key, so it never splits one.
var attributeKey = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// jsonNumber is the syntax of a JSON number, which a filter value must
// have to match a stored number.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// Attributes are the customer's own keys of a device; each value is a
// string, a float64 or a bool. Nil is the empty object.
type Attributes map[string]any

// attributesField is the path of the attributes object; a key's is
// attributesField + "." + key.
const attributesField = "attributes"

// AttributeField returns the path (Error.Field) of one attribute key:
// "attributes.KEY", the key verbatim (it may hold dots).
func AttributeField(key string) string { return attributesField + "." + key }

// ParseAttributes reads an attributes object as decoded from JSON (numbers
// as float64, json.Number or an integer type) and checks it (see
// Attributes.Validate). EInvalid with Field "attributes.KEY" for a bad key
// or value, one per key (Errors for several); Field "attributes" for too
// many keys or too many bytes.
func ParseAttributes(raw map[string]any) (Attributes, error) {
	out := make(Attributes, len(raw))
	var bad invalids
	for _, k := range sortedAttributeKeys(raw) {
		v, err := attributeValue(k, raw[k])
		if err != nil {
			_ = bad.add(err)
			continue
		}
		out[k] = v
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseAttributesJSON reads an attributes object from its JSON text, as
// ParseAttributes; "" and "null" are the empty object.
func ParseAttributesJSON(text string) (Attributes, error) {
	if s := strings.TrimSpace(text); s == "" || s == "null" {
		return Attributes{}, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || dec.More() {
		return nil, Invalidf(attributesField, "attributes must be a JSON object")
	}
	return ParseAttributes(raw)
}

// attributeValue converts one decoded JSON value to a stored one.
func attributeValue(k string, v any) (any, error) {
	bad := func() error {
		return Invalidf(AttributeField(k), "attribute %q must be a string, a number or a boolean", k)
	}
	switch v := v.(type) {
	case string, bool:
		return v, nil
	case float64:
		return v, nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return nil, Invalidf(AttributeField(k), "attribute %q is a number out of range", k)
		}
		return f, nil
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	}
	return nil, bad()
}

// Validate checks a: at most MaxAttributes keys, each 1 to MaxAttributeKey
// characters of A-Z, a-z, 0-9, '_', '.', '-'; values strings (valid UTF-8
// without NUL), finite numbers or booleans; at most MaxAttributesLen bytes
// as JSON.
func (a Attributes) Validate() error {
	var bad invalids
	for _, k := range sortedAttributeKeys(a) {
		field := AttributeField(k)
		switch {
		case k == "":
			_ = bad.add(Invalidf(field, "an attribute key must not be empty"))
			continue
		case len(k) > MaxAttributeKey:
			_ = bad.add(Invalidf(field, "attribute key %q is longer than %d characters", k, MaxAttributeKey))
			continue
		case !attributeKey.MatchString(k):
			_ = bad.add(Invalidf(field, "attribute key %q may hold only letters A-Z and a-z, digits, '_', '.' and '-'", k))
			continue
		}
		switch v := a[k].(type) {
		case string:
			if !StorableText(v) {
				_ = bad.add(Invalidf(field, "attribute %q must be valid UTF-8 without NUL characters", k))
			}
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				_ = bad.add(Invalidf(field, "attribute %q must be a finite number", k))
			}
		case bool:
		default:
			_ = bad.add(Invalidf(field, "attribute %q must be a string, a number or a boolean", k))
		}
	}
	if err := bad.err(); err != nil {
		return err
	}
	if len(a) > MaxAttributes {
		return Invalidf(attributesField, "a device has at most %d attributes, these are %d", MaxAttributes, len(a))
	}
	if n := len(a.JSON()); n > MaxAttributesLen {
		return Invalidf(attributesField, "attributes are at most %d bytes as JSON, these are %d", MaxAttributesLen, n)
	}
	return nil
}

// JSON returns a as a JSON object, keys sorted ("{}" when empty).
func (a Attributes) JSON() string {
	if len(a) == 0 {
		return "{}"
	}
	b, err := json.Marshal(map[string]any(a))
	if err != nil {
		// Only a NaN or infinite number fails; Validate refuses them.
		return "{}"
	}
	return string(b)
}

// Clone returns a copy of a (nil stays nil).
func (a Attributes) Clone() Attributes {
	if a == nil {
		return nil
	}
	out := make(Attributes, len(a))
	for k, v := range a {
		out[k] = v
	}
	return out
}

func sortedAttributeKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// AttributeMatch is one attribute filter as a client gives it: the key and
// the value, text (JSON:API's filter[attributes.KEY]=VALUE) or a decoded
// JSON string, number or boolean (GraphQL's {key, value}), which matches
// as its JSON text would.
type AttributeMatch struct {
	Key   string
	Value any
}

// AttributeCond is a checked attribute filter: the devices whose attribute
// Key is the string Text, or the number Number (when the text is a JSON
// number), or the boolean Bool (when the text is true or false).
type AttributeCond struct {
	Key    string
	Text   string
	Number *float64
	Bool   *bool
}

// maxAttributeFilters bounds the attribute filters of one list.
const maxAttributeFilters = 16

// attributeFilterPath is the path of the filter of one attribute key.
func attributeFilterPath(key string) string {
	return PathFilterPrefix + AttributeField(key)
}

// IsAttributeFilterPath reports whether field is the path of an attribute
// filter ("filter.attributes.KEY") and returns the key.
func IsAttributeFilterPath(field string) (string, bool) {
	return strings.CutPrefix(field, PathFilterPrefix+attributesField+".")
}

// attributeConds checks the attribute filters.
func attributeConds(ms []AttributeMatch) ([]AttributeCond, error) {
	if len(ms) > maxAttributeFilters {
		return nil, Invalidf(filterPath(DeviceFilterAttributes), "at most %d attribute filters", maxAttributeFilters)
	}
	out := make([]AttributeCond, 0, len(ms))
	seen := map[string]bool{}
	for _, m := range ms {
		path := attributeFilterPath(m.Key)
		text, ok := attributeText(m.Value)
		switch {
		case !ok:
			return nil, Invalidf(path, "the value of the filter of attribute %q must be a string, a number or a boolean", m.Key)
		case m.Key == "" || len(m.Key) > MaxAttributeKey || !attributeKey.MatchString(m.Key):
			return nil, Invalidf(path, "%q is not an attribute key: 1 to %d letters A-Z and a-z, digits, '_', '.' or '-'", m.Key, MaxAttributeKey)
		case seen[m.Key]:
			return nil, Invalidf(path, "attribute %q is filtered twice", m.Key)
		case len(text) > MaxAttributesLen:
			return nil, Invalidf(path, "an attribute filter value is at most %d bytes", MaxAttributesLen)
		}
		if err := CheckText(path, text); err != nil {
			return nil, err
		}
		seen[m.Key] = true
		c := AttributeCond{Key: m.Key, Text: text}
		switch text {
		case "true", "false":
			b := text == "true"
			c.Bool = &b
		}
		if jsonNumber.MatchString(text) {
			if f, err := strconv.ParseFloat(text, 64); err == nil && !math.IsInf(f, 0) {
				c.Number = &f
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// attributeText renders a filter value as the text JSON:API would carry:
// a string as itself, a number or a boolean as its JSON; ok is false for
// any other value.
func attributeText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case json.Number:
		return v.String(), true
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", false
		}
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	}
	return "", false
}

// String describes c for logs and tests.
func (c AttributeCond) String() string { return fmt.Sprintf("%s=%q", c.Key, c.Text) }

// Values returns the stored values c matches: the text, and the number
// and the boolean it reads as.
func (c AttributeCond) Values() []any {
	vs := []any{c.Text}
	if c.Number != nil {
		vs = append(vs, *c.Number)
	}
	if c.Bool != nil {
		vs = append(vs, *c.Bool)
	}
	return vs
}
