-- The size of each delivery as received. Bodies are kept only when asked
-- (ORC_KEEP_BODIES) or when they did not parse; the size is always known.
ALTER TABLE deliveries ADD COLUMN size INTEGER;
