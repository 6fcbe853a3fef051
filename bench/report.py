"""A run's record: bench/results/<time>.json with every figure, and one table row appended
to docs/performance.md with the headline figures."""
from __future__ import annotations

import json
from pathlib import Path

from bench.common import rounded

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PERFORMANCE = ROOT / "docs" / "performance.md"
HEADER = ("| when | machine | bench province | ingest (100,000 rows) | load | scoring (all months) | map page "
          "| bulletin | web, 20 clients: p50 / p95 ms, req/s | uploads (deadline day) | total |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")


def write(results: dict, record: bool = True) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{results['when'].replace(':', '')}.json"
    path.write_text(json.dumps(rounded(results), indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    if record:
        text = PERFORMANCE.read_text(encoding="utf-8") if PERFORMANCE.exists() else "# Performance\n\n"
        if HEADER.splitlines()[0] not in text:
            text = text.rstrip("\n") + "\n\n## Runs\n\n" + HEADER
        PERFORMANCE.write_text(text.rstrip("\n") + "\n" + row(results) + "\n", encoding="utf-8")
    return path


def row(r: dict) -> str:
    m = r["machine"]
    cells = [r["when"].replace("T", " ")[:16],
             f"{m['host']}: {m['cores']} × {m['cpu']}, {m['memory_gib']} GiB, Python {m['python']}; "
             f"load average {m['load_average'][0]} at start"]
    cells.append(_province(r.get("scale")))
    cells.append(_ingest(r.get("ingest")))
    cells.append(_load(r.get("load")))
    cells.append(_scoring(r.get("scoring")))
    cells.append(_map(r.get("map")))
    cells.append(_bulletin(r.get("bulletin")))
    cells.append(_web(r.get("web")))
    cells.append(_uploads(r.get("uploads")))
    cells.append(_duration(r["total_s"]))
    return "| " + " | ".join(cells) + " |"


def _province(s):
    if not s:
        return "—"
    return (f"{s['hospitals']:,} × {s['months']} months = {s['returns']:,} returns, {s['item_rows'] / 1e6:.1f} M 表5 "
            f"rows ({s['min_rows']:,}–{s['max_rows']:,} per return); loaded in {_duration(s['load_returns_s'])} "
            f"({s['load_item_rows_per_s'] / 1000:.0f} k rows/s, {s['workers']} workers)"
            + ("; built by an earlier run (--keep), reused" if s.get("reused_from") else ""))


def _ingest(s):
    if not s:
        return "—"
    return (f"{s['ingest_rows_per_s'] / 1000:.0f} k rows/s ({s['hemon_ingest_s']:.2f} s); "
            f"**{s['ratio_ingest_vs_pandas']}× faster** than pandas/openpyxl ({s['pandas_openpyxl_s']:.1f} s); "
            f"**{s['ratio_ingest_vs_calamine_floor']}× the calamine floor** ({s['calamine_rows_s']:.2f} s); "
            f"with its rescoring {s['hemon_ingest_with_rescore_s']:.2f} s against "
            f"{s['hemon_ingest_open_period_s']:.2f} s (**+{s['rescore_overhead'] * 100:.0f} %**)")


def _load(s):
    if not s:
        return "—"
    return (f"{s['load_rows_per_s'] / 1000:.0f} k rows/s ({s['load_return_s']:.2f} s); "
            f"**{s['ratio_load_vs_copy_floor']}× plain COPY** ({s['copy_floor_s']:.2f} s)")


def _scoring(s):
    if not s:
        return "—"
    agree = ("agree on every value" if not s["value_or_colour_mismatches"] and not s["rating_mismatches"]
             else f"**{s['value_or_colour_mismatches']} values, {s['rating_mismatches']} ratings differ**")
    return (f"{s['platform_all_periods_s']:.1f} s; pandas {s['pandas_s']:.1f} s: "
            f"**{s['ratio_platform_vs_pandas']}×**"
            + (f" (every row rewritten {s['platform_all_periods_rewrite_s']:.1f} s: {s['ratio_rewrite_vs_pandas']}×)"
               if "platform_all_periods_rewrite_s" in s else "")
            + f"; one month {s['platform_one_period_s']:.1f} s; {agree}")


def _map(s):
    if not s:
        return "—"
    return f"{s['render_median_s']:.2f} s, {s['page_bytes'] / 1e6:.2f} MB ({s['markers']:,} markers)"


def _bulletin(s):
    if not s:
        return "—"
    if not s.get("available"):
        return "not available"
    return (f"{s['build_s']:.1f} s; docx {s.get('bulletin_docx_bytes', 0) / 1e3:.0f} kB, "
            f"pdf {s.get('bulletin_pdf_bytes', 0) / 1e3:.0f} kB")


def _web(s):
    if not s:
        return "—"
    parts = []
    for page in ("map", "hospital", "returns"):
        p = s.get(page) or {}
        if "p50_ms" in p:
            errors = f", {p['errors']} errors" if p["errors"] else ""
            parts.append(f"{page} {p['p50_ms']:.0f} / {p['p95_ms']:.0f}, {p['requests_per_s']:.1f}/s{errors}")
    return "; ".join(parts) or "—"


def _uploads(s):
    if not s:
        return "—"
    t = s.get("thresholds") or {}
    admin = (f"threshold save + rescore of all months {t['rescore_all_s']:.1f} s" if not t.get("error")
             else f"**threshold save failed: {t['error'][:80]}**")
    same = ("every rating and value equal to a clean rescore"
            if not s["ratings_differing_from_clean_rescore"] and not s["indicator_values_differing_from_clean_rescore"]
            else f"**{s['ratings_differing_from_clean_rescore']} ratings, "
                 f"{s['indicator_values_differing_from_clean_rescore']} values differ from a clean rescore**")
    latency = f"p50 {s['p50_ms']:.0f} / p95 {s['p95_ms']:.0f} ms, " if "p50_ms" in s else ""
    return (f"{s['users']} users: **{s['errors']} errors**, {latency}{s['uploads_per_s'] or 0:.2f} uploads/s; "
            f"{admin} at the same time; {same}")


def _duration(seconds: float) -> str:
    minutes, sec = divmod(round(seconds), 60)
    return f"{minutes} min {sec:02d} s" if minutes else f"{sec} s"
