-- Periods whose ratings a batch import must still recompute (from that period on). Written
-- in the same transaction as each imported return, cleared in the transaction that rescored:
-- a batch killed part-way leaves its debt here, paid by the next import or `score`.
CREATE TABLE pending_rescore (
    period    text PRIMARY KEY,
    noted_at  timestamptz NOT NULL DEFAULT now()
);
