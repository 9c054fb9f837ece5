-- assetgate's initial schema for SQLite.
-- Ids are UUIDv7 strings. Times are TIMESTAMP columns written by the driver in
-- UTC ("2006-01-02 15:04:05.999999999-07:00"), so text order is time order.
-- Booleans are INTEGER 0/1. JSON is TEXT. Tables are ordered so that every
-- foreign key names a table created before it.

CREATE TABLE customers (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL
);
CREATE INDEX customers_name_idx ON customers (name);

CREATE TABLE users (
	id                  TEXT PRIMARY KEY,
	customer_id         TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	email               TEXT NOT NULL,
	password_hash       TEXT NOT NULL,
	external_token_hash TEXT,
	created_at          TIMESTAMP NOT NULL,
	updated_at          TIMESTAMP NOT NULL,
	CONSTRAINT users_email_key UNIQUE (email),
	CONSTRAINT users_external_token_hash_key UNIQUE (external_token_hash)
);
CREATE INDEX users_customer_id_idx ON users (customer_id);

CREATE TABLE applications (
	id                             TEXT PRIMARY KEY,
	customer_id                    TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	owner_id                       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name                           TEXT NOT NULL,
	secret_hash                    TEXT NOT NULL DEFAULT '',
	grant_types                    TEXT NOT NULL DEFAULT '[]',
	redirect_uris                  TEXT NOT NULL DEFAULT '[]',
	post_logout_redirect_uris      TEXT NOT NULL DEFAULT '[]',
	scopes                         TEXT NOT NULL DEFAULT '[]',
	token_endpoint_auth_method     TEXT NOT NULL,
	pkce_enforcement               TEXT NOT NULL,
	access_token_ttl               INTEGER NOT NULL,
	refresh_token_duration         INTEGER NOT NULL,
	refresh_token_rolling_duration INTEGER NOT NULL,
	device_timeout                 INTEGER NOT NULL,
	device_polling_interval        INTEGER NOT NULL,
	enabled                        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	created_at                     TIMESTAMP NOT NULL,
	updated_at                     TIMESTAMP NOT NULL
);
CREATE INDEX applications_customer_id_created_at_idx ON applications (customer_id, created_at);
CREATE INDEX applications_owner_id_idx ON applications (owner_id);

CREATE TABLE configurations (
	id           TEXT PRIMARY KEY,
	customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	state        TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published')),
	settings     TEXT NOT NULL DEFAULT '{}',
	published_at TIMESTAMP,
	created_at   TIMESTAMP NOT NULL,
	updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX configurations_customer_id_state_idx ON configurations (customer_id, state);
CREATE INDEX configurations_customer_id_name_idx ON configurations (customer_id, name);

-- A configuration in use by a group cannot be deleted (NO ACTION, checked at
-- the end of the statement, so deleting a whole customer still cascades).
CREATE TABLE device_groups (
	id               TEXT PRIMARY KEY,
	customer_id      TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	name             TEXT NOT NULL,
	configuration_id TEXT REFERENCES configurations (id) ON DELETE NO ACTION,
	created_at       TIMESTAMP NOT NULL,
	updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX device_groups_customer_id_name_idx ON device_groups (customer_id, name);
CREATE INDEX device_groups_configuration_id_idx ON device_groups (configuration_id);

CREATE TABLE devices (
	id            TEXT PRIMARY KEY,
	customer_id   TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	group_id      TEXT REFERENCES device_groups (id) ON DELETE SET NULL,
	name          TEXT NOT NULL,
	imei          TEXT NOT NULL,
	mac           TEXT NOT NULL DEFAULT '',
	latitude      REAL,
	longitude     REAL,
	fault         INTEGER NOT NULL DEFAULT 0 CHECK (fault IN (0, 1)),
	last_event_at TIMESTAMP,
	created_at    TIMESTAMP NOT NULL,
	updated_at    TIMESTAMP NOT NULL,
	CONSTRAINT devices_customer_id_imei_key UNIQUE (customer_id, imei)
);
CREATE INDEX devices_customer_id_name_idx ON devices (customer_id, name);
CREATE INDEX devices_customer_id_lower_name_idx ON devices (customer_id, lower(name));
CREATE INDEX devices_customer_id_mac_idx ON devices (customer_id, mac);
CREATE INDEX devices_customer_id_created_at_idx ON devices (customer_id, created_at);
CREATE INDEX devices_customer_id_last_event_at_idx ON devices (customer_id, last_event_at);
CREATE INDEX devices_customer_id_fault_last_event_at_idx ON devices (customer_id, fault, last_event_at);
CREATE INDEX devices_customer_id_group_id_idx ON devices (customer_id, group_id);
CREATE INDEX devices_group_id_idx ON devices (group_id);
CREATE INDEX devices_customer_id_latitude_longitude_idx ON devices (customer_id, latitude, longitude);

-- Many events may have no idempotency key: NULLs never collide in a UNIQUE
-- constraint.
CREATE TABLE events (
	id              TEXT PRIMARY KEY,
	customer_id     TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	device_id       TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	type            TEXT NOT NULL CHECK (type IN ('location', 'temperature', 'shock', 'battery', 'status')),
	occurred_at     TIMESTAMP NOT NULL,
	received_at     TIMESTAMP NOT NULL,
	payload         TEXT NOT NULL DEFAULT '{}',
	idempotency_key TEXT,
	request_hash    TEXT,
	CONSTRAINT events_device_id_idempotency_key_key UNIQUE (device_id, idempotency_key)
);
CREATE INDEX events_customer_id_occurred_at_idx ON events (customer_id, occurred_at);
CREATE INDEX events_device_id_occurred_at_idx ON events (device_id, occurred_at);
CREATE INDEX events_customer_id_type_occurred_at_idx ON events (customer_id, type, occurred_at);
