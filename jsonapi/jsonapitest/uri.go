// Package jsonapitest holds checks the tests of JSON:API documents share: a
// strict RFC 3986 URI parser and a walk over every link of a document.
package jsonapitest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// CheckURI reports whether s is a URI as RFC 3986 §3 defines it: a scheme,
// ":", a hierarchical part, an optional query and an optional fragment,
// with every character outside the grammar's sets percent-encoded. Unlike
// net/url it refuses '[' and ']' outside an IP literal, spaces, and '%' not
// followed by two hexadecimal digits.
func CheckURI(s string) error {
	colon := strings.IndexByte(s, ':')
	if colon < 1 || !validScheme(s[:colon]) {
		return fmt.Errorf("%q: no valid scheme", s)
	}
	return checkReference(s, s[colon+1:], true)
}

// CheckURIReference reports whether s is a URI or a relative reference as
// RFC 3986 §4.1 defines them.
func CheckURIReference(s string) error {
	colon := strings.IndexByte(s, ':')
	end := strings.IndexAny(s, "/?#")
	if colon >= 0 && (end < 0 || colon < end) {
		return CheckURI(s)
	}
	return checkReference(s, s, false)
}

// checkReference checks what follows the scheme (rest) of the URI s, or
// the relative reference s itself.
func checkReference(s, rest string, absolute bool) error {
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		if !allOf(rest[i+1:], isQueryChar) {
			return fmt.Errorf("%q: invalid fragment", s)
		}
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		if !allOf(rest[i+1:], isQueryChar) {
			return fmt.Errorf("%q: invalid query %q", s, rest[i+1:])
		}
		rest = rest[:i]
	}
	path := rest
	if strings.HasPrefix(rest, "//") {
		auth := rest[2:]
		path = ""
		if i := strings.IndexByte(auth, '/'); i >= 0 {
			auth, path = auth[:i], auth[i:]
		}
		if err := checkAuthority(auth); err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
	} else if !absolute {
		// A relative path's first segment has no colon (§4.2).
		first, _, _ := strings.Cut(path, "/")
		if strings.Contains(first, ":") {
			return fmt.Errorf("%q: colon in the first segment of a relative path", s)
		}
	}
	if strings.HasPrefix(path, "//") {
		return fmt.Errorf("%q: path begins with //", s)
	}
	for seg := range strings.SplitSeq(path, "/") {
		if !allOf(seg, isPathChar) {
			return fmt.Errorf("%q: invalid path segment %q", s, seg)
		}
	}
	return nil
}

// checkAuthority checks [ userinfo "@" ] host [ ":" port ].
func checkAuthority(auth string) error {
	if i := strings.LastIndexByte(auth, '@'); i >= 0 {
		if !allOf(auth[:i], func(s string, j int) int {
			if s[j] == ':' {
				return 1
			}
			return isRegNameChar(s, j)
		}) {
			return fmt.Errorf("invalid userinfo")
		}
		auth = auth[i+1:]
	}
	host, port := auth, ""
	if strings.HasPrefix(auth, "[") {
		end := strings.IndexByte(auth, ']')
		if end < 0 {
			return fmt.Errorf("unterminated IP literal")
		}
		lit := auth[1:end]
		if lit == "" || strings.Trim(lit, "0123456789abcdefABCDEF:.") != "" {
			return fmt.Errorf("invalid IP literal %q", lit)
		}
		host, port = "", auth[end+1:]
		if port != "" && port[0] != ':' {
			return fmt.Errorf("junk after IP literal")
		}
	} else if i := strings.LastIndexByte(auth, ':'); i >= 0 {
		host, port = auth[:i], auth[i:]
	}
	if !allOf(host, isRegNameChar) {
		return fmt.Errorf("invalid host %q", host)
	}
	if port != "" && strings.Trim(port[1:], "0123456789") != "" {
		return fmt.Errorf("invalid port %q", port)
	}
	return nil
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// allOf reports whether s is a sequence of items each accepted by item,
// which returns the length of the item at j or 0.
func allOf(s string, item func(s string, j int) int) bool {
	for j := 0; j < len(s); {
		n := item(s, j)
		if n == 0 {
			return false
		}
		j += n
	}
	return true
}

// isRegNameChar accepts unreserved / pct-encoded / sub-delims.
func isRegNameChar(s string, j int) int {
	c := s[j]
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return 1
	case strings.IndexByte("-._~", c) >= 0, strings.IndexByte("!$&'()*+,;=", c) >= 0:
		return 1
	case c == '%' && j+2 < len(s) && isHex(s[j+1]) && isHex(s[j+2]):
		return 3
	}
	return 0
}

// isPathChar accepts pchar.
func isPathChar(s string, j int) int {
	if s[j] == ':' || s[j] == '@' {
		return 1
	}
	return isRegNameChar(s, j)
}

// isQueryChar accepts pchar / "/" / "?".
func isQueryChar(s string, j int) int {
	if s[j] == '/' || s[j] == '?' {
		return 1
	}
	return isPathChar(s, j)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// CheckLinks checks every link of a JSON document: each string member, and
// each href of a link object, under any "links" object at any depth. A
// link starting with a scheme must be a URI, any other a URI reference.
// It returns the first bad link, with where it is.
func CheckLinks(body []byte) error {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return err
	}
	return walkLinks(doc, "")
}

func walkLinks(v any, at string) error {
	switch v := v.(type) {
	case []any:
		for i, x := range v {
			if err := walkLinks(x, fmt.Sprintf("%s/%d", at, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, x := range v {
			if links, ok := x.(map[string]any); ok && k == "links" {
				for name, l := range links {
					if err := checkLink(l); err != nil {
						return fmt.Errorf("%s/links/%s: %w", at, name, err)
					}
				}
				continue
			}
			if err := walkLinks(x, at+"/"+k); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkLink checks one member of a links object: null, a string, or a
// link object with an href.
func checkLink(l any) error {
	switch l := l.(type) {
	case nil:
		return nil
	case string:
		return CheckURIReference(l)
	case map[string]any:
		href, ok := l["href"].(string)
		if !ok {
			return fmt.Errorf("link object without a string href")
		}
		return CheckURIReference(href)
	}
	return fmt.Errorf("link of type %T", l)
}
