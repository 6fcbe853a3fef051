-- 0007: facts about this deployment that used to be guessed: whether the database holds
-- the demo province (the bulletin and pages say 演示数据). One row per setting.

CREATE TABLE deployment_setting (
    name       text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Databases built by the demo before this migration: the demo's administrator is the mark.
INSERT INTO deployment_setting (name, value)
SELECT 'demo', 'true'::jsonb
WHERE EXISTS (SELECT 1 FROM app_user WHERE username = 'admin' AND display_name = '演示省级管理员');
