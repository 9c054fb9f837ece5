-- The ingest state of a device, kept in its row so that an ingest reads
-- and writes one row per device instead of querying its events:
-- last_event_id is the greatest event id the device has (ids of a device
-- are assigned above it, under the row's lock); location_at and status_at
-- are when the location and status events that set its position and its
-- fault occurred (an older event does not roll them back).
ALTER TABLE devices ADD COLUMN last_event_id TEXT COLLATE "C";
ALTER TABLE devices ADD COLUMN location_at TIMESTAMPTZ;
ALTER TABLE devices ADD COLUMN status_at TIMESTAMPTZ;

UPDATE devices SET
	last_event_id = (SELECT MAX(e.id) FROM events e WHERE e.customer_id = devices.customer_id AND e.device_id = devices.id),
	location_at = (SELECT MAX(e.occurred_at) FROM events e
		WHERE e.customer_id = devices.customer_id AND e.device_id = devices.id AND e.type = 'location'),
	status_at = (SELECT MAX(e.occurred_at) FROM events e
		WHERE e.customer_id = devices.customer_id AND e.device_id = devices.id AND e.type = 'status');
