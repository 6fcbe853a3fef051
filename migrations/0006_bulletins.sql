-- 0006: the monthly bulletins (经济运行监测月报) as generated. Every generation is a new
-- version of its period's bulletin, kept with the data snapshot it was written from and its
-- files, so what leaders were sent can always be shown again exactly.

CREATE TABLE bulletin (
    id           bigserial PRIMARY KEY,
    period       text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    version      integer NOT NULL CHECK (version > 0),
    trigger      text NOT NULL CHECK (trigger IN ('manual', 'schedule')),
    generated_at timestamptz NOT NULL DEFAULT now(),
    generated_by bigint REFERENCES app_user (id),      -- NULL: the scheduler or the command line
    snapshot     jsonb NOT NULL,                        -- every number and sentence, and the inputs used
    delivered_at timestamptz,                           -- last email delivery, if any
    delivered_to text[],
    UNIQUE (period, version),
    CHECK ((delivered_at IS NULL) = (delivered_to IS NULL))
);
-- The scheduler makes at most one bulletin per period, however many workers run it.
CREATE UNIQUE INDEX bulletin_schedule_idx ON bulletin (period) WHERE trigger = 'schedule';
CREATE INDEX bulletin_generated_idx ON bulletin (generated_at DESC);

-- The files of a bulletin: the Word and PDF documents and the figures in them.
CREATE TABLE bulletin_file (
    bulletin_id bigint NOT NULL REFERENCES bulletin (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name <> '' AND name !~ '[/\\]' AND name !~ '^\.'),  -- a plain file name
    media_type  text NOT NULL,
    content     bytea NOT NULL,
    PRIMARY KEY (bulletin_id, name)
);
