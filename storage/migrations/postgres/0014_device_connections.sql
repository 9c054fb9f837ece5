-- The MQTT connection state that device lists filter on, mirrored from
-- the connection store (Redis, or the replica's memory) so that
-- filter[connected] runs in SQL with the other filters and the count. One
-- row per device that ever connected: its latest session, on which replica.
-- A row counts as connected only while its replica's lease in
-- mqtt_replicas runs: a replica that dies without ending its sessions
-- stops renewing its lease, and its devices read disconnected once it
-- expires (the next replica to renew marks them so).
CREATE TABLE device_connections (
	device_id       TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
	customer_id     TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	connected       BOOLEAN NOT NULL,
	connected_at    TIMESTAMP NOT NULL,
	disconnected_at TIMESTAMP,
	replica         TEXT NOT NULL,
	session         TEXT NOT NULL
);
CREATE INDEX device_connections_customer_id_connected_idx ON device_connections (customer_id, connected, device_id);
CREATE INDEX device_connections_replica_idx ON device_connections (replica) WHERE connected;

-- The leases of the replicas running an MQTT listener, renewed every few
-- seconds.
CREATE TABLE mqtt_replicas (
	id          TEXT PRIMARY KEY,
	lease_until TIMESTAMP NOT NULL
);
