-- 0015: the registry on the web (issue 16). A hospital is expected to file from `opened_from`
-- (NULL: always) and until the month before `closed_from` (NULL: still open); closing keeps
-- every row it has. A code change or a merger closes the old record with a successor.
ALTER TABLE hospital
    ADD COLUMN opened_from    text CHECK (opened_from ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    ADD COLUMN closed_from    text CHECK (closed_from ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    ADD COLUMN closed_on      date,
    ADD COLUMN closed_reason  text,
    ADD COLUMN successor_code text REFERENCES hospital (code),
    ADD CONSTRAINT hospital_closed_check CHECK ((closed_from IS NULL) = (closed_on IS NULL)),
    ADD CONSTRAINT hospital_open_before_close CHECK (opened_from IS NULL OR closed_from IS NULL
                                                     OR opened_from < closed_from);

-- Whether a hospital open from `opened_from` and closed from `closed_from` owes `period`'s
-- return: the one rule every completeness count uses (filing, ratings, overview, bulletin).
CREATE FUNCTION hospital_expected(opened_from text, closed_from text, period text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (opened_from IS NULL OR period >= opened_from) AND (closed_from IS NULL OR period < closed_from)
$$;

-- What happened to a hospital's registry entry: created, edited, closed, reopened, code
-- changed, merged (into another, or another into it), imported. `changes` holds
-- {field: [before, after]}; the actor's name is kept as it was.
CREATE TABLE hospital_event (
    id            bigserial PRIMARY KEY,
    hospital_code text NOT NULL REFERENCES hospital (code),
    kind          text NOT NULL CHECK (kind IN ('create', 'edit', 'close', 'reopen', 'code_change',
                                                'merge', 'import')),
    changes       jsonb NOT NULL DEFAULT '{}',
    period        text,
    reason        text,
    other_code    text REFERENCES hospital (code),
    actor_id      bigint REFERENCES app_user (id) ON DELETE SET NULL,
    actor_name    text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hospital_event_hospital_idx ON hospital_event (hospital_code, id);
CREATE INDEX hospital_name_idx ON hospital (name);
