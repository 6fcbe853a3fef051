-- 0009: sessions that can be ended from the server, and accounts that are disabled rather
-- than deleted (audit entries and returns keep pointing at them).
-- Every session carries the session_version it was opened under; logout, a password change,
-- a reset and disabling raise the number, and a session with an older one is refused.

ALTER TABLE app_user
    ADD COLUMN session_version integer NOT NULL DEFAULT 1,
    ADD COLUMN disabled_at     timestamptz,
    ADD COLUMN last_login_at   timestamptz;
