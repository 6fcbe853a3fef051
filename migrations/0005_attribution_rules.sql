-- 0005: attribution rules and the prefecture of a region as functions, so every query
-- (ingest, pages, the simulation, submissions) applies the same ones.

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

-- The prefecture a registered region belongs to (a county's parent, or the prefecture
-- itself); for a code missing from the region table, its 4-digit prefecture code.
CREATE FUNCTION prefecture_of(region_code text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT CASE WHEN level = 3 THEN parent_code ELSE code END FROM region
                     WHERE code = region_code), substr(region_code, 1, 4) || '00')
$$;
