"""The demo province, built through the real pipeline: files written, then taken in.

The figures come from etl/demo/province.py and etl/demo/returns.py (deterministic, no database); this module writes
them as the registry, mapping and return workbooks a real province would have and takes
them in with the same functions an administrator's load and a hospital's upload use.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from etl.attribution import mapping
from etl.common.errors import HemonError
from etl.common.tabular import write_table
from etl.demo.province import (
    DEMO_FIRST,
    DEMO_LAST,
    PROVINCE,
    demo_hospitals,
    demo_mapping_rows,
)
from etl.demo.returns import demo_returns
from etl.ratings import pending
from etl.reference import deployment, registry
from etl.reference.accounts import create_user
from etl.reference.province import initialise as init_province
from etl.returns import intake
from etl.returns.drafts import write_return
from etl.returns.loader import ensure_period

DEMO_LOGINS = (
    ("admin", "demo-admin-2026", "省级管理员"),
    ("reviewer", "demo-review-2026", "省级审核员"),
    ("leader", "demo-leader-2026", "领导"),
    ("hospital", "demo-hospital-2026", "医院填报员"),
    ("chengdu", "demo-chengdu-2026", "成都市审核员"),
    ("chengdu-leader", "demo-cdleader-2026", "成都市领导"),
)
# The demo's prefecture logins (the prefecture tier): their role, bound to 成都市.
DEMO_PREFECTURE = "510100"
DEMO_PREFECTURE_ROLES = {"chengdu": "prefecture", "chengdu-leader": "prefecture-leader"}
DEMO_MAPPING_NAME = "演示口径2024"
DEMO_MAPPING_EFFECTIVE = "2024-01"
# The draft the province is simulating before rolling it out (moves a few dozen items).
DEMO_DRAFT_NAME = "演示口径2027征求意见稿"
DEMO_DRAFT_EFFECTIVE = "2027-01"


def build_demo(conn, out_dir: Path, settings, seed: int = 2026, progress=False) -> str:
    """Write the demo's registry, mapping and returns as files and take them in through the
    same functions an administrator's load and a hospital's upload use. Returns a summary."""
    if conn.execute("SELECT 1 FROM return LIMIT 1").fetchone():
        raise HemonError("数据库中已有报表数据；演示省份只能载入空数据库（可删除实例目录后重试）")
    out_dir = Path(out_dir)
    started = time.monotonic()
    init_province(conn, PROVINCE)
    hospitals = demo_hospitals(seed)
    registry.load_hospitals(conn, write_table(out_dir / "registry.xlsx", registry.COLUMNS, hospitals, "医疗机构"))
    for version in ("A", "B"):
        write_table(out_dir / f"mapping-{version}.xlsx", mapping.COLUMNS, demo_mapping_rows(version), "归集口径")
    mapping.load_mapping(conn, out_dir / "mapping-A.xlsx", DEMO_MAPPING_NAME, DEMO_MAPPING_EFFECTIVE)
    mapping.load_mapping(conn, out_dir / "mapping-B.xlsx", DEMO_DRAFT_NAME, DEMO_DRAFT_EFFECTIVE)
    with conn.transaction():
        for period in (DEMO_FIRST, DEMO_LAST):
            ensure_period(conn, period, settings.deadline_day)
    # The demo's workbooks are written by this code a moment before: read them in this process
    # (a child per file would add ~20 ms to each of 3,261 returns).
    settings = dataclasses.replace(settings, today=dt.date(int(DEMO_LAST[:4]), int(DEMO_LAST[5:]), 28)
                                   if settings.today is None else settings.today, parse_limits=None)
    drafts = list(demo_returns(hospitals, seed))
    jobs = [(d, out_dir / "returns" / d.period / f"{d.hospital_code}.xlsx") for d, _ in drafts]
    rejected, cache = [], {}
    # progress: True draws a bar with its estimate (a terminal); a function is told (done, total)
    # after each return (logs, where a bar would be noise); False says nothing.
    bar = tqdm(total=len(drafts), desc="演示报表", unit="份", disable=progress is not True)
    report = progress if callable(progress) else None
    # Workbooks are written in worker processes while this one takes them in, in order.
    with intake.batch_session(conn), \
            ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        for (draft, submitted_at), path in zip(drafts, pool.map(_write, jobs, chunksize=8)):
            result = intake.ingest_file(conn, path, settings, submitted_at=submitted_at, rescore=False,
                                        cache=cache)
            if result.status != "accepted":
                rejected.append(result)
            bar.update(1)
            if report:
                report(bar.n, bar.total)
    bar.close()
    if rejected:
        first = rejected[0]
        raise HemonError(f"演示报表有 {len(rejected)} 份未通过校验，例如 {first.file}："
                         + "；".join(f.message for f in first.findings[:3]))
    # Every period from the first (ingest noted them all): the same as rescoring everything.
    counts = pending.settle(conn, settings.thresholds_file).counts
    # The demo's hospital login files for the first hospital of the registry.
    for username, password, role_name in DEMO_LOGINS:
        hospital = hospitals[0] if username == "hospital" else None
        role = DEMO_PREFECTURE_ROLES.get(username, username)
        create_user(conn, username, password, role, hospital["机构代码"] if hospital else None,
                    display_name=hospital["机构名称"] + "财务科" if hospital else f"演示{role_name}",
                    region_code=DEMO_PREFECTURE if role in DEMO_PREFECTURE_ROLES.values() else None)
    deployment.set_setting(conn, "demo", True)
    return (f"演示省份：{len(hospitals)} 家医院，{len(drafts)} 份报表（{DEMO_FIRST} 至 {DEMO_LAST}），"
            f"用时 {time.monotonic() - started:.0f} 秒；评级 {counts}")


def _write(job) -> Path:
    draft, path = job
    return write_return(draft, path)
