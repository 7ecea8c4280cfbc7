-- A job finds its delivery by (received_at, id) instead of by id alone.
--
-- Delivery ids are random, so an index that starts with one puts each new
-- entry on a page of its own. An index that starts with the delivery's time
-- is appended to at its end. The foreign key moves to the pair, so that it
-- is still checked (and an old delivery deleted) through an index. The
-- SQLite schema makes the same change.

CREATE UNIQUE INDEX deliveries_received ON deliveries (received_at, id);
DROP INDEX deliveries_received_at;

ALTER TABLE jobs ADD COLUMN delivery_at BIGINT;
UPDATE jobs j SET delivery_at = d.received_at FROM deliveries d WHERE d.id = j.delivery_id;
ALTER TABLE jobs ALTER COLUMN delivery_at SET NOT NULL;

ALTER TABLE jobs DROP CONSTRAINT jobs_delivery_id_fkey;
ALTER TABLE jobs ADD CONSTRAINT jobs_delivery_fkey
    FOREIGN KEY (delivery_at, delivery_id) REFERENCES deliveries (received_at, id);

DROP INDEX jobs_delivery;
CREATE INDEX jobs_delivery ON jobs (delivery_at, delivery_id);
