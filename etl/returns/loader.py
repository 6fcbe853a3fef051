"""Load a validated return into PostgreSQL as a new version (COPY for the bulk rows).

Runs inside the caller's transaction: the intake opens it, so a failure anywhere leaves
nothing behind.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import psycopg

from etl.common.codes import default_deadline, periods_between
from etl.returns.reader import ParsedReturn

logger = logging.getLogger(__name__)


@dataclass
class StoredFile:
    name: str
    sha256: str
    size: int
    content: bytes


def ensure_period(conn: psycopg.Connection, period: str, deadline_day: int = 10) -> list[str]:
    """Open `period` (default deadline) and any month between it and the known periods, so a
    month in which nobody filed still exists and rates its hospitals `missing`.

    Returns the periods newly opened.
    """
    known = conn.execute("SELECT min(period) AS lo, max(period) AS hi, count(*) AS n,"
                         " bool_or(period = %s) AS has FROM period", (period,)).fetchone()
    first = min(p for p in (known["lo"], period) if p)
    last = max(p for p in (known["hi"], period) if p)
    span = periods_between(first, last)
    if known["has"] and known["n"] == len(span):
        return []
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO period (period, deadline) VALUES (%s, %s) ON CONFLICT DO NOTHING"
                        " RETURNING period", [(p, default_deadline(p, deadline_day)) for p in span],
                        returning=True)
        opened = []
        while True:
            row = cur.fetchone()
            if row:
                opened.append(row["period"])
            if not cur.nextset():
                break
    return opened


def load_return(conn: psycopg.Connection, ret: ParsedReturn, findings, file: StoredFile,
                uploaded_by: int | None, submitted_at: dt.datetime | None) -> dict:
    """Insert `ret` as the current version for its hospital and period; return {id, version}."""
    hospital, period = ret.hospital_code, ret.period
    # Lock the hospital's row so two uploads for one hospital number their versions in turn.
    conn.execute("SELECT 1 FROM hospital WHERE code = %s FOR UPDATE", (hospital,))
    version = conn.execute(
        "SELECT coalesce(max(version), 0) + 1 AS v FROM return WHERE hospital_code = %s AND period = %s",
        (hospital, period)).fetchone()["v"]
    conn.execute("UPDATE return SET is_current = false WHERE hospital_code = %s AND period = %s AND is_current",
                 (hospital, period))
    row = conn.execute(
        """INSERT INTO return (hospital_code, period, version, file_name, file_sha256, file_size,
                               file_content, uploaded_by, submitted_at, amount_unit, template_version,
                               filled_by, phone, filled_on)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()), %s, %s, %s, %s, %s)
           RETURNING id, version, submitted_at""",
        (hospital, period, version, file.name, file.sha256, file.size, file.content, uploaded_by,
         submitted_at, ret.unit, ret.template_version, ret.filled_by, ret.phone, ret.filled_on)).fetchone()
    rid = row["id"]
    with conn.cursor() as cur:
        with cur.copy("COPY return_value (return_id, hospital_code, period, sheet, item_code, column_name,"
                      " amount, text_value, cell) FROM STDIN") as copy:
            for sheet, table in ret.tables.items():
                for code, columns in table.items():
                    for column, value in columns.items():
                        copy.write_row((rid, hospital, period, sheet, code, column, value.amount,
                                        value.text, value.cell))
        with cur.copy("COPY return_debt (return_id, hospital_code, period, row_number, debt_no, creditor,"
                      " debt_type, purpose, borrowed_on, due_on, contract_amount, balance,"
                      " principal_repaid, interest_paid, overdue, overdue_amount) FROM STDIN") as copy:
            for debt in ret.debts:
                d = debt.values
                copy.write_row((rid, hospital, period, debt.row, d["debt_no"], d["creditor"], d["debt_type"],
                                d["purpose"], d["borrowed_on"], d["due_on"], d["contract_amount"], d["balance"],
                                d["principal_repaid"], d["interest_paid"], d["overdue"] == "是",
                                d["overdue_amount"] or 0))
        with cur.copy("COPY return_item (return_id, hospital_code, period, row_number, price_code, item_name,"
                      " setting, quantity, amount, national_code) FROM STDIN") as copy:
            for i in ret.items:
                copy.write_row((rid, hospital, period, i.row, i.price_code, i.item_name, i.setting,
                                i.quantity, i.amount, i.national_code))
        with cur.copy("COPY return_finding (return_id, seq, code, severity, sheet, cell, message) FROM STDIN") as copy:
            for seq, f in enumerate(findings, start=1):
                copy.write_row((rid, seq, f.code, f.severity, f.sheet, f.cell, f.message))
    logger.info("loaded return %s: %s %s v%s, %d items", rid, hospital, period, version, len(ret.items))
    return {"id": rid, "version": row["version"], "submitted_at": row["submitted_at"]}
