-- The prefecture tier (issue 18): users bound to one prefecture (市州), who see its hospitals.
-- 'prefecture' reviews for its prefecture (市州审核员); 'prefecture-leader' reads (市州领导).
ALTER TABLE app_user ADD COLUMN region_code text REFERENCES region (code);
ALTER TABLE app_user DROP CONSTRAINT IF EXISTS app_user_role_check;
ALTER TABLE app_user ADD CONSTRAINT app_user_role_check
    CHECK (role IN ('hospital', 'reviewer', 'admin', 'leader', 'prefecture', 'prefecture-leader'));
ALTER TABLE app_user ADD CONSTRAINT app_user_region_check
    CHECK ((role IN ('prefecture', 'prefecture-leader')) = (region_code IS NOT NULL));
