-- Events and device tokens.
--
-- Event indexes end in the id, so that lists ordered by (occurred_at, id)
-- need no sort, and they start with the customer, as every query does. The
-- (customer_id, device_id, id) index serves live-stream resumes ("the
-- events of a device after id X"), the latest id of a device and event
-- counts; the UNIQUE (device_id, idempotency_key) constraint of 0001 serves
-- the cascade from devices. They replace the indexes of 0001 without the
-- id.
DROP INDEX events_customer_id_occurred_at_idx;
DROP INDEX events_device_id_occurred_at_idx;
DROP INDEX events_customer_id_type_occurred_at_idx;

CREATE INDEX events_customer_id_occurred_at_id_idx ON events (customer_id, occurred_at, id);
CREATE INDEX events_customer_id_type_occurred_at_id_idx ON events (customer_id, type, occurred_at, id);
CREATE INDEX events_customer_id_device_id_occurred_at_id_idx ON events (customer_id, device_id, occurred_at, id);
CREATE INDEX events_customer_id_device_id_id_idx ON events (customer_id, device_id, id);

-- The catalogue of device tokens: what lists show and the token family to
-- revoke. The token itself is only in the token store, under its keyed
-- hash. Rows go with their device.
CREATE TABLE device_tokens (
	id          TEXT PRIMARY KEY,
	customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	family_id   TEXT NOT NULL,
	name        TEXT NOT NULL,
	permissions TEXT NOT NULL DEFAULT '[]',
	created_at  TIMESTAMP NOT NULL,
	expires_at  TIMESTAMP,
	CONSTRAINT device_tokens_family_id_key UNIQUE (family_id)
);
CREATE INDEX device_tokens_device_id_created_at_id_idx ON device_tokens (device_id, created_at, id);
