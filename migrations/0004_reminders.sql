-- 0004: where reminders go (a user's email), and which were sent, so none is sent twice.
ALTER TABLE app_user ADD COLUMN email text CHECK (email IS NULL OR email ~ '^[^@\s]+@[^@\s]+$');

CREATE TABLE reminder_sent (
    hospital_code text NOT NULL REFERENCES hospital (code),
    period        text NOT NULL,
    sent_on       date NOT NULL,
    recipients    text NOT NULL,
    PRIMARY KEY (hospital_code, period, sent_on)
);
