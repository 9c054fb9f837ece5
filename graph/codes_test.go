package graph_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/assetgate/assetgate/storage"
)

// TestEveryErrorHasACode sends requests that gqlgen refuses by itself —
// a persisted query whose hash does not match, an APQ extension of an
// unknown version, a mutation over GET — and checks that each error
// carries a documented extensions.code.
func TestEveryErrorHasACode(t *testing.T) {
	e := newEnv(t, storage.SQLite, options{})
	tok := e.me(e.a)
	doc := `{ me { id } }`
	t.Run("APQHashMismatch", func(t *testing.T) {
		r := e.do(t, tok, map[string]any{"query": doc + " ", "extensions": persisted(doc)})
		r.fails(t, "BAD_REQUEST")
	})
	t.Run("APQVersion", func(t *testing.T) {
		r := e.do(t, tok, map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 2, "sha256Hash": sha(doc)}}})
		r.fails(t, "BAD_REQUEST")
	})
	t.Run("MutationOverGET", func(t *testing.T) {
		q := url.Values{"query": {`mutation { deleteDevice(input: {id: "` + e.a.device.ID + `"}) { __typename } }`}}
		req, _ := http.NewRequest(http.MethodGet, e.url+"?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		r := send(t, req)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
			t.Fatalf("status %d, Allow %q", r.status, r.header.Get("Allow"))
		}
		r.fails(t, "METHOD_NOT_ALLOWED")
		// Nothing ran.
		if _, err := e.stores.devices.FindDevice(t.Context(), e.a.customer.ID, e.a.device.ID); err != nil {
			t.Fatalf("the device is gone: %v", err)
		}
	})
}
