"""Batch import (`import-returns`): many workbooks, each in its own transaction, rescored once.

Resumable and always consistent: each accepted file records the periods it makes stale in
`pending_rescore` in its own transaction (etl.ratings.pending); the run settles what earlier,
interrupted runs owed before it starts, and everything it owes at the end. A file that breaks
anything (parser, validation, database) becomes a finding for that file, and the batch goes on.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg

from etl.common.findings import Finding
from etl.ratings import pending
from etl.returns.intake import IntakeResult, IntakeSettings, batch_session, ingest_file

logger = logging.getLogger(__name__)

# What a folder scan takes in (case-insensitive); whether the reader accepts each is its business.
EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".et", ".ods")


@dataclass(frozen=True)
class Skipped:
    """A file in a scanned folder that was not taken in, and why (in Chinese)."""
    path: Path
    reason: str


def scan(paths) -> tuple[list[Path], list[Skipped]]:
    """Files as given; folders as their workbooks (recursively, sorted), with every other file
    in them listed as skipped."""
    files, skipped = [], []
    for p in map(Path, paths):
        if not p.is_dir():
            files.append(p)
            continue
        for x in sorted(q for q in p.rglob("*") if q.is_file()):
            if x.name.startswith("~$"):
                skipped.append(Skipped(x, "Office 临时锁定文件（工作簿正在被打开），已跳过"))
            elif x.suffix.lower() in EXTENSIONS:
                files.append(x)
            else:
                skipped.append(Skipped(x, f"不是报表工作簿（扩展名应为 {' '.join(EXTENSIONS)}），已跳过"))
    return files, skipped


def import_files(conn: psycopg.Connection, files: list[Path], settings: IntakeSettings, on_result=None,
                 submitted_at_for=None) -> list[IntakeResult]:
    """Ingest `files` one transaction each, settling owed rescoring before and after."""
    pending.settle(conn, settings.thresholds_file)
    results, cache = [], {}
    with batch_session(conn):
        for path in files:
            result = _one(conn, path, settings, cache, submitted_at_for(path) if submitted_at_for else None)
            results.append(result)
            if on_result:
                on_result(result)
    pending.settle(conn, settings.thresholds_file)
    return results


def _one(conn, path: Path, settings: IntakeSettings, cache: dict, submitted_at) -> IntakeResult:
    try:
        return ingest_file(conn, path, settings, rescore=False, cache=cache, submitted_at=submitted_at)
    except Exception:  # any failure is this file's, reported as a finding; the batch goes on
        logger.exception("import of %s failed", path)
        return IntakeResult(path.name, "rejected", findings=[Finding(
            "INTAKE_FAILED", "error", "", None,
            "处理该文件时发生内部错误，未导入（已记录日志）。请检查文件后重新导入，或联系管理员")])
