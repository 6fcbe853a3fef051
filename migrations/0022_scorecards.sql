-- A hospital-month's indicators are stored as one row, its scorecard, not one row per indicator.
-- A province-wide rescore wrote 19 rows per return (683,525 at 1,500 hospitals × 24 months)
-- and spent most of its time inserting them into the (hospital, period, indicator) key; one row
-- per return is 36,000. Three aligned arrays, in registry order:
--   indicator  the indicators computed under the thresholds in force;
--   value      each one's exact value (NULL: not computable, e.g. a zero denominator);
--   rating     each one's colour, 'red' | 'yellow' | 'green' | 'n/a'; NULL for a monitored one.
-- Readers keep reading `indicator_value`, now a view with the same columns as the old table,
-- one row per indicator.
CREATE TABLE scorecard (
    hospital_code text NOT NULL,
    period        text NOT NULL,
    return_id     bigint NOT NULL,
    indicator     text[] NOT NULL,
    value         numeric[] NOT NULL,
    rating        text[] NOT NULL,
    PRIMARY KEY (hospital_code, period),
    CHECK (cardinality(value) = cardinality(indicator) AND cardinality(rating) = cardinality(indicator))
);
CREATE INDEX scorecard_period_idx ON scorecard (period);   -- the pages and the bulletin read a month

INSERT INTO scorecard (hospital_code, period, return_id, indicator, value, rating)
SELECT hospital_code, period, min(return_id), array_agg(indicator ORDER BY indicator),
       array_agg(value ORDER BY indicator), array_agg(rating ORDER BY indicator)
FROM indicator_value GROUP BY hospital_code, period;

DROP TABLE indicator_value;

CREATE VIEW indicator_value AS
SELECT s.hospital_code, s.period, k.indicator, s.return_id, k.value, k.rating
FROM scorecard s CROSS JOIN LATERAL unnest(s.indicator, s.value, s.rating) AS k (indicator, value, rating);
