package main

import (
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/assetgate/assetgate/oauth"
)

// routeMethods are the methods noRoute tries to tell 405 from 404.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// noRoute answers the requests that no other route of mux serves; mount it
// at "/". A path that mux serves with other methods is 405 with Allow,
// anything else 404. Clients that prefer HTML (browsers) get a small page
// in the style of the OAuth pages, the others a JSON error
// {"error", "error_description"}; both carry the pages' security headers.
func noRoute(mux *http.ServeMux, pages *oauth.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range routeMethods {
			other := r.WithContext(r.Context())
			other.Method = m
			if _, pattern := mux.Handler(other); pattern != "" && pattern != "/" {
				allow = append(allow, m)
			}
		}
		status, code, title, message := http.StatusNotFound, "not_found", "Page not found", "There is no page at this address."
		if len(allow) > 0 {
			slices.Sort(allow)
			w.Header().Set("Allow", strings.Join(allow, ", "))
			status, code, title = http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed"
			message = r.Method + " is not allowed at this address; it answers " + strings.Join(allow, ", ") + "."
		}
		if prefersHTML(r.Header.Get("Accept")) {
			pages.StatusPage(w, status, title, message)
			return
		}
		pages.SetPageHeaders(w)
		writeJSON(w, status, map[string]string{"error": code, "error_description": message})
	})
}

// prefersHTML reports whether an Accept header asks for HTML before JSON:
// text/html or application/xhtml+xml with a quality above 0 and no lower
// than application/json's. Wildcards count for neither, so curl's */*
// gets JSON.
func prefersHTML(accept string) bool {
	var html, json float64
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			html = max(html, q)
		case "application/json":
			json = max(json, q)
		}
	}
	return html > 0 && html >= json
}
