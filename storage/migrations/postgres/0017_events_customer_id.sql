-- The tenant-wide live stream resumes with "the events of a customer whose
-- id is greater than X, by id" and starts from the customer's greatest id:
-- an index on (customer_id, id) serves both without a sort.
CREATE INDEX events_customer_id_id_idx ON events (customer_id, id);
