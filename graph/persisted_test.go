package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/assetgate/assetgate/graph"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func sha(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}

// persisted is the APQ extension of a document.
func persisted(doc string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": sha(doc)}}
}

// getPersisted sends a persisted query by GET, as a CDN would pass it on.
func getPersisted(t *testing.T, base, token, doc string, vars map[string]any) gqlResponse {
	t.Helper()
	ext, _ := json.Marshal(persisted(doc))
	q := url.Values{"extensions": {string(ext)}}
	if vars != nil {
		v, _ := json.Marshal(vars)
		q.Set("variables", string(v))
	}
	req, _ := http.NewRequest(http.MethodGet, base+"?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return send(t, req)
}

// TestAutomaticPersistedQueries runs the APQ round trip: an unknown hash
// is PERSISTED_QUERY_NOT_FOUND, the query with its hash registers it, and
// then the hash alone runs it, by POST and by GET. With Redis, a query one
// replica has seen runs on another.
func TestAutomaticPersistedQueries(t *testing.T) {
	const doc = `query Dev($id: ID!) { device(id: $id) { id name } }`
	roundTrip := func(t *testing.T, e *env, other string) {
		tok := e.me(e.a)
		vars := map[string]any{"id": e.a.device.ID}
		e.do(t, tok, map[string]any{"extensions": persisted(doc), "variables": vars}).fails(t, "PERSISTED_QUERY_NOT_FOUND")
		getPersisted(t, e.url, tok, doc, vars).fails(t, "PERSISTED_QUERY_NOT_FOUND")
		if r := e.do(t, tok, map[string]any{"query": doc + " ", "extensions": persisted(doc)}); len(r.Errors) == 0 ||
			r.Errors[0].Message != "provided APQ hash does not match query" || r.Data != nil {
			t.Fatalf("a query under another hash: %+v", r)
		}
		d := e.do(t, tok, map[string]any{"query": doc, "extensions": persisted(doc), "variables": vars}).ok(t)
		if get(d, "device.id") != e.a.device.ID {
			t.Fatalf("register: %v", d)
		}
		for _, base := range []string{e.url, other} {
			d = getPersisted(t, base, tok, doc, vars).ok(t)
			if get(d, "device.name") != e.a.device.Name {
				t.Fatalf("GET %s: %v", base, d)
			}
			d = e.do(t, tok, map[string]any{"extensions": persisted(doc), "variables": vars}).ok(t)
			if get(d, "device.id") != e.a.device.ID {
				t.Fatalf("POST: %v", d)
			}
		}
		// GET runs queries only.
		mut := `mutation { createDeviceGroup(input: {name: "By GET"}) { deviceGroup { id } } }`
		e.do(t, tok, map[string]any{"query": mut, "extensions": persisted(mut)}).ok(t)
		if r := getPersisted(t, e.url, tok, mut, nil); r.status == http.StatusOK || r.Data != nil {
			t.Fatalf("a mutation by GET: %d %v", r.status, r.Data)
		}
	}
	t.Run("Memory", func(t *testing.T) {
		e := newEnv(t, storage.SQLite, options{})
		roundTrip(t, e, e.url)
	})
	t.Run("Redis", func(t *testing.T) {
		rc := storagetest.MustOpenRedis(t)
		prefix := storagetest.MustRedisPrefix(t, rc)
		e := newEnv(t, storage.SQLite, options{redis: rc, cfg: func(c *graph.Config) { c.RedisPrefix = prefix; c.APQTTL = time.Hour }})
		roundTrip(t, e, e.replica(t))
		got, err := rc.Get(t.Context(), prefix+sha(doc)).Result()
		must(t, err)
		ttl, err := rc.TTL(t.Context(), prefix+sha(doc)).Result()
		must(t, err)
		if got != doc || ttl <= 59*time.Minute || ttl > time.Hour {
			t.Fatalf("redis holds %q with TTL %v", got, ttl)
		}
	})
}

// TestTrustedDocuments runs the trusted documents mode: registered
// documents run by hash or by text; nothing else runs, nor is registered.
func TestTrustedDocuments(t *testing.T) {
	const doc = `query Me { me { id } }`
	e := newEnv(t, storage.SQLite, options{cfg: func(c *graph.Config) { c.TrustedDocuments = graph.TrustedDocumentsOf(doc) }})
	tok := e.me(e.a)
	if d := e.do(t, tok, map[string]any{"extensions": persisted(doc)}).ok(t); get(d, "me.id") != e.a.user.ID {
		t.Fatalf("by hash: %v", d)
	}
	if d := getPersisted(t, e.url, tok, doc, nil).ok(t); get(d, "me.id") != e.a.user.ID {
		t.Fatalf("by GET: %v", d)
	}
	e.query(t, tok, doc, nil).ok(t)
	other := `query Me { me { id email } }`
	e.query(t, tok, other, nil).fails(t, "OPERATION_NOT_TRUSTED")
	e.do(t, tok, map[string]any{"query": other, "extensions": persisted(other)}).fails(t, "OPERATION_NOT_TRUSTED")
	e.do(t, tok, map[string]any{"extensions": persisted(other)}).fails(t, "PERSISTED_QUERY_NOT_FOUND")
	// The text must be the one the hash names.
	e.do(t, tok, map[string]any{"query": other, "extensions": persisted(doc)}).fails(t, "OPERATION_NOT_TRUSTED")

	t.Run("ErrBadRegistration", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("New accepted a document under another hash")
			}
		}()
		cfg := graph.DefaultConfig()
		cfg.TrustedDocuments = map[string]string{sha(doc): other}
		graph.New(e.deps, cfg)
	})
}
