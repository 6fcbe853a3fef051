-- 0020: cases (风险处置, issue 19). A case opens when scoring rates a hospital's domain red and
-- follows it through plan, review, monthly progress and 销号 (or escalation).
-- risk_case is written by rescoring under the scoring locks, so it has no foreign key to
-- hospital (a KEY SHARE lock there would make scoring wait on uploads holding the row, 0012).
CREATE TABLE risk_case (
    id                bigserial PRIMARY KEY,
    hospital_code     text NOT NULL,
    domain            text NOT NULL CHECK (domain IN ('deficit', 'debt', 'wages')),
    status            text NOT NULL DEFAULT 'awaiting_plan'
                      CHECK (status IN ('awaiting_plan', 'plan_review', 'returned', 'in_progress',
                                        'closed', 'escalated')),
    opened_period     text NOT NULL CHECK (opened_period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
    opened_at         timestamptz NOT NULL DEFAULT now(),
    plan_due          date NOT NULL,
    drivers           jsonb NOT NULL DEFAULT '[]',      -- the opening month's explanation and cells
    cause             text,
    plan_submitted_at timestamptz,
    review_comment    text,
    reviewed_by       bigint REFERENCES app_user (id),
    reviewed_at       timestamptz,
    accepted_at       timestamptz,
    escalated_at      timestamptz,
    escalation_reason text,
    closed_period     text,
    closed_at         timestamptz,
    closed_by         bigint REFERENCES app_user (id),
    closing_comment   text,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
-- One case in hand per hospital and domain: a later red month joins it.
CREATE UNIQUE INDEX risk_case_open_idx ON risk_case (hospital_code, domain) WHERE status <> 'closed';
CREATE INDEX risk_case_period_idx ON risk_case (opened_period);

-- The plan: measures (amounts in yuan, dates), milestones (an indicator's target by a month)
-- and, for wages cases, the arrears repayment schedule (欠薪化解). Resubmitting replaces them.
CREATE TABLE risk_case_measure (
    case_id bigint NOT NULL REFERENCES risk_case (id) ON DELETE CASCADE,
    seq     integer NOT NULL,
    body    text NOT NULL,
    amount  numeric CHECK (amount >= 0),
    due_on  date NOT NULL,
    PRIMARY KEY (case_id, seq)
);
CREATE TABLE risk_case_milestone (
    case_id   bigint NOT NULL REFERENCES risk_case (id) ON DELETE CASCADE,
    period    text NOT NULL,
    indicator text NOT NULL,
    target    numeric NOT NULL,
    PRIMARY KEY (case_id, period, indicator)
);
CREATE TABLE risk_case_repayment (
    case_id bigint NOT NULL REFERENCES risk_case (id) ON DELETE CASCADE,
    period  text NOT NULL,
    amount  numeric NOT NULL CHECK (amount > 0),
    PRIMARY KEY (case_id, period)
);
-- One progress note per case and month; writing it again replaces it (audited).
CREATE TABLE risk_case_note (
    case_id    bigint NOT NULL REFERENCES risk_case (id) ON DELETE CASCADE,
    period     text NOT NULL,
    body       text NOT NULL,
    author_id  bigint REFERENCES app_user (id),
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, period)
);
-- Attachments, kept like returns' files: the bytes and their SHA-256.
CREATE TABLE risk_case_file (
    case_id     bigint NOT NULL REFERENCES risk_case (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    file_name   text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('pdf', 'png', 'jpeg', 'xlsx', 'docx')),
    file_size   integer NOT NULL,
    file_sha256 text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    content     bytea NOT NULL,
    uploaded_by bigint REFERENCES app_user (id),
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, seq)
);

-- A domain's colour in a rating row.
CREATE FUNCTION domain_colour(deficit text, debt text, wages text, domain text) RETURNS text
IMMUTABLE LANGUAGE sql AS $$
    SELECT CASE domain WHEN 'deficit' THEN deficit WHEN 'debt' THEN debt WHEN 'wages' THEN wages END
$$;

-- Consecutive non-red (green or yellow) months of a hospital's domain since its last red
-- month, counting from `since`. Months not filed or not computable neither count nor break
-- the run (a month nobody has filed yet must not reset every case).
CREATE FUNCTION case_quiet_months(hospital text, dom text, since text) RETURNS integer
STABLE LANGUAGE sql AS $$
    WITH m AS (SELECT period, domain_colour(deficit, debt, wages, dom) AS colour
               FROM rating WHERE hospital_code = hospital AND period >= since)
    SELECT count(*)::integer FROM m
    WHERE colour IN ('green', 'yellow')
      AND period > coalesce((SELECT max(period) FROM m WHERE colour = 'red'), '')
$$;
