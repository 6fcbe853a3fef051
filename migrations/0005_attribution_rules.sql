-- 0005: the two attribution rules as functions, so ingest, re-attribution, the pages and
-- the simulation apply the same ones.

-- The mapping version in force for a period: the latest effective on or before it.
CREATE FUNCTION mapping_version_for(period text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT id FROM mapping_version WHERE effective_from <= period
    ORDER BY effective_from DESC, id DESC LIMIT 1
$$;

-- An accounting-subject category in a setting: 床位 and 护理 exist only for 住院, 挂号 only
-- for 门急诊; elsewhere the item goes to that setting's 其他. NULL stays NULL (unmapped).
CREATE FUNCTION subject_in_setting(setting text, category text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN setting = 'outpatient' AND category IN ('床位', '护理') THEN '其他'
                WHEN setting = 'inpatient' AND category = '挂号' THEN '其他'
                ELSE category END
$$;
