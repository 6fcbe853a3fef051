-- 0019 (issue 17): a bulletin version can be withdrawn, and hospitals are findable by the
-- initials of their names' pinyin.

-- A withdrawn version stays in the archive (what was sent can still be shown to admins) but
-- leaders no longer see it or its files. Who withdrew it, when and why.
ALTER TABLE bulletin ADD COLUMN withdrawn_at timestamptz;
ALTER TABLE bulletin ADD COLUMN withdrawn_by bigint REFERENCES app_user (id);
ALTER TABLE bulletin ADD COLUMN withdrawn_reason text;
ALTER TABLE bulletin ADD CONSTRAINT bulletin_withdrawn_check
    CHECK ((withdrawn_at IS NULL) = (withdrawn_reason IS NULL));

-- The pinyin initials of the hospital's name ("scsrmyy" for 四川省人民医院; readings of
-- polyphonic characters as variants separated by spaces), computed in Python (pypinyin) by
-- etl.reference.finder when hospitals are loaded; NULL means "not computed yet", which the
-- search fills in. A rename that does not also set them clears them, so they are never stale.
ALTER TABLE hospital ADD COLUMN initials text;

CREATE FUNCTION hospital_initials_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name IS DISTINCT FROM OLD.name AND NEW.initials IS NOT DISTINCT FROM OLD.initials THEN
        NEW.initials := NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER hospital_initials_stale BEFORE UPDATE OF name ON hospital
    FOR EACH ROW EXECUTE FUNCTION hospital_initials_stale();
