-- 0001: registry, users, periods, returns and their facts, attribution, ratings.
-- Money is NUMERIC (exact); periods are 'YYYY-MM' text; facts carry hospital_code and
-- period so they can be partitioned by period and distributed by hospital later.

CREATE TABLE region (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9]{6}$'),
    name        text NOT NULL,
    parent_code text REFERENCES region (code),
    level       smallint NOT NULL CHECK (level IN (1, 2, 3))  -- province, prefecture, county
);

CREATE TABLE hospital (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
    name        text NOT NULL,
    level       text NOT NULL,           -- 等级, e.g. 三级甲等
    category    text NOT NULL,           -- 类别, e.g. 综合医院
    affiliation text NOT NULL,           -- 隶属, e.g. 省属 / 市属 / 县属
    region_code text NOT NULL CHECK (region_code ~ '^[0-9]{6}$'),
    longitude   numeric(9, 6),
    latitude    numeric(9, 6),
    beds        integer CHECK (beds >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hospital_region_idx ON hospital (region_code);

CREATE TABLE app_user (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('hospital', 'reviewer', 'admin', 'leader')),
    hospital_code text REFERENCES hospital (code),
    display_name  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'hospital') = (hospital_code IS NOT NULL))
);

CREATE TABLE period (
    period   text PRIMARY KEY CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    deadline date NOT NULL,
    locked   boolean NOT NULL DEFAULT false
);

-- One row per version of a hospital's return for a period. Rejected workbooks leave none.
CREATE TABLE return (
    id               bigserial PRIMARY KEY,
    hospital_code    text NOT NULL REFERENCES hospital (code),
    period           text NOT NULL REFERENCES period (period),
    version          integer NOT NULL CHECK (version > 0),
    is_current       boolean NOT NULL DEFAULT true,
    status           text NOT NULL DEFAULT 'submitted'
                     CHECK (status IN ('submitted', 'returned', 'accepted')),
    file_name        text NOT NULL,
    file_sha256      text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    file_size        bigint NOT NULL,
    file_content     bytea NOT NULL,
    uploaded_by      bigint REFERENCES app_user (id),
    submitted_at     timestamptz NOT NULL DEFAULT now(),
    amount_unit      text NOT NULL CHECK (amount_unit IN ('元', '千元', '万元')),
    template_version text NOT NULL,
    filled_by        text NOT NULL,
    phone            text NOT NULL,
    filled_on        date,
    UNIQUE (hospital_code, period, version),
    UNIQUE (hospital_code, period, file_sha256)
);
CREATE UNIQUE INDEX return_current_idx ON return (hospital_code, period) WHERE is_current;
CREATE INDEX return_period_idx ON return (period);

