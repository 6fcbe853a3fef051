"""Data quality beyond the rules: a figure far from the hospital's own last 12 months, or
from hospitals of the same level this month, becomes a notice (modified z-score)."""
from __future__ import annotations

from decimal import Decimal
from statistics import median

import psycopg

from etl.common.codes import shift_period
from etl.common.findings import Findings
from etl.returns.reader import ParsedReturn

# Figures compared with the hospital's own history: (sheet, code, column).
OWN_FIGURES = (("表1", "R100", "month"), ("表1", "R110", "month"), ("表1", "E200", "month"),
               ("表1", "E240", "month"), ("表2", "A101", "end"), ("表2", "L200", "end"),
               ("表3", "W402", "month"))
# Ratios compared with hospitals of the same level: (label, numerator, denominator, divide by beds?).
PEER_RATIOS = (("床均月医疗收入", "R110", None, True), ("人均月应发薪酬", "W402", "W401", False),
               ("人员经费占业务支出比", "E240", "E210", False))
# The cells the peer ratios read (only these are fetched).
PEER_ITEMS = ["R110", "W402", "W401", "E240", "E210"]
MIN_HISTORY = 6
MIN_PEERS = 8
CONSISTENCY = Decimal("0.6745")


def modified_z(value: Decimal, sample: list[Decimal]) -> Decimal | None:
    """0.6745 × (x − median) / MAD; None when the sample has no spread."""
    m = median(sample)
    mad = median([abs(x - m) for x in sample])
    if mad == 0:
        return None
    return CONSISTENCY * (value - m) / mad


def outliers(conn: psycopg.Connection, ret: ParsedReturn, level: str | None, beds: int | None,
             cutoff: Decimal) -> Findings:
    found = Findings()
    hospital, period = ret.hospital_code, ret.period
    history: dict[str, list[Decimal]] = {}
    for r in conn.execute(
            """SELECT v.item_code, v.column_name, v.amount FROM return r JOIN return_value v ON v.return_id = r.id
               WHERE r.hospital_code = %s AND r.is_current AND r.period BETWEEN %s AND %s
                 AND v.amount IS NOT NULL AND v.item_code = ANY(%s)""",
            (hospital, shift_period(period, -12), shift_period(period, -1), [c for _, c, _ in OWN_FIGURES])):
        history.setdefault(f"{r['item_code']}:{r['column_name']}", []).append(r["amount"])
    for sheet, code, column in OWN_FIGURES:
        value, sample = ret.value(sheet, code, column), history.get(f"{code}:{column}", [])
        if value is None or len(sample) < MIN_HISTORY:
            continue
        z = modified_z(value, sample)
        if z is not None and abs(z) > cutoff:
            found.notice("DQ_OWN_HISTORY", ret.sheet_names.get(sheet, sheet), ret.cell(sheet, code, column),
                         f"{code} {value:,.2f} 与本院近{len(sample)}个月（中位数 {median(sample):,.2f}）差异异常"
                         f"（修正Z值 {z:.1f}，阈值 ±{cutoff}），请核实")
    if level:
        peers = conn.execute(
            """SELECT h.beds,
                      max(v.amount) FILTER (WHERE v.item_code = 'R110' AND v.column_name = 'month') AS r110,
                      max(v.amount) FILTER (WHERE v.item_code = 'W402') AS w402,
                      max(v.amount) FILTER (WHERE v.item_code = 'W401') AS w401,
                      max(v.amount) FILTER (WHERE v.item_code = 'E240' AND v.column_name = 'month') AS e240,
                      max(v.amount) FILTER (WHERE v.item_code = 'E210' AND v.column_name = 'month') AS e210
               FROM return r JOIN hospital h ON h.code = r.hospital_code
               JOIN return_value v ON v.return_id = r.id
               WHERE r.period = %s AND r.is_current AND h.level = %s AND h.code <> %s
                 AND v.item_code = ANY(%s)
               GROUP BY r.id, h.beds""", (period, level, hospital, PEER_ITEMS)).fetchall()
        mine = {"R110": ret.value("表1", "R110", "month"), "W402": ret.value("表3", "W402", "month"),
                "W401": ret.value("表3", "W401", "month"), "E240": ret.value("表1", "E240", "month"),
                "E210": ret.value("表1", "E210", "month")}
        for label, num, den, per_bed in PEER_RATIOS:
            value = _ratio(mine.get(num), mine.get(den) if den else (Decimal(beds) if beds else None))
            sample = [x for x in (_ratio(p[num.lower()], p[den.lower()] if den else
                                         (Decimal(p["beds"]) if p["beds"] else None)) for p in peers) if x is not None]
            if value is None or len(sample) < MIN_PEERS:
                continue
            z = modified_z(value, sample)
            if z is not None and abs(z) > cutoff:
                found.notice("DQ_PEER_LEVEL", ret.sheet_names.get("表1", "表1"), None,
                             f"{label} {value:,.2f} 与同级（{level}）{len(sample)}家医院（中位数 {median(sample):,.2f}）"
                             f"差异异常（修正Z值 {z:.1f}，阈值 ±{cutoff}），请核实")
    return found


def _ratio(num, den) -> Decimal | None:
    if num is None or den in (None, 0):
        return None
    return Decimal(num) / Decimal(den)
