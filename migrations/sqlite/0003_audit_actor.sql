-- Who did what: the delivery that asked, and the login that asked (the
-- approver will join it) on every audited GitHub write.
ALTER TABLE audit ADD COLUMN delivery_id TEXT;
ALTER TABLE audit ADD COLUMN actor TEXT;
