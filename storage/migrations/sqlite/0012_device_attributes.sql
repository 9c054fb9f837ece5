-- Device attributes: the customer's own keys (resource.Attributes), a JSON
-- object of strings, numbers and booleans, as text; the filter
-- filter[attributes.KEY] reads it with json_type and json_extract (SQLite
-- has no index for it: its lists are confined to one customer first).
ALTER TABLE devices ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
