package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assetgate/assetgate/storage"
)

// killIngest is one ingest request of the kill test and what became of it.
type killIngest struct {
	device, key string
	body        []byte
	events      int
	// answered is set when the server answered 201; ids are the ids it
	// gave.
	answered bool
	ids      []string
}

// post sends the ingest to base; it reports whether the server answered
// 201, with the ids, and fails the test on any other answer.
func (in *killIngest) post(t *testing.T, client *http.Client, base, token string) bool {
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/devices/"+in.device+"/events", bytes.NewReader(in.body))
	if err != nil {
		t.Error(err)
		return false
	}
	req.Header.Set("Content-Type", "application/vnd.api+json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", in.key)
	resp, err := client.Do(req)
	if err != nil {
		return false // the server died under the request: unanswered
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false
	}
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("ingest %s answered %d: %.300s", in.key, resp.StatusCode, b)
		return false
	}
	var doc struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Errorf("ingest %s: %v", in.key, err)
		return false
	}
	type object struct {
		ID string `json:"id"`
	}
	var objs []object
	if in.events == 1 {
		var o object
		err = json.Unmarshal(doc.Data, &o)
		objs = []object{o}
	} else {
		err = json.Unmarshal(doc.Data, &objs)
	}
	if err != nil || len(objs) != in.events {
		t.Errorf("ingest %s: %d objects (%v): %.300s", in.key, len(objs), err, b)
		return false
	}
	in.ids = in.ids[:0]
	for _, o := range objs {
		in.ids = append(in.ids, o.ID)
	}
	return true
}

// killBody returns the document of n temperature events (one resource
// object when n is 1, a batch otherwise) that occurred at distinct times.
func killBody(n int, at time.Time) []byte {
	obj := func(i int) map[string]any {
		return map[string]any{"type": "events", "attributes": map[string]any{"event_type": "temperature",
			"occurred_at": at.Add(time.Duration(i) * time.Microsecond).UTC().Format(time.RFC3339Nano),
			"payload":     map[string]any{"celsius": float64(i % 100)}}}
	}
	var data any = obj(0)
	if n > 1 {
		items := make([]any, n)
		for i := range items {
			items[i] = obj(i)
		}
		data = items
	}
	b, _ := json.Marshal(map[string]any{"data": data})
	return b
}

// TestIngestSurvivesSIGKILL ingests under load against the real binary,
// kills it with SIGKILL mid-run and starts it again on the same database:
// every event answered 201 is stored exactly once, under the id it was
// answered with, and a retry of each unanswered request with its
// Idempotency-Key stores it at most once (exactly once after the retry).
func TestIngestSurvivesSIGKILL(t *testing.T) {
	for name, mk := range envs() {
		t.Run(name, func(t *testing.T) {
			env := mk(t)
			srv := startServer(t, env)
			tn := newAPITenant(t, env, newAPIClientOf(t, srv.URL), "Kill")
			c := newAPIClientOf(t, srv.URL)
			devices := []string{tn.deviceID}
			for i := range 7 {
				devices = append(devices, c.call(t, "POST", "/api/v1/devices", tn.me, apiDoc("devices", "",
					map[string]any{"name": fmt.Sprintf("Kill %d", i), "imei": testIMEI()}, nil)).id(t))
			}

			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
			const workers = 12
			var (
				mu       sync.Mutex
				all      []*killIngest
				answered atomic.Int64
				stop     atomic.Bool
				wg       sync.WaitGroup
			)
			start := time.Now().Add(-time.Hour)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; !stop.Load(); i++ {
						n := 1
						if i%4 == 3 {
							n = 20
						}
						in := &killIngest{device: devices[(w+i)%len(devices)], key: fmt.Sprintf("kill-%d-%d", w, i), events: n,
							body: killBody(n, start.Add(time.Duration(w*100_000+i)*time.Millisecond))}
						mu.Lock()
						all = append(all, in)
						mu.Unlock()
						if !in.post(t, client, srv.URL, tn.app) {
							return // the server is gone (or answered wrongly, which fails the test)
						}
						in.answered = true
						answered.Add(1)
					}
				}()
			}
			deadline := time.Now().Add(60 * time.Second)
			for answered.Load() < 150 && time.Now().Before(deadline) && !t.Failed() {
				time.Sleep(10 * time.Millisecond)
			}
			srv.kill(t)
			stop.Store(true)
			wg.Wait()
			if t.Failed() {
				return
			}
			var unanswered []*killIngest
			for _, in := range all {
				if !in.answered {
					unanswered = append(unanswered, in)
				}
			}
			t.Logf("%d requests answered 201 before SIGKILL, %d unanswered", answered.Load(), len(unanswered))
			if answered.Load() == 0 || len(unanswered) == 0 {
				t.Fatalf("the kill must land mid-run: %d answered, %d unanswered", answered.Load(), len(unanswered))
			}

			db, err := storage.Open(context.Background(), env.Get("ASSETGATE_DATABASE_URL"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// byKey returns, per idempotency key of the requests, the ids
			// stored under KEY and KEY#i.
			byKey := func() map[string][]string {
				var rows []struct {
					ID  string `db:"id"`
					Key string `db:"idempotency_key"`
				}
				if err := db.SelectContext(context.Background(), &rows, db.Rebind(`SELECT e.id, k.idempotency_key FROM events e
					JOIN event_idempotency k ON k.customer_id = e.customer_id AND k.event_id = e.id AND k.occurred_at = e.occurred_at
					WHERE e.customer_id = ? ORDER BY e.id`), tn.customerID); err != nil {
					t.Fatal(err)
				}
				out := map[string][]string{}
				for _, r := range rows {
					out[r.Key] = append(out[r.Key], r.ID)
				}
				return out
			}
			keyOf := func(in *killIngest, i int) string {
				if i == 0 {
					return in.key
				}
				return fmt.Sprintf("%s#%d", in.key, i)
			}

			srv = startServer(t, env)
			stored := byKey()
			for _, in := range all {
				for i := range in.events {
					ids := stored[keyOf(in, i)]
					switch {
					case in.answered && (len(ids) != 1 || ids[0] != in.ids[i]):
						t.Errorf("answered event %s stored as %v, want exactly [%s]", keyOf(in, i), ids, in.ids[i])
					case !in.answered && len(ids) > 1:
						t.Errorf("unanswered event %s stored %d times", keyOf(in, i), len(ids))
					}
				}
			}
			for _, in := range unanswered {
				if !in.post(t, client, srv.URL, tn.app) {
					t.Fatalf("the retry of %s was not answered 201", in.key)
				}
			}
			stored = byKey()
			total := 0
			for _, in := range all {
				total += in.events
				for i := range in.events {
					if ids := stored[keyOf(in, i)]; len(ids) != 1 || ids[0] != in.ids[i] {
						t.Errorf("after the retries, event %s is stored as %v, want exactly [%s]", keyOf(in, i), ids, in.ids[i])
					}
				}
			}
			n := 0
			for _, ids := range stored {
				n += len(ids)
			}
			if n != total {
				t.Errorf("%d events stored, %d posted", n, total)
			}
		})
	}
}