CREATE TABLE return_finding (
    return_id   bigint NOT NULL REFERENCES return (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    code        text NOT NULL,
    severity    text NOT NULL CHECK (severity IN ('error', 'warning', 'notice')),
    sheet       text NOT NULL,
    cell        text,
    message     text NOT NULL,
    explanation text,
    PRIMARY KEY (return_id, seq)
);

-- 表1–表3: one row per item code and column, in yuan, with the cell it came from.
CREATE TABLE return_value (
    return_id     bigint NOT NULL REFERENCES return (id) ON DELETE CASCADE,
    hospital_code text NOT NULL,
    period        text NOT NULL,
    sheet         text NOT NULL CHECK (sheet IN ('表1', '表2', '表3')),
    item_code     text NOT NULL,
    column_name   text NOT NULL CHECK (column_name IN ('month', 'ytd', 'end', 'begin')),
    amount        numeric,
    text_value    text,       -- W407 最早拖欠月份 (YYYY-MM)
    cell          text NOT NULL,
    PRIMARY KEY (return_id, item_code, column_name)
);

-- 表4: one row per debt.
CREATE TABLE return_debt (
    return_id        bigint NOT NULL REFERENCES return (id) ON DELETE CASCADE,
    hospital_code    text NOT NULL,
    period           text NOT NULL,
    row_number       integer NOT NULL,
    debt_no          text NOT NULL,
    creditor         text,
    debt_type        text,
    purpose          text,
    borrowed_on      date,
    due_on           date,
    contract_amount  numeric,
    balance          numeric,
    principal_repaid numeric,
    interest_paid    numeric,
    overdue          boolean NOT NULL,
    overdue_amount   numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (return_id, row_number)
);

-- 表5: one row per price item and setting; bulk-loaded with COPY.
CREATE TABLE return_item (
    return_id     bigint NOT NULL REFERENCES return (id) ON DELETE CASCADE,
    hospital_code text NOT NULL,
    period        text NOT NULL,
    row_number    integer NOT NULL,
    price_code    text NOT NULL,
    item_name     text,
    setting       text NOT NULL CHECK (setting IN ('outpatient', 'inpatient')),
    quantity      numeric,
    amount        numeric NOT NULL,
    national_code text,
    PRIMARY KEY (return_id, row_number)
);

CREATE TABLE mapping_version (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    effective_from text NOT NULL CHECK (effective_from ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    loaded_at      timestamptz NOT NULL DEFAULT now(),
    loaded_by      bigint REFERENCES app_user (id),
    row_count      integer NOT NULL
);

CREATE TABLE mapping_row (
    version_id       bigint NOT NULL REFERENCES mapping_version (id),
    price_code       text NOT NULL,
    price_name       text,
    national_code    text,
    receipt_category text NOT NULL,
    subject_category text NOT NULL,
    record_leaf      text NOT NULL,
    PRIMARY KEY (version_id, price_code)
);

-- 表5 revenue rolled up under one mapping version, per category system.
-- system: receipt | subject | record ; category '未归集' holds unmapped codes.
CREATE TABLE attribution_total (
    return_id          bigint NOT NULL REFERENCES return (id) ON DELETE CASCADE,
    hospital_code      text NOT NULL,
    period             text NOT NULL,
    mapping_version_id bigint REFERENCES mapping_version (id),
    system             text NOT NULL CHECK (system IN ('receipt', 'subject', 'record')),
    setting            text NOT NULL CHECK (setting IN ('outpatient', 'inpatient')),
    category           text NOT NULL,
    amount             numeric NOT NULL,
    PRIMARY KEY (return_id, system, setting, category)
);

CREATE TABLE threshold_version (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    body       jsonb NOT NULL,
    body_sha256 text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Indicators and ratings are derived: recomputed by etl.scoring, never edited.
CREATE TABLE indicator_value (
    hospital_code text NOT NULL REFERENCES hospital (code),
    period        text NOT NULL,
    indicator     text NOT NULL,
    return_id     bigint NOT NULL REFERENCES return (id) ON DELETE CASCADE,
    value         numeric,
    rating        text CHECK (rating IN ('red', 'yellow', 'green', 'n/a')),
    PRIMARY KEY (hospital_code, period, indicator)
);

CREATE TABLE rating (
    hospital_code        text NOT NULL REFERENCES hospital (code),
    period               text NOT NULL,
    return_id            bigint REFERENCES return (id) ON DELETE CASCADE,
    rating               text NOT NULL CHECK (rating IN ('red', 'yellow', 'green', 'missing')),
    deficit              text NOT NULL CHECK (deficit IN ('red', 'yellow', 'green', 'n/a', 'missing')),
    debt                 text NOT NULL CHECK (debt IN ('red', 'yellow', 'green', 'n/a', 'missing')),
    wages                text NOT NULL CHECK (wages IN ('red', 'yellow', 'green', 'n/a', 'missing')),
    provisional          boolean NOT NULL,
    threshold_version_id bigint NOT NULL REFERENCES threshold_version (id),
    computed_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hospital_code, period)
);
CREATE INDEX rating_period_idx ON rating (period, rating);

-- Does `value` meet the threshold condition `op threshold`? NULL when there is no condition.
CREATE FUNCTION threshold_met(value numeric, op text, threshold numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE op WHEN '<' THEN value < threshold WHEN '<=' THEN value <= threshold
                   WHEN '>' THEN value > threshold WHEN '>=' THEN value >= threshold END
$$;

-- 'YYYY-MM' -> months since year 0, so consecutive periods differ by one.
CREATE FUNCTION period_index(period text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT substr(period, 1, 4)::integer * 12 + substr(period, 6, 2)::integer - 1
$$;
