-- Indexes for the resource lists. Every list is confined to one customer and
-- ordered by its sort key with the id as the last key (in the direction of
-- the sort), so each sort has an index (customer_id, key, id) that yields a
-- page without sorting, in either direction. They replace the indexes of
-- 0001 that lack the id. SQLite sorts NULL first ascending and last
-- descending, which is the order the stores ask for.

DROP INDEX devices_customer_id_created_at_idx;
DROP INDEX devices_customer_id_last_event_at_idx;
DROP INDEX devices_customer_id_fault_last_event_at_idx;
DROP INDEX devices_customer_id_lower_name_idx;

CREATE INDEX devices_customer_id_created_at_id_idx ON devices (customer_id, created_at, id);
CREATE INDEX devices_customer_id_last_event_at_id_idx ON devices (customer_id, last_event_at, id);
CREATE INDEX devices_customer_id_fault_last_event_at_id_idx ON devices (customer_id, fault, last_event_at, id);
CREATE INDEX devices_customer_id_lower_name_id_idx ON devices (customer_id, lower(name), id);

CREATE INDEX device_groups_customer_id_created_at_id_idx ON device_groups (customer_id, created_at, id);
CREATE INDEX configurations_customer_id_created_at_id_idx ON configurations (customer_id, created_at, id);

-- How many devices each customer has, with and without a fault, kept by
-- triggers, so that meta.total of an unfiltered or fault-only device list is
-- one primary-key read instead of a count over every matching device.
CREATE TABLE device_counts (
	customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	fault       INTEGER NOT NULL CHECK (fault IN (0, 1)),
	n           INTEGER NOT NULL,
	PRIMARY KEY (customer_id, fault)
) WITHOUT ROWID;

INSERT INTO device_counts (customer_id, fault, n)
	SELECT customer_id, fault, COUNT(*) FROM devices GROUP BY customer_id, fault;

CREATE TRIGGER devices_count_insert AFTER INSERT ON devices BEGIN
	INSERT INTO device_counts (customer_id, fault, n) VALUES (NEW.customer_id, NEW.fault, 1)
		ON CONFLICT (customer_id, fault) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER devices_count_delete AFTER DELETE ON devices BEGIN
	UPDATE device_counts SET n = n - 1 WHERE customer_id = OLD.customer_id AND fault = OLD.fault;
END;

CREATE TRIGGER devices_count_update AFTER UPDATE OF customer_id, fault ON devices
	WHEN OLD.customer_id <> NEW.customer_id OR OLD.fault <> NEW.fault
BEGIN
	UPDATE device_counts SET n = n - 1 WHERE customer_id = OLD.customer_id AND fault = OLD.fault;
	INSERT INTO device_counts (customer_id, fault, n) VALUES (NEW.customer_id, NEW.fault, 1)
		ON CONFLICT (customer_id, fault) DO UPDATE SET n = n + 1;
END;
