package jsonapi

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// MediaType is the JSON:API media type; every request body must carry it and
// every response has it.
const MediaType = "application/vnd.api+json"

// checkContentType enforces JSON:API 1.1 on a request body's media type:
// it must be MediaType with no parameters but profile. An ext parameter
// names an extension assetgate does not support, so it is refused like any
// other parameter (415, pointing at the Content-Type header).
func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return unsupportedMediaType("a request body must have Content-Type " + MediaType)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != MediaType {
		return unsupportedMediaType("a request body must have Content-Type " + MediaType)
	}
	for name := range params {
		switch name {
		case "profile":
		case "ext":
			return unsupportedMediaType("no JSON:API extension is supported")
		default:
			return unsupportedMediaType("the media type " + MediaType + " takes no parameter " + strconv.Quote(name))
		}
	}
	return nil
}

// checkAccept enforces JSON:API 1.1 on the Accept header: without one
// anything goes; with one, some entry of non-zero quality must be */*,
// application/*, or MediaType with no parameters but profile. Otherwise
// 406.
func checkAccept(r *http.Request) error {
	values := r.Header.Values("Accept")
	if len(values) == 0 {
		return nil
	}
	for _, v := range values {
		for entry := range strings.SplitSeq(v, ",") {
			if acceptable(strings.TrimSpace(entry)) {
				return nil
			}
		}
	}
	return &apiError{Status: http.StatusNotAcceptable, Code: "NotAcceptable", Header: "Accept",
		Detail: "the Accept header must allow " + MediaType + " without parameters other than profile"}
}

// acceptable reports whether one Accept entry lets the server answer with
// the JSON:API media type.
func acceptable(entry string) bool {
	if entry == "" {
		return false
	}
	mt, params, err := mime.ParseMediaType(entry)
	if err != nil {
		return false
	}
	if q, ok := params["q"]; ok {
		if x, err := strconv.ParseFloat(q, 64); err != nil || x <= 0 {
			return false
		}
	}
	switch mt {
	case "*/*", "application/*":
		return true
	case MediaType:
		for name := range params {
			if name != "profile" && name != "q" {
				return false
			}
		}
		return true
	}
	return false
}

func unsupportedMediaType(detail string) error {
	return &apiError{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType", Header: "Content-Type", Detail: detail}
}
