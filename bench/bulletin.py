"""Bulletin: the monthly bulletin (reports.bulletin.build.build) for the bench province's newest
month: its time, and the size of its Word and PDF files. Reports "not available" where the
platform has no bulletin yet."""
from __future__ import annotations

import json
import statistics

from bench.common import timed
from reports.bulletin.build import build


def run(province, runs: int = 1) -> dict:
    out = {"available": True, "hospitals": len(province.hospitals), "period": province.last}
    times = []
    with province.connect() as conn:
        for _ in range(runs):
            seconds, result = timed(lambda: build(conn, province.last))
            times.append(seconds)
    out["build_s"] = statistics.median(times)
    out["build_runs_s"] = times
    files = result.files
    for name in ("bulletin.docx", "bulletin.pdf"):
        if name in files:
            out[name.replace(".", "_") + "_bytes"] = len(files[name][1])
    out["other_files"] = len(files) - sum(name in files for name in ("bulletin.docx", "bulletin.pdf"))
    out["content_json_bytes"] = len(json.dumps(result.content, ensure_ascii=False, default=str).encode())
    return out
