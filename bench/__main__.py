"""The benchmark suite (`make bench`): the platform's main jobs at a province's scale, each
measured against the obvious alternative in the same run.

1. Build the bench province (bench/province.py, bench/scale.py): a fresh embedded
   PostgreSQL with N hospitals × M months of returns (default 1,500 × 24).
2. scoring  — rescore every month: etl.ratings.scoring (SQL) vs the same in pandas (bench/scoring.py)
3. map      — the map page: time and size (bench/map_page.py)
4. bulletin — the monthly bulletin: time, docx and pdf size (bench/bulletin.py)
5. web      — map, hospital page, returns list under 20 clients on gunicorn (bench/web.py)
6. ingest   — one 100,000-row return vs pandas/openpyxl and the calamine floor (bench/ingest.py)
7. load     — etl.returns.loader vs a plain COPY of the same rows (bench/load.py)
8. forecast — the early warning's backtest over every month against the naive forecast (bench/forecast.py)
9. uploads  — deadline day: 50 hospital users upload through the web (gunicorn) while an admin's
              threshold save rescores every period; checked against a clean rescore (bench/uploads.py).
              Last: it changes the province (new return versions, new thresholds).

Writes bench/results/<time>.json and appends a row to docs/performance.md.
Usage: python -m bench [--hospitals N] [--months M] [--only scoring,map,...] [--no-record]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import time

from bench import common, report

STEPS = ("scoring", "map", "bulletin", "web", "ingest", "load", "forecast", "uploads")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hospitals", type=int, default=1500)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--largest-rows", type=int, default=100_000, help="表5 rows of the largest hospital")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma-separated, of: {', '.join(STEPS)}")
    parser.add_argument("--workers", type=int, default=None, help="loader processes (default: one per core)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--web-seconds", type=float, default=15)
    parser.add_argument("--upload-users", type=int, default=50, help="hospital users uploading at once (uploads)")
    parser.add_argument("--no-record", action="store_true", help="write no JSON and no docs/performance.md row")
    parser.add_argument("--keep", action="store_true", help="keep the bench province's folder (printed)")
    parser.add_argument("--reuse", metavar="FOLDER", help="use a province kept by --keep instead of building one")
    args = parser.parse_args()
    steps = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    logging.basicConfig(level=logging.WARNING)

    from bench import bulletin, ingest, load, map_page, scoring, uploads, web
    from bench import forecast as early_warning
    from bench.province import Province

    started = time.perf_counter()
    results = {"when": dt.datetime.now().strftime("%Y-%m-%dT%H:%M:%S"), "machine": common.machine(),
               "args": vars(args)}
    province = (Province.reuse(args.reuse) if args.reuse else
                Province.build(args.hospitals, args.months, args.seed, args.workers, args.largest_rows, args.keep))
    try:
        sizes = [h.rows for h in province.hospitals]
        results["scale"] = {"hospitals": len(sizes), "months": len(province.periods),
                            "periods": f"{province.periods[0]}..{province.last}", "min_rows": min(sizes),
                            "median_rows": sorted(sizes)[len(sizes) // 2], "max_rows": max(sizes),
                            "rows_by_level": _by_level(province), "build_s": time.perf_counter() - started,
                            **province.summary}
        if args.reuse:     # built by an earlier run (--keep): say so, with that build's own figures
            results["scale"]["reused_from"] = str(province.tmp)
            results["scale"]["build_s"] = None
        _print("scale", results["scale"])
        if "scoring" not in steps:                    # the pages need ratings
            from etl.ratings.scoring import score
            with province.connect() as conn:
                if not conn.execute("SELECT 1 FROM rating LIMIT 1").fetchone():
                    score(conn, province.app.config["RISK_THRESHOLDS_FILE"], None)
        runners = {"scoring": lambda: scoring.run(province), "map": lambda: map_page.run(province),
                   "bulletin": lambda: bulletin.run(province),
                   "web": lambda: web.run(province, args.clients, args.web_seconds),
                   "ingest": lambda: ingest.run(province), "load": lambda: load.run(province),
                   "uploads": lambda: uploads.run(province, args.upload_users),
                   "forecast": lambda: early_warning.run(province)}
        for step in STEPS:
            if step in steps:
                start = time.perf_counter()
                results[step] = runners[step]()
                results[step]["step_s"] = time.perf_counter() - start
                _print(step, results[step])
    finally:
        province.close()
        if province.keep:
            print(f"bench province kept in {province.tmp} (--reuse {province.tmp})")
    results["total_s"] = time.perf_counter() - started
    if not args.no_record:
        path = report.write(results)
        print(f"wrote {path.relative_to(report.ROOT)} and a row of docs/performance.md")
    print(report.row(results))


def _by_level(province) -> dict:
    out = {}
    for h in province.hospitals:
        level = h.registry["等级"]
        entry = out.setdefault(level, {"hospitals": 0, "rows_per_month": 0, "max_rows": 0})
        entry["hospitals"] += 1
        entry["rows_per_month"] += h.rows
        entry["max_rows"] = max(entry["max_rows"], h.rows)
    return out


def _print(step: str, figures: dict) -> None:
    print(f"== {step}: " + json.dumps(common.rounded(figures), ensure_ascii=False, default=str), flush=True)


if __name__ == "__main__":
    main()
