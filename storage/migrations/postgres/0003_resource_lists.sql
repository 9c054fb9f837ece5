-- Indexes for the resource lists. Every list is confined to one customer and
-- ordered by its sort key with the id as the last key (in the direction of
-- the sort), so each sort has an index (customer_id, key, id) that yields a
-- page without sorting, in either direction. They replace the indexes of
-- 0001 that lack the id. The stores sort NULL first ascending and last
-- descending (as SQLite does), so nullable keys are indexed NULLS FIRST: a
-- backward scan then gives DESC NULLS LAST.

DROP INDEX devices_customer_id_created_at_idx;
DROP INDEX devices_customer_id_last_event_at_idx;
DROP INDEX devices_customer_id_fault_last_event_at_idx;
DROP INDEX devices_customer_id_lower_name_idx;

CREATE INDEX devices_customer_id_created_at_id_idx ON devices (customer_id, created_at, id);
CREATE INDEX devices_customer_id_last_event_at_id_idx ON devices (customer_id, last_event_at NULLS FIRST, id);
CREATE INDEX devices_customer_id_fault_last_event_at_id_idx ON devices (customer_id, fault, last_event_at NULLS FIRST, id);
CREATE INDEX devices_customer_id_lower_name_id_idx ON devices (customer_id, lower(name), id);

CREATE INDEX device_groups_customer_id_created_at_id_idx ON device_groups (customer_id, created_at, id);
CREATE INDEX configurations_customer_id_created_at_id_idx ON configurations (customer_id, created_at, id);

-- How many devices each customer has, with and without a fault, kept by
-- statement-level triggers, so that meta.total of an unfiltered or
-- fault-only device list is one primary-key read instead of a count over
-- every matching device. Statement-level (with transition tables) so that a
-- bulk insert updates each counter row once per statement, not once per
-- device: updating one row many times in one transaction grows a chain of
-- row versions that every later update walks. Upserts take their rows in
-- primary-key order, so concurrent fault changes cannot deadlock. Deletes
-- only update existing rows: when a customer is deleted its counters are
-- cascaded away and must not be recreated.
CREATE TABLE device_counts (
	customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	fault       BOOLEAN NOT NULL,
	n           BIGINT NOT NULL,
	PRIMARY KEY (customer_id, fault)
);

INSERT INTO device_counts (customer_id, fault, n)
	SELECT customer_id, fault, COUNT(*) FROM devices GROUP BY customer_id, fault;

CREATE FUNCTION devices_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO device_counts (customer_id, fault, n)
			SELECT customer_id, fault, COUNT(*) FROM new_devices GROUP BY customer_id, fault ORDER BY customer_id, fault
			ON CONFLICT (customer_id, fault) DO UPDATE SET n = device_counts.n + EXCLUDED.n;
	ELSIF TG_OP = 'UPDATE' THEN
		INSERT INTO device_counts (customer_id, fault, n)
			SELECT customer_id, fault, SUM(delta) FROM (
				SELECT customer_id, fault, 1 AS delta FROM new_devices
				UNION ALL
				SELECT customer_id, fault, -1 AS delta FROM old_devices
			) AS d GROUP BY customer_id, fault HAVING SUM(delta) <> 0 ORDER BY customer_id, fault
			ON CONFLICT (customer_id, fault) DO UPDATE SET n = device_counts.n + EXCLUDED.n;
	ELSE
		UPDATE device_counts SET n = device_counts.n - d.n
			FROM (SELECT customer_id, fault, COUNT(*) AS n FROM old_devices GROUP BY customer_id, fault) AS d
			WHERE device_counts.customer_id = d.customer_id AND device_counts.fault = d.fault;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER devices_count_insert AFTER INSERT ON devices
	REFERENCING NEW TABLE AS new_devices FOR EACH STATEMENT EXECUTE FUNCTION devices_count();
CREATE TRIGGER devices_count_update AFTER UPDATE ON devices
	REFERENCING OLD TABLE AS old_devices NEW TABLE AS new_devices FOR EACH STATEMENT EXECUTE FUNCTION devices_count();
CREATE TRIGGER devices_count_delete AFTER DELETE ON devices
	REFERENCING OLD TABLE AS old_devices FOR EACH STATEMENT EXECUTE FUNCTION devices_count();
