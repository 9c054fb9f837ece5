-- Idempotency keys of their own, retention (the PostgreSQL migration of the
-- same number also partitions events by time; SQLite keeps one table, and
-- retention deletes its rows in bounded batches).
--
-- Idempotency keys move to event_idempotency as on PostgreSQL (where a
-- partitioned table cannot hold a unique key without the partition
-- column), so that both databases run the same ingest: events is rebuilt
-- without its idempotency_key and request_hash columns.
ALTER TABLE customers ADD COLUMN event_retention_days INTEGER NOT NULL DEFAULT 90
	CONSTRAINT customers_event_retention_days_check CHECK (event_retention_days >= 1);

CREATE TABLE event_idempotency (
	customer_id     TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	device_id       TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	idempotency_key TEXT NOT NULL,
	event_id        TEXT NOT NULL,
	occurred_at     TIMESTAMP NOT NULL,
	request_hash    TEXT NOT NULL,
	CONSTRAINT event_idempotency_pkey PRIMARY KEY (customer_id, device_id, idempotency_key)
);
CREATE INDEX event_idempotency_customer_id_occurred_at_idx ON event_idempotency (customer_id, occurred_at);
CREATE INDEX event_idempotency_device_id_idx ON event_idempotency (device_id);

INSERT INTO event_idempotency (customer_id, device_id, idempotency_key, event_id, occurred_at, request_hash)
SELECT customer_id, device_id, idempotency_key, id, occurred_at, COALESCE(request_hash, '')
FROM events WHERE idempotency_key IS NOT NULL;

CREATE TABLE events_rebuilt (
	id          TEXT PRIMARY KEY,
	customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	type        TEXT NOT NULL CHECK (type IN ('location', 'temperature', 'shock', 'battery', 'status')),
	occurred_at TIMESTAMP NOT NULL,
	received_at TIMESTAMP NOT NULL,
	payload     TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO events_rebuilt (id, customer_id, device_id, type, occurred_at, received_at, payload)
SELECT id, customer_id, device_id, type, occurred_at, received_at, payload FROM events;
DROP TABLE events;
ALTER TABLE events_rebuilt RENAME TO events;

CREATE INDEX events_customer_id_occurred_at_id_idx ON events (customer_id, occurred_at, id);
CREATE INDEX events_customer_id_type_occurred_at_id_idx ON events (customer_id, type, occurred_at, id);
CREATE INDEX events_customer_id_device_id_occurred_at_id_idx ON events (customer_id, device_id, occurred_at, id);
CREATE INDEX events_customer_id_device_id_id_idx ON events (customer_id, device_id, id);
CREATE INDEX events_device_id_idx ON events (device_id);
