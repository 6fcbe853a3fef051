-- 0014: the deployment's province is a setting (init-province records it). Databases set up
-- before it (the demo's) take it from their level-1 region; a database without regions has
-- none, and the app says so instead of assuming Sichuan.

INSERT INTO deployment_setting (name, value)
SELECT 'province', jsonb_build_object('code', code, 'name', name)
FROM region WHERE level = 1
ORDER BY code LIMIT 1
ON CONFLICT (name) DO NOTHING;
