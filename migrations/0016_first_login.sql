-- 0016: accounts an administrator hands out (bulk hospital accounts, password resets) carry a
-- password someone else has seen; until its owner picks their own, every page sends them to
-- the change-password page (app/auth.py).
ALTER TABLE app_user ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;

-- The audit log page filters by action and by who, newest first.
CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_name, id DESC);
