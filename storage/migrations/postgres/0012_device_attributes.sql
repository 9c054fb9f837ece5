-- Device attributes: the customer's own keys (resource.Attributes), a JSON
-- object of strings, numbers and booleans. The GIN index (jsonb_path_ops)
-- serves the containment test (attributes @> '{"KEY": VALUE}') of the
-- filter filter[attributes.KEY]; a filter is always confined to one
-- customer as well, which the planner combines with the index as it finds
-- best.
ALTER TABLE devices ADD COLUMN attributes JSONB NOT NULL DEFAULT '{}';
CREATE INDEX devices_attributes_idx ON devices USING GIN (attributes jsonb_path_ops);
