-- 0018: two-level review (issue 18): 已上报 → 市级审核通过 → 省级审核通过, 退回 at either level,
-- 退回市州复核 from the province; accepted returns stay put until a reopen request is granted.
-- Every step is a row of review_step (the timeline on the return page) besides the audit log.
ALTER TABLE return DROP CONSTRAINT IF EXISTS return_status_check;
ALTER TABLE return ADD CONSTRAINT return_status_check
    CHECK (status IN ('submitted', 'prefecture_accepted', 'rechecking', 'returned', 'accepted', 'reopened'));

CREATE TABLE review_step (
    id            bigserial PRIMARY KEY,
    return_id     bigint NOT NULL REFERENCES return (id) ON DELETE CASCADE,
    hospital_code text NOT NULL,
    period        text NOT NULL,
    level         text NOT NULL CHECK (level IN ('hospital', 'prefecture', 'province')),
    action        text NOT NULL CHECK (action IN ('accept', 'return', 'recheck', 'reopen_request',
                                                   'reopen_grant', 'reopen_refuse')),
    from_status   text NOT NULL,
    to_status     text NOT NULL,
    comment       text,
    user_id       bigint REFERENCES app_user (id),
    user_name     text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_step_hospital_period ON review_step (hospital_code, period, id);
CREATE INDEX review_step_return ON review_step (return_id);

-- A hospital's request to reopen an accepted return; at most one undecided per return.
CREATE TABLE reopen_request (
    id             bigserial PRIMARY KEY,
    return_id      bigint NOT NULL REFERENCES return (id) ON DELETE CASCADE,
    reason         text NOT NULL,
    requested_by   bigint REFERENCES app_user (id),
    requested_at   timestamptz NOT NULL DEFAULT now(),
    decision       text CHECK (decision IN ('granted', 'refused')),
    decided_by     bigint REFERENCES app_user (id),
    decided_at     timestamptz,
    decision_comment text
);
CREATE UNIQUE INDEX reopen_request_open ON reopen_request (return_id) WHERE decision IS NULL;
