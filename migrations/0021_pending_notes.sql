-- Rescoring owed by batch imports: one row per note, not one per period. With the period as the
-- key, a note taken while `settle` held that period's row (selected FOR UPDATE, then deleted)
-- was swallowed by ON CONFLICT DO NOTHING, and the load it stood for was never rescored: settle
-- had computed without it. Now every note is its own row and settle deletes only the rows it read.
ALTER TABLE pending_rescore DROP CONSTRAINT pending_rescore_pkey;
ALTER TABLE pending_rescore ADD COLUMN id bigserial PRIMARY KEY;
CREATE INDEX pending_rescore_period_idx ON pending_rescore (period);
