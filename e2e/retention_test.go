package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestEventRetentionSweep: an operator shortens a customer's retention
// with the CLI; the server's background sweep (every
// ASSETGATE_RETENTION_INTERVAL) deletes the customer's older events, logs
// it, and keeps the recent ones.
func TestEventRetentionSweep(t *testing.T) {
	for name, newEnv := range envs() {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			cust := mustCLI(t, env, "", "customer", "create", "--name", "Fleet")
			if cust["event_retention_days"] != float64(resource.DefaultEventRetentionDays) {
				t.Fatalf("a new customer %v, want a retention of %d days", cust, resource.DefaultEventRetentionDays)
			}
			id := cust["id"].(string)
			if r := runCLI(t, env, "", "customer", "update", id, "--event-retention-days", "0"); r.err == nil ||
				!strings.Contains(r.stderr, "event_retention_days must be 1 to") {
				t.Fatalf("a retention of 0 days: %v, stderr %q", r.err, r.stderr)
			}
			if r := runCLI(t, env, "", "customer", "update", resource.NewID(), "--event-retention-days", "3"); r.err == nil ||
				!strings.Contains(r.stderr, "not found") {
				t.Fatalf("an unknown customer: %v, stderr %q", r.err, r.stderr)
			}

			ctx := context.Background()
			db, err := storage.Open(ctx, env.Get("ASSETGATE_DATABASE_URL"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			d := storagetest.MustCreateDevice(t, storage.NewDeviceStore(db), storagetest.NewDevice(id, time.Now()))
			events := storage.NewEventStore(db)
			now := time.Now().UTC()
			storagetest.MustCreateEvents(t, events,
				storagetest.NewEvent(id, d.ID, resource.EventShock, now.Add(-5*24*time.Hour)),
				storagetest.NewEvent(id, d.ID, resource.EventShock, now.Add(-4*24*time.Hour)))
			recent := storagetest.MustCreateEvents(t, events, storagetest.NewEvent(id, d.ID, resource.EventShock, now.Add(-time.Hour)))

			updated := mustCLI(t, env, "", "customer", "update", id, "--event-retention-days", "3")
			if updated["event_retention_days"] != 3.0 || updated["id"] != id {
				t.Fatalf("update printed %v", updated)
			}

			srv := startServer(t, env.With("ASSETGATE_RETENTION_INTERVAL", "1s").With("ASSETGATE_LOG_LEVEL", "info"))
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(srv.stderr.String(), `"customer_id":"`+id+`"`) {
				if time.Now().After(deadline) {
					t.Fatalf("no sweep of the customer logged within 30s; stderr:\n%s", srv.stderr.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			var ids []string
			if err := db.SelectContext(ctx, &ids, db.Rebind(`SELECT id FROM events WHERE customer_id = ?`), id); err != nil {
				t.Fatal(err)
			}
			if len(ids) != 1 || ids[0] != recent[0].ID {
				t.Errorf("events left %v, want only the recent %s", ids, recent[0].ID)
			}
			if !strings.Contains(srv.stderr.String(), `"msg":"event retention: customer swept"`) ||
				!strings.Contains(srv.stderr.String(), `"events_deleted":2`) {
				t.Errorf("the sweep's progress is not logged:\n%s", srv.stderr.String())
			}
		})
	}
}
