-- 0003: the commission's official boundary files. Without an active row the map uses the
-- boundaries packaged with the project (app/geodata/, derived from Apache ECharts 4.9.0).

CREATE TABLE boundary_version (
    id            bigserial PRIMARY KEY,
    province_code text NOT NULL CHECK (province_code ~ '^[0-9]{2}0000$'),
    file_name     text NOT NULL,
    file_sha256   text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    file_content  bytea NOT NULL,      -- the file as uploaded, kept for audit
    geojson       text NOT NULL,       -- validated: WGS 84, one feature per region code
    prefectures   integer NOT NULL,
    counties      integer NOT NULL,
    is_active     boolean NOT NULL DEFAULT true,
    loaded_by     bigint REFERENCES app_user (id),
    loaded_at     timestamptz NOT NULL DEFAULT now()
);
-- At most one official file in force per province.
CREATE UNIQUE INDEX boundary_version_active_idx ON boundary_version (province_code) WHERE is_active;
