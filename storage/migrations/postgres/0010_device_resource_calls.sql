-- The audit rows of device resource calls: who called which resource of
-- which device, when, for how long, and how it ended. Rows go with their
-- device. Lists read a device's latest calls.
CREATE TABLE device_resource_calls (
	id          TEXT PRIMARY KEY,
	customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	resource    TEXT NOT NULL,
	caller      TEXT NOT NULL,
	started_at  TIMESTAMP NOT NULL,
	duration_us BIGINT NOT NULL,
	outcome     TEXT NOT NULL
);
CREATE INDEX device_resource_calls_customer_id_device_id_started_at_idx
	ON device_resource_calls (customer_id, device_id, started_at, id);
