-- 0010: login throttling that cannot lock a user out, and TOTP two-factor login.
--
-- login_attempt rows are now written *before* the password is checked (as failures) and turned
-- into successes afterwards, so parallel attempts are counted exactly (etl/reference/throttle.py).
-- login_address: the addresses an account has logged in from; attempts from them are not slowed
-- by failures against the account from elsewhere.
CREATE TABLE login_address (
    user_id         bigint NOT NULL REFERENCES app_user (id),
    address         text NOT NULL,
    last_success_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, address)
);
-- pending: admitted, its password (or code) still being checked; it counts as a failure and as
-- happening now, so a burst cannot slip through while the first attempts are being hashed.
ALTER TABLE login_attempt ADD COLUMN pending boolean NOT NULL DEFAULT false;
CREATE INDEX login_attempt_failure_idx ON login_attempt (at) WHERE NOT succeeded;

-- TOTP (RFC 6238): the base32 secret once confirmed, and the last time step accepted, so a code
-- is never accepted twice. Recovery codes are stored as SHA-256 of the code (80 random bits each).
ALTER TABLE app_user
    ADD COLUMN totp_secret     text,
    ADD COLUMN totp_enabled_at timestamptz,
    ADD COLUMN totp_last_step  bigint;
CREATE TABLE recovery_code (
    id        bigserial PRIMARY KEY,
    user_id   bigint NOT NULL REFERENCES app_user (id),
    code_hash text NOT NULL,
    used_at   timestamptz,
    UNIQUE (user_id, code_hash)
);
