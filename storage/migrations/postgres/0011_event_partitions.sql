-- Time-partitioned events, idempotency keys of their own, retention.
--
-- events becomes a table range-partitioned by occurred_at: what lists,
-- counts and series filter by, so a query over a device's last day reads
-- one or two partitions, and retention drops whole partitions. PostgreSQL
-- wants every unique key of a partitioned table to hold the partition
-- column, so:
--   * the primary key is (id, occurred_at); ids stay unique because they
--     are UUIDv7 assigned under the device's row lock, each greater than
--     the device's latest (storage/event_commit.go);
--   * idempotency keys move to event_idempotency, an ordinary table whose
--     primary key is (customer_id, device_id, idempotency_key): a key is
--     used at most once whatever partition its events fall in. Its rows are
--     swept with the events (by occurred_at and the customer's retention).
--
-- Partitions: one per UTC day, named events_pYYYYMMDD, created ahead by
-- the server (storage/event_partitions.go); the rows that were here before
-- this migration, and any late event of a day before it, go to
-- events_until_YYYYMMDD, which holds everything before that day and is
-- dropped once that day is older than every customer's retention. There
-- is no DEFAULT partition: an event without a partition is refused at
-- ingest (older than retention) or cannot happen (the future skew is
-- minutes, partitions are made days ahead).
ALTER TABLE customers ADD COLUMN event_retention_days INTEGER NOT NULL DEFAULT 90
	CONSTRAINT customers_event_retention_days_check CHECK (event_retention_days >= 1);

CREATE TABLE event_idempotency (
	customer_id     TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	device_id       TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	idempotency_key TEXT NOT NULL,
	event_id        TEXT COLLATE "C" NOT NULL,
	occurred_at     TIMESTAMPTZ NOT NULL,
	request_hash    TEXT NOT NULL,
	CONSTRAINT event_idempotency_pkey PRIMARY KEY (customer_id, device_id, idempotency_key)
);
-- The sweep deletes a customer's keys by occurred_at; the cascade from
-- devices finds them by device.
CREATE INDEX event_idempotency_customer_id_occurred_at_idx ON event_idempotency (customer_id, occurred_at);
CREATE INDEX event_idempotency_device_id_idx ON event_idempotency (device_id);

INSERT INTO event_idempotency (customer_id, device_id, idempotency_key, event_id, occurred_at, request_hash)
SELECT customer_id, device_id, idempotency_key, id, occurred_at, COALESCE(request_hash, '')
FROM events WHERE idempotency_key IS NOT NULL;

CREATE TABLE events_partitioned (
	id          TEXT COLLATE "C" NOT NULL,
	customer_id TEXT NOT NULL CONSTRAINT events_customer_id_fkey REFERENCES customers (id) ON DELETE CASCADE,
	device_id   TEXT NOT NULL CONSTRAINT events_device_id_fkey REFERENCES devices (id) ON DELETE CASCADE,
	type        TEXT NOT NULL CONSTRAINT events_type_check CHECK (type IN ('location', 'temperature', 'shock', 'battery', 'status')),
	occurred_at TIMESTAMPTZ NOT NULL,
	received_at TIMESTAMPTZ NOT NULL,
	payload     JSONB NOT NULL DEFAULT '{}',
	CONSTRAINT events_partitioned_pkey PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- The partition of the past (up to the end of today, UTC) and those of the
-- next seven days; the server keeps creating them ahead.
DO $$
DECLARE
	today TIMESTAMPTZ := date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
	d     TIMESTAMPTZ;
BEGIN
	EXECUTE format('CREATE TABLE %I PARTITION OF events_partitioned FOR VALUES FROM (MINVALUE) TO (%L)',
		'events_until_' || to_char((today + interval '1 day') AT TIME ZONE 'UTC', 'YYYYMMDD'), today + interval '1 day');
	FOR i IN 1..7 LOOP
		d := today + i * interval '1 day';
		EXECUTE format('CREATE TABLE %I PARTITION OF events_partitioned FOR VALUES FROM (%L) TO (%L)',
			'events_p' || to_char(d AT TIME ZONE 'UTC', 'YYYYMMDD'), d, d + interval '1 day');
	END LOOP;
END $$;

INSERT INTO events_partitioned (id, customer_id, device_id, type, occurred_at, received_at, payload)
SELECT id, customer_id, device_id, type, occurred_at, received_at, payload FROM events;

DROP TABLE events;
ALTER TABLE events_partitioned RENAME TO events;
ALTER TABLE events RENAME CONSTRAINT events_partitioned_pkey TO events_pkey;

-- Indexes of the parent, made on every partition (and on those to come).
-- They start with the customer (every query does; and the distribution
-- column on Citus, see docs/operations.md) and end in the id so that lists
-- ordered by (occurred_at, id) need no sort. (customer_id, device_id, id)
-- serves live-stream resumes and a device's latest id.
CREATE INDEX events_customer_id_occurred_at_id_idx ON events (customer_id, occurred_at, id);
CREATE INDEX events_customer_id_type_occurred_at_id_idx ON events (customer_id, type, occurred_at, id);
CREATE INDEX events_customer_id_device_id_occurred_at_id_idx ON events (customer_id, device_id, occurred_at, id);
CREATE INDEX events_customer_id_device_id_id_idx ON events (customer_id, device_id, id);
-- The cascade from devices.
CREATE INDEX events_device_id_idx ON events (device_id);
