"""Load: etl.returns.loader.load_return putting one large return into PostgreSQL, against a plain
COPY of the same rows into bare tables (no keys, no constraints: the floor).

Everything runs inside transactions that are rolled back, so the province is unchanged.
Also timed, to show where the time goes: the same COPY into a table with return_item's
primary key (but not its foreign key), and attribution of the loaded return as shipped
(etl.attribution.rollup.attribute) and with its `target` CTE materialised.
"""
from __future__ import annotations

import statistics

import psycopg

from bench.common import ratio, timed
from bench.ingest import write_file
from bench.province import attribution_sql
from etl.common.codes import shift_period

ITEM_COLUMNS = ("return_id", "hospital_code", "period", "row_number", "price_code", "item_name", "setting",
                "quantity", "amount", "national_code")
VALUE_COLUMNS = ("return_id", "hospital_code", "period", "sheet", "item_code", "column_name", "amount",
                 "text_value", "cell")


def run(province, runs: int = 3) -> dict:
    from etl.attribution import rollup
    from etl.attribution.categories import UNATTRIBUTED
    from etl.returns.loader import StoredFile, ensure_period, load_return
    from etl.returns.reader import read_return

    period = shift_period(province.last, 1)
    path = province.tmp / f"{province.largest.code}-{period}.xlsx"
    if not path.exists():
        path = write_file(province, period)[0]
    ret = read_return(path)
    items = [(0, ret.hospital_code, ret.period, i.row, i.price_code, i.item_name, i.setting, i.quantity,
              i.amount, i.national_code) for i in ret.items]
    values = [(0, ret.hospital_code, ret.period, sheet, code, column, v.amount, v.text, v.cell)
              for sheet, table in ret.tables.items() for code, cols in table.items() for column, v in cols.items()]
    out = {"item_rows": len(items), "value_rows": len(values), "debt_rows": len(ret.debts)}
    rows = len(items) + len(values) + len(ret.debts)
    stored = StoredFile(path.name, "0" * 64, path.stat().st_size, path.read_bytes())
    sql = attribution_sql()
    timings: dict[str, list[float]] = {}
    with province.connect() as conn:
        for _ in range(runs):
            with conn.transaction() as tx:
                ensure_period(conn, period)
                seconds, loaded = timed(lambda: load_return(conn, ret, [], stored, None, None))
                timings.setdefault("load_return_s", []).append(seconds)
                seconds, _ = timed(lambda: rollup.attribute(conn, [loaded["id"]]))
                timings.setdefault("attribute_shipped_s", []).append(seconds)
                conn.execute("DELETE FROM attribution_total WHERE return_id = %s", (loaded["id"],))
                seconds, _ = timed(lambda: conn.execute(sql, {"none": UNATTRIBUTED, "returns": [loaded["id"]]}))
                timings.setdefault("attribute_materialized_s", []).append(seconds)
                raise psycopg.Rollback(tx)
            with conn.transaction() as tx:
                conn.execute("CREATE TABLE bench_floor_item (LIKE return_item)")
                conn.execute("CREATE TABLE bench_floor_value (LIKE return_value)")
                conn.execute("CREATE TABLE bench_pk_item (LIKE return_item INCLUDING INDEXES)")
                timings.setdefault("copy_floor_s", []).append(timed(lambda: _copy(conn, items, values))[0])
                timings.setdefault("copy_items_with_primary_key_s", []).append(
                    timed(lambda: _copy(conn, items, [], "bench_pk_item"))[0])
                raise psycopg.Rollback(tx)
    for key, times in timings.items():
        out[key] = statistics.median(times)
    out["load_rows_per_s"] = round(rows / out["load_return_s"])
    out["copy_floor_rows_per_s"] = round((len(items) + len(values)) / out["copy_floor_s"])
    out["ratio_load_vs_copy_floor"] = ratio(out["load_return_s"], out["copy_floor_s"])
    return out


def _copy(conn, items, values, item_table: str = "bench_floor_item") -> None:
    with conn.cursor() as cur:
        with cur.copy(f"COPY {item_table} ({', '.join(ITEM_COLUMNS)}) FROM STDIN") as copy:
            for row in items:
                copy.write_row(row)
        if values:
            with cur.copy(f"COPY bench_floor_value ({', '.join(VALUE_COLUMNS)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
