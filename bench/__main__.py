"""Ingest benchmark: one large return read, validated, loaded, against plain readers.

Writes bench/results/<timestamp>.json and appends a line to docs/performance.md.
Usage: python -m bench [--rows N]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def large_draft(rows: int):
    """A valid return whose 表5 has `rows` rows (half 门诊, half 住院)."""
    from etl.codes import with_check_char
    from etl.template import ReturnDraft

    code = with_check_char("12511102BENCH0001")
    items, out_total, in_total = [], 0, 0
    for i in range(rows):
        setting = "门诊" if i % 2 == 0 else "住院"
        amount = 1000 + (i % 97) * 10
        items.append((f"{300000000 + i // 2:09d}", f"项目{i // 2}", setting, 3, amount))
        if setting == "门诊":
            out_total += amount
        else:
            in_total += amount
    r110 = out_total + in_total
    t1 = {k: 0 for k in ("R113", "R114", "R120", "R121", "R122", "R130", "R140", "E220", "E230",
                          "E240", "E241", "E242", "E243")}
    t1.update({"R100": r110, "R110": r110, "R111": out_total, "R112": in_total, "E200": r110, "E210": r110,
               "S300": 0})
    d = ReturnDraft(code, "基准测试医院", "2026-10", filled_on=dt.date(2026, 11, 5))
    d.t1 = {k: (Decimal(v), Decimal(v) * 10) for k, v in t1.items()}
    d.t2 = {k: (Decimal(0), Decimal(0)) for k in ("A101", "A102", "A103", "A104", "A110", "A120", "A130",
                                                  "A100", "L201", "L202", "L203", "L204", "L210", "L221",
                                                  "L222", "L220", "L200", "N300")}
    d.t3 = {"W401": 100, "W402": Decimal(100000), "W403": Decimal(100000), "W404": 0, "W405": 0, "W406": 0}
    d.items = items
    return d


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    import pandas as pd
    from openpyxl import load_workbook
    from python_calamine import CalamineWorkbook

    from app import create_app
    from app.db import get_conn, upgrade
    from etl import intake, registry
    from etl.reader import read_return
    from etl.template import write_return

    tmp = Path(tempfile.mkdtemp(prefix="hemon-bench-"))
    path = write_return(large_draft(args.rows), tmp / "large.xlsx")
    sheet = "表5 医疗服务项目收入"
    results = {"rows": args.rows, "file_bytes": path.stat().st_size}
    results["pandas_openpyxl_s"], _ = timed(lambda: pd.read_excel(path, sheet_name=sheet, engine="openpyxl"))
    results["openpyxl_readonly_s"], _ = timed(
        lambda: sum(1 for _ in load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True)))
    results["calamine_rows_s"], _ = timed(
        lambda: sum(1 for _ in CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).iter_rows()))
    results["hemon_read_s"], _ = timed(lambda: read_return(path))

    app = create_app({"INSTANCE_DIR": str(tmp / "instance")}, env="testing")
    with app.app_context():
        conn = get_conn()
        upgrade(conn)
        reg = tmp / "reg.csv"
        reg.write_text("机构代码,机构名称,等级,类别,隶属,行政区划代码,经度,纬度,编制床位\n"
                       f"{large_draft(2).hospital_code},基准测试医院,三级甲等,综合医院,省属,511102,103.7,29.5,1000\n",
                       encoding="utf-8")
        registry.load_hospitals(conn, reg)
        settings = intake.IntakeSettings.from_config(app.config)
        results["hemon_ingest_s"], result = timed(lambda: intake.ingest_file(conn, path, settings))
        assert result.status == "accepted", result.findings
    app.extensions["hemon_db"].close()
    results["ingest_rows_per_s"] = round(args.rows / results["hemon_ingest_s"])
    results["ratio_ingest_vs_pandas"] = round(results["pandas_openpyxl_s"] / results["hemon_ingest_s"], 2)
    results["ratio_ingest_vs_calamine_floor"] = round(results["hemon_ingest_s"] / results["calamine_rows_s"], 2)
    for k, v in list(results.items()):
        if k.endswith("_s"):
            results[k] = round(v, 3)
    stamp = dt.datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stamp.replace(':', '')}.json").write_text(json.dumps(results, indent=1))
    line = (f"| {stamp} | {platform.node()} ({platform.machine()}, {platform.python_version()}) | "
            + ", ".join(f"{k}={v}" for k, v in results.items()) + " |\n")
    perf = ROOT / "docs" / "performance.md"
    if not perf.exists():
        perf.write_text("# Performance\n\nEach `make bench` run appends a line.\n\n| when | machine | figures |\n| --- | --- | --- |\n")
    with perf.open("a") as fh:
        fh.write(line)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
