-- indicator_value and rating are derived: only etl.ratings.scoring writes them, in set-based
-- statements that take every hospital, return, period and threshold version from the tables
-- they reference. Their foreign keys only cost a per-row check (and a KEY SHARE lock on the
-- referenced hospital / return row, which made scoring wait on uploads holding those rows
-- while uploads waited on scoring). Returns are never deleted, so the cascade never ran.
ALTER TABLE indicator_value DROP CONSTRAINT IF EXISTS indicator_value_hospital_code_fkey;
ALTER TABLE indicator_value DROP CONSTRAINT IF EXISTS indicator_value_return_id_fkey;
ALTER TABLE rating DROP CONSTRAINT IF EXISTS rating_hospital_code_fkey;
ALTER TABLE rating DROP CONSTRAINT IF EXISTS rating_return_id_fkey;
ALTER TABLE rating DROP CONSTRAINT IF EXISTS rating_threshold_version_id_fkey;
