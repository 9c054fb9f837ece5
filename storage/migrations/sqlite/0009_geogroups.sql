-- Geogroups: named areas of a customer. The geometry is the GeoJSON the
-- client gave (checked by resource.ParseGeometry); the box columns are its
-- bounding box in degrees, longitudes unwrapped (a geometry across the
-- antimeridian may have min_lon below -180 or max_lon above 180), for the
-- look-up of the geogroups around a point.
CREATE TABLE geogroups (
	id          TEXT PRIMARY KEY,
	customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	geometry    TEXT NOT NULL,
	min_lat     REAL NOT NULL,
	max_lat     REAL NOT NULL,
	min_lon     REAL NOT NULL,
	max_lon     REAL NOT NULL,
	created_at  TIMESTAMP NOT NULL,
	updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX geogroups_customer_id_created_at_id_idx ON geogroups (customer_id, created_at, id);
CREATE INDEX geogroups_customer_id_lower_name_id_idx ON geogroups (customer_id, lower(name), id);
CREATE INDEX geogroups_customer_id_box_idx ON geogroups (customer_id, min_lat, max_lat, min_lon, max_lon);

-- The geogroup filters of device lists first select the devices of the
-- customer in a box by position and read their id with it; with the id in
-- the index that read never touches the table.
DROP INDEX devices_customer_id_latitude_longitude_idx;
CREATE INDEX devices_customer_id_latitude_longitude_id_idx ON devices (customer_id, latitude, longitude, id);
