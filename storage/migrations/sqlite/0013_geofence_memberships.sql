-- Geofence memberships: the geogroups each device is inside, as the
-- ingest of location events last decided them (storage/geofence.go). A
-- row means "inside"; no row, "outside". Ingest reads and writes a
-- device's rows in the transaction that stores its location event, under
-- the device row's lock, and adds a geofence event for every row it adds
-- (entered) or removes (left).
--
-- customers.geofence_version counts the changes of the customer's
-- geogroups (each create, update and delete adds one);
-- devices.geofence_version is the version the device's memberships were
-- decided at (NULL: never). When they differ, the next location event
-- first decides the memberships of the device's previous position afresh,
-- without events, so that a changed geogroup yields no bogus crossing.
CREATE TABLE geofence_memberships (
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	geogroup_id TEXT NOT NULL REFERENCES geogroups (id) ON DELETE CASCADE,
	PRIMARY KEY (device_id, geogroup_id)
);
CREATE INDEX geofence_memberships_geogroup_id_idx ON geofence_memberships (geogroup_id);

ALTER TABLE customers ADD COLUMN geofence_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN geofence_version BIGINT;

-- Geofence events are stored with the device's other events. SQLite
-- cannot change a CHECK constraint: the table is rebuilt as 0011 left it
-- (idempotency keys in event_idempotency), with the same indexes (nothing
-- references events).
CREATE TABLE events_geofence (
	id          TEXT PRIMARY KEY,
	customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	type        TEXT NOT NULL CHECK (type IN ('location', 'temperature', 'shock', 'battery', 'status', 'geofence')),
	occurred_at TIMESTAMP NOT NULL,
	received_at TIMESTAMP NOT NULL,
	payload     TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO events_geofence (id, customer_id, device_id, type, occurred_at, received_at, payload)
	SELECT id, customer_id, device_id, type, occurred_at, received_at, payload FROM events;
DROP TABLE events;
ALTER TABLE events_geofence RENAME TO events;
CREATE INDEX events_customer_id_occurred_at_id_idx ON events (customer_id, occurred_at, id);
CREATE INDEX events_customer_id_type_occurred_at_id_idx ON events (customer_id, type, occurred_at, id);
CREATE INDEX events_customer_id_device_id_occurred_at_id_idx ON events (customer_id, device_id, occurred_at, id);
CREATE INDEX events_customer_id_device_id_id_idx ON events (customer_id, device_id, id);
CREATE INDEX events_device_id_idx ON events (device_id);
