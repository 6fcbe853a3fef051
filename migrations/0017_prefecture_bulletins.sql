-- 0017: a prefecture's own bulletin (issue 18). A bulletin belongs to the province (region_code
-- NULL) or to one prefecture (市州, a level-2 region), whose users alone may read it besides the
-- province's. Versions count per period and region; the scheduler makes at most one per both.
ALTER TABLE bulletin ADD COLUMN region_code text REFERENCES region (code);
ALTER TABLE bulletin DROP CONSTRAINT bulletin_period_version_key;
CREATE UNIQUE INDEX bulletin_version_idx ON bulletin (period, coalesce(region_code, ''), version);
DROP INDEX bulletin_schedule_idx;
CREATE UNIQUE INDEX bulletin_schedule_idx ON bulletin (period, coalesce(region_code, '')) WHERE trigger = 'schedule';
CREATE INDEX bulletin_region_idx ON bulletin (region_code) WHERE region_code IS NOT NULL;
