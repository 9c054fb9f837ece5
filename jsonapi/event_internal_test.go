package jsonapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// TestEventNodeIsTheLibrarysNode checks that the resource object built
// directly for ingest answers and live streams is, byte for byte, the one
// the presenter makes through the library, with and without a sparse
// fieldset.
func TestEventNodeIsTheLibrarysNode(t *testing.T) {
	a := New(Deps{BaseURL: "https://x.example"})
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	e := &resource.Event{ID: resource.NewID(), CustomerID: resource.NewID(), DeviceID: resource.NewID(), Type: resource.EventLocation,
		OccurredAt: at, ReceivedAt: at.Add(time.Second), Payload: map[string]any{resource.PayloadLatitude: 48.5, resource.PayloadLongitude: -2.25}}
	for _, fields := range []map[string][]string{nil, {typeEvents: {"payload"}}, {typeEvents: {"device"}}, {typeEvents: {}}} {
		b := a.builder(resource.Query{Fields: fields})
		want, err := b.node(a.presentEvent(e))
		if err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(want)
		gotJSON, _ := json.Marshal(b.eventNode(e))
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("fields %v:\n got %s\nwant %s", fields, gotJSON, wantJSON)
		}
	}
}
