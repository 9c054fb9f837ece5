package jsonapi

import (
	"net/http"
	"slices"
	"strings"
)

// fallback answers, as JSON:API errors, the requests under BasePath that no
// route serves: 405 with an Allow header when the path exists with other
// methods, 404 otherwise. It needs no token.
func (a *API) fallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, rt := range a.routes {
			if pathMatches(BasePath+rt.path, r.URL.Path) && !slices.Contains(allow, rt.method) {
				allow = append(allow, rt.method)
			}
		}
		if r.URL.Path == BasePath+"/openapi.json" {
			allow = append(allow, http.MethodGet)
		}
		if len(allow) == 0 {
			a.writeError(w, r, nil, &apiError{Status: http.StatusNotFound, Code: "NotFound", Detail: "no such resource or route"})
			return
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		a.writeError(w, r, nil, &apiError{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed",
			Detail: r.Method + " is not allowed here; allowed: " + strings.Join(allow, ", ")})
	})
}

// pathMatches reports whether path fits a route path template whose
// {name} segments match any one non-empty segment.
func pathMatches(template, path string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i, t := range ts {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if ps[i] == "" {
				return false
			}
		} else if t != ps[i] {
			return false
		}
	}
	return true
}
