package jsonapi

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/jsonapi"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// typeDeviceImportResults is the type of the results of an import.
const typeDeviceImportResults = "device-import-results"

// maxImportBytes bounds an import body: 50,000 rows of a few hundred
// bytes fit many times (a body over it is 413, like one over the row
// limit).
const maxImportBytes = 64 << 20

// importRoute is POST /devices/import: its body is a CSV or NDJSON file,
// not a JSON:API document, so it reads the Content-Type itself.
func (a *API) importRoute() *route {
	return &route{method: "POST", path: "/devices/import", ops: []scopes.Operation{scopes.OpDevicesWrite}, h: a.importDevices}
}

// importDevices serves POST /devices/import[?dry_run=true]: one result per
// row, as the primary data (device-import-results, id the row number, a
// device relationship when written), and the counts in meta. 415 for
// another media type, 413 over resource.MaxImportRows rows or
// maxImportBytes, 400 for a bad header or query.
func (a *API) importDevices(w http.ResponseWriter, r *http.Request) error {
	dryRun := false
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badParameter("", "the query string cannot be read")
	}
	for name, vs := range values {
		if name != "dry_run" {
			return badParameter(name, "query parameter "+name+" is not supported here; only dry_run")
		}
		switch vs[len(vs)-1] {
		case "true":
			dryRun = true
		case "false", "":
		default:
			return badParameter("dry_run", "dry_run must be true or false")
		}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != resource.ImportCSV && mt != resource.ImportNDJSON) {
		return unsupportedMediaType("an import must have Content-Type " + resource.ImportCSV + " or " + resource.ImportNDJSON)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes)
	rows, err := resource.ReadImport(r.Body, mt)
	switch {
	case resource.TooManyRows(err):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: resource.EInvalid, Detail: resource.ErrorMessage(err)}
	case resource.ErrorCode(err) == resource.EInvalid:
		return badBody("", resource.ErrorMessage(err))
	case err != nil:
		return err // a body over maxImportBytes (413) or a broken connection
	}
	rep, err := a.deps.Devices.Import(r.Context(), rows, dryRun)
	if err != nil {
		return err
	}
	if rep.Err != nil {
		a.log.ErrorContext(r.Context(), "device import: the database failed mid-import", "error", rep.Err,
			"created", rep.Created, "updated", rep.Updated, "failed", rep.Failed)
	}
	data := make([]*jsonapi.Node, len(rep.Results))
	for i, res := range rep.Results {
		attrs := map[string]any{"row": res.Row, "status": res.Status, "imei": res.IMEI}
		if res.Reason != "" {
			attrs["reason"] = res.Reason
		}
		if res.Field != "" {
			attrs["field"] = res.Field
		}
		n := &jsonapi.Node{Type: typeDeviceImportResults, ID: strconv.Itoa(res.Row), Attributes: attrs}
		if res.DeviceID != "" {
			n.Relationships = map[string]any{"device": &jsonapi.RelationshipOneNode{
				Data:  &jsonapi.Node{Type: typeDevices, ID: res.DeviceID},
				Links: &jsonapi.Links{"related": a.url("/devices/" + res.DeviceID)},
			}}
		}
		data[i] = n
	}
	writeDocument(w, http.StatusOK, &document{
		Data:  data,
		Links: jsonapi.Links{"self": a.requestURL(r)},
		Meta: jsonapi.Meta{"dry_run": rep.DryRun, "rows": len(rep.Results), "created": rep.Created, "updated": rep.Updated,
			"refused": rep.Refused, "failed": rep.Failed},
		JSONAPI: version(),
	})
	return nil
}
