-- 0002: one colour function for every indicator, active threshold versions, the audit log.

-- The colour of one indicator value under its spec {"yellow": [op, v], "red": [op, v]}:
-- red if it meets red, else yellow if it meets yellow, else green; n/a without a value.
CREATE FUNCTION indicator_colour(value numeric, spec jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN value IS NULL THEN 'n/a'
        WHEN threshold_met(value, spec -> 'red' ->> 0, (spec -> 'red' ->> 1)::numeric) THEN 'red'
        WHEN threshold_met(value, spec -> 'yellow' ->> 0, (spec -> 'yellow' ->> 1)::numeric) THEN 'yellow'
        ELSE 'green' END
$$;

-- Threshold versions come from config/risk.yaml (when its content is first seen) or from an
-- administrator's edit; the one activated last is in force.
ALTER TABLE threshold_version
    ADD COLUMN source       text NOT NULL DEFAULT 'file' CHECK (source IN ('file', 'admin')),
    ADD COLUMN created_by   bigint REFERENCES app_user (id),
    ADD COLUMN note         text,
    ADD COLUMN activated_at timestamptz NOT NULL DEFAULT clock_timestamp();

-- Every state change: who, when, what, and the state before and after.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint REFERENCES app_user (id),
    actor_name text,
    action     text NOT NULL,
    target     text,
    before     jsonb,
    after      jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);

-- Review of a return by the province: who decided, when, and the comment the hospital sees.
ALTER TABLE return
    ADD COLUMN reviewed_by    bigint REFERENCES app_user (id),
    ADD COLUMN reviewed_at    timestamptz,
    ADD COLUMN review_comment text;

-- Failed and successful logins, for throttling (the audit log keeps the story).
CREATE TABLE login_attempt (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    username  text NOT NULL,
    address   text,
    succeeded boolean NOT NULL
);
CREATE INDEX login_attempt_user_idx ON login_attempt (lower(username), at DESC);
CREATE INDEX login_attempt_address_idx ON login_attempt (address, at DESC);
