package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver for database/sql

	"github.com/redis/go-redis/v9"
)

// This file holds the reference rows of make bench, done as a careful
// hand-written server would: one Redis GET for the token, then
//
//	GET  /pg-row     one PostgreSQL row by primary key;
//	GET  /pg-list    a count read from a maintained counter row and a
//	                 25-row page of an indexed 10,000-row table (100
//	                 groups), rendered as a JSON:API-shaped document with
//	                 encoding/json;
//	POST /pg-insert  one INSERT of the request's JSON payload.
//
// The tables live in the database given with -postgres, made and analysed
// at start-up.

// refCustomer owns every reference row.
const refCustomer = "00000000-0000-7000-8000-000000000001"

// refSchema makes and seeds the reference tables.
const refSchema = `
CREATE TABLE ref_users (id uuid PRIMARY KEY, email text NOT NULL);
CREATE TABLE ref_groups (id uuid PRIMARY KEY, customer_id uuid NOT NULL, name text NOT NULL);
CREATE TABLE ref_devices (
	id uuid PRIMARY KEY, customer_id uuid NOT NULL, group_id uuid REFERENCES ref_groups (id),
	name text NOT NULL, imei text NOT NULL, fault boolean NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX ref_devices_list ON ref_devices (customer_id, created_at, id);
CREATE TABLE ref_device_counts (customer_id uuid PRIMARY KEY, n bigint NOT NULL);
CREATE TABLE ref_events (id bigserial PRIMARY KEY, customer_id uuid NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO ref_users VALUES ('00000000-0000-7000-8000-0000000000aa', 'bench@example.com');
INSERT INTO ref_groups SELECT ('00000000-0000-7000-8001-' || lpad(g::text, 12, '0'))::uuid, '` + refCustomer + `', 'Group ' || g
	FROM generate_series(1, 100) g;
INSERT INTO ref_devices SELECT ('00000000-0000-7000-8002-' || lpad(i::text, 12, '0'))::uuid, '` + refCustomer + `',
	('00000000-0000-7000-8001-' || lpad((i % 100 + 1)::text, 12, '0'))::uuid,
	'Device ' || lpad(i::text, 6, '0'), lpad(i::text, 15, '0'), i % 10 = 0, now() - make_interval(secs => 10000 - i)
	FROM generate_series(1, 10000) i;
INSERT INTO ref_device_counts VALUES ('` + refCustomer + `', 10000);
ANALYZE ref_users, ref_groups, ref_devices, ref_device_counts, ref_events;
`

// refDevice is one resource object of /pg-list.
type refDevice struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Attributes struct {
		Name      string `json:"name"`
		IMEI      string `json:"imei"`
		Fault     bool   `json:"fault"`
		CreatedAt string `json:"created_at"`
	} `json:"attributes"`
	Relationships struct {
		Group struct {
			Data *refIdentifier `json:"data"`
		} `json:"group"`
	} `json:"relationships"`
	Links struct {
		Self string `json:"self"`
	} `json:"links"`
}

type refIdentifier struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// refRoutes adds the reference routes to mux, on the database at pgURL,
// whose reference tables it makes first.
func refRoutes(ctx context.Context, mux *http.ServeMux, rc *redis.Client, pgURL string) (func(), error) {
	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(64)
	if _, err := db.ExecContext(ctx, refSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("reference tables: %w", err)
	}
	token := func(r *http.Request) bool { return rc.Get(r.Context(), "baseline:key").Err() == nil }
	mux.HandleFunc("GET /pg-row", func(w http.ResponseWriter, r *http.Request) {
		if !token(r) {
			http.Error(w, "redis", http.StatusBadGateway)
			return
		}
		var id, email string
		if err := db.QueryRowContext(r.Context(), `SELECT id, email FROM ref_users WHERE id = $1`, "00000000-0000-7000-8000-0000000000aa").Scan(&id, &email); err != nil {
			http.Error(w, "postgres", http.StatusBadGateway)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"me": map[string]string{"id": id, "email": email}}})
	})
	mux.HandleFunc("GET /pg-list", func(w http.ResponseWriter, r *http.Request) {
		if !token(r) {
			http.Error(w, "redis", http.StatusBadGateway)
			return
		}
		var total int
		if err := db.QueryRowContext(r.Context(), `SELECT n FROM ref_device_counts WHERE customer_id = $1`, refCustomer).Scan(&total); err != nil {
			http.Error(w, "postgres", http.StatusBadGateway)
			return
		}
		rows, err := db.QueryContext(r.Context(), `SELECT id, group_id, name, imei, fault, created_at FROM ref_devices
			WHERE customer_id = $1 ORDER BY created_at, id LIMIT 25`, refCustomer)
		if err != nil {
			http.Error(w, "postgres", http.StatusBadGateway)
			return
		}
		defer rows.Close()
		data := make([]refDevice, 0, 25)
		for rows.Next() {
			var d refDevice
			var group sql.NullString
			var created time.Time
			if err := rows.Scan(&d.ID, &group, &d.Attributes.Name, &d.Attributes.IMEI, &d.Attributes.Fault, &created); err != nil {
				http.Error(w, "postgres", http.StatusBadGateway)
				return
			}
			d.Type, d.Attributes.CreatedAt = "devices", created.UTC().Format(time.RFC3339Nano)
			d.Links.Self = "http://" + r.Host + "/api/v1/devices/" + d.ID
			if group.Valid {
				d.Relationships.Group.Data = &refIdentifier{Type: "device-groups", ID: group.String}
			}
			data = append(data, d)
		}
		if rows.Err() != nil {
			http.Error(w, "postgres", http.StatusBadGateway)
			return
		}
		self := "http://" + r.Host + "/api/v1/devices?page%5Bnumber%5D=1&page%5Bsize%5D=25"
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]int{"total": total},
			"links": map[string]any{"self": self, "first": self, "prev": nil, "next": self, "last": self}, "jsonapi": map[string]string{"version": "1.1"}})
	})
	mux.HandleFunc("POST /pg-insert", func(w http.ResponseWriter, r *http.Request) {
		if !token(r) {
			http.Error(w, "redis", http.StatusBadGateway)
			return
		}
		payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil || !json.Valid(payload) {
			http.Error(w, "payload", http.StatusBadRequest)
			return
		}
		var id int64
		if err := db.QueryRowContext(r.Context(), `INSERT INTO ref_events (customer_id, payload) VALUES ($1, $2) RETURNING id`, refCustomer, payload).Scan(&id); err != nil {
			http.Error(w, "postgres", http.StatusBadGateway)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"data": map[string]any{"type": "events", "id": fmt.Sprint(id)}})
	})
	return func() { db.Close() }, nil
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
