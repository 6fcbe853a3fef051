"""The intake: one workbook through read → validate → attribute → load → score.

The web upload, `import-returns` and the demo all call `ingest_file`; nothing else writes
returns. A rejected workbook writes nothing; an accepted one is loaded, attributed and
scored in one transaction — its hospital only, from its period on (a newly opened month is
scored for the whole province, so every other hospital shows `missing` in it).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg

from etl.attribution import mapping, rollup
from etl.common import audit
from etl.common.codes import shift_period
from etl.common.findings import Finding, has_errors
from etl.ratings import rescoring
from etl.returns import quality
from etl.returns.loader import StoredFile, ensure_period, load_return
from etl.returns.reader import FileRejected, check_file, read_return
from etl.returns.validation import ValidationContext, validate

logger = logging.getLogger(__name__)


@dataclass
class IntakeSettings:
    thresholds_file: Path
    max_bytes: int = 30 * 1024 * 1024
    max_uncompressed: int = 400 * 1024 * 1024
    template_versions: tuple = ("2026.1",)
    deadline_day: int = 10
    today: dt.date | None = None
    quality_cutoff: Decimal = Decimal("3.5")

    @classmethod
    def from_config(cls, config) -> "IntakeSettings":
        return cls(thresholds_file=Path(config["RISK_THRESHOLDS_FILE"]),
                   max_bytes=config["MAX_CONTENT_LENGTH"], max_uncompressed=config["MAX_UNCOMPRESSED_BYTES"],
                   template_versions=tuple(config["TEMPLATE_VERSIONS"]), deadline_day=config["DEADLINE_DAY"],
                   quality_cutoff=Decimal(str(config["QUALITY_Z_CUTOFF"])))


@dataclass
class IntakeResult:
    file: str
    status: str                       # accepted | rejected
    hospital: str | None = None
    period: str | None = None
    version: int | None = None
    return_id: int | None = None
    duplicate: bool = False
    findings: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"file": self.file, "status": self.status, "hospital": self.hospital or None,
                "period": self.period, "version": self.version, "duplicate": self.duplicate,
                "findings": [f.as_dict() for f in self.findings]}


def ingest_file(conn: psycopg.Connection, path: Path, settings: IntakeSettings, *,
                uploader: dict | None = None, file_name: str | None = None,
                submitted_at: dt.datetime | None = None, rescore: bool = True,
                cache: dict | None = None) -> IntakeResult:
    """Take one workbook in. `uploader` is the hospital account uploading it (None: province)."""
    path = Path(path)
    name = file_name or path.name
    try:
        check_file(path, settings.max_bytes, settings.max_uncompressed)
    except FileRejected as exc:
        return IntakeResult(name, "rejected", findings=[Finding(exc.code, "error", "", None, exc.message)])
    ret = read_return(path)
    result = IntakeResult(name, "rejected", hospital=ret.hospital_code or None, period=ret.period)
    ctx = _context(conn, ret, settings, uploader, cache if cache is not None else {})
    findings = validate(ret, ctx)
    if not has_errors(findings) and ctx.hospital:
        findings.extend(quality.outliers(conn, ret, ctx.hospital.get("level"), ctx.hospital.get("beds"),
                                         settings.quality_cutoff))
    result.findings = list(findings)
    if has_errors(findings):
        return result
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    existing = conn.execute(
        "SELECT id, version FROM return WHERE hospital_code = %s AND period = %s AND file_sha256 = %s",
        (ret.hospital_code, ret.period, digest)).fetchone()
    if existing:
        result.status, result.duplicate = "accepted", True
        result.version, result.return_id = existing["version"], existing["id"]
        result.findings.append(Finding("FILE_DUPLICATE", "notice", "", None,
                                       f"与已上报的第 {existing['version']} 版文件完全相同，未生成新版本"))
        return result
    with conn.transaction():
        opened = ensure_period(conn, ret.period, settings.deadline_day)
        loaded = load_return(conn, ret, findings, StoredFile(name, digest, len(content), content),
                             uploader["id"] if uploader else None, submitted_at)
        rollup.attribute(conn, [loaded["id"]])
        audit.record(conn, uploader, "return.upload", f"return:{loaded['id']}", None,
                     {"hospital": ret.hospital_code, "period": ret.period, "version": loaded["version"],
                      "sha256": digest, "warnings": sum(f.severity == "warning" for f in findings)})
        if rescore:
            if opened:   # a month nobody had filed: every other hospital is `missing` in it
                rescoring.rescore(conn, settings.thresholds_file, periods=opened)
            rescoring.rescore(conn, settings.thresholds_file, from_period=min(opened + [ret.period]),
                              hospital=ret.hospital_code)
    result.status, result.version, result.return_id = "accepted", loaded["version"], loaded["id"]
    return result


def _context(conn, ret, settings, uploader, cache) -> ValidationContext:
    ctx = ValidationContext(template_versions=settings.template_versions, today=settings.today or dt.date.today(),
                   uploader_hospital=uploader.get("hospital_code") if uploader else None)
    if ret.hospital_code:
        ctx.hospital = conn.execute("SELECT code, name, level, beds FROM hospital WHERE code = %s",
                                    (ret.hospital_code,)).fetchone()
    if ret.period:
        locked = conn.execute("SELECT locked FROM period WHERE period = %s", (ret.period,)).fetchone()
        ctx.period_locked = bool(locked and locked["locked"])
        version = mapping.version_for(conn, ret.period)
        if version:
            if ("codes", version["id"]) not in cache:
                cache[("codes", version["id"])] = mapping.mapped_codes(conn, version["id"])
            ctx.mapped_codes = cache[("codes", version["id"])]
        if ctx.hospital:
            prev = conn.execute(
                """SELECT v.item_code, v.column_name, v.amount FROM return r
                   JOIN return_value v ON v.return_id = r.id
                   WHERE r.hospital_code = %s AND r.period = %s AND r.is_current
                     AND ((v.sheet = '表1' AND v.column_name = 'ytd') OR v.item_code = 'W404')""",
                (ret.hospital_code, shift_period(ret.period, -1))).fetchall()
            if prev:
                ctx.previous_ytd = {r["item_code"]: r["amount"] for r in prev if r["column_name"] == "ytd"}
                ctx.previous_arrears = next((r["amount"] for r in prev if r["item_code"] == "W404"), Decimal(0))
    return ctx


def expand_paths(paths) -> list[Path]:
    """Files as given, folders as their .xlsx files (recursively, sorted)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*.xlsx") if not x.name.startswith("~$")))
        else:
            out.append(p)
    return out


@contextmanager
def batch_session(conn: psycopg.Connection):
    """For bulk intake: commit without waiting for the WAL flush (a crash may lose the last
    few commits, never corrupt or half-load one), restored afterwards."""
    conn.execute("SET synchronous_commit = off")
    try:
        yield conn
    finally:
        conn.execute("RESET synchronous_commit")


def import_paths(conn: psycopg.Connection, paths, settings: IntakeSettings, on_result=None,
                 submitted_at_for=None) -> list[IntakeResult]:
    """Ingest many workbooks, then rescore once from the earliest period touched."""
    results, cache = [], {}
    with batch_session(conn):
        for path in expand_paths(paths):
            result = ingest_file(conn, path, settings, rescore=False, cache=cache,
                                 submitted_at=submitted_at_for(path) if submitted_at_for else None)
            results.append(result)
            if on_result:
                on_result(result)
    if any(r.status == "accepted" and not r.duplicate for r in results):
        # Rescore every period without a rating as well as those touched and after them.
        first = conn.execute(
            """SELECT min(p.period) AS first FROM period p
               WHERE p.period >= %s OR NOT EXISTS (SELECT 1 FROM rating r WHERE r.period = p.period)""",
            (min(r.period for r in results if r.status == "accepted" and not r.duplicate),)).fetchone()["first"]
        rescoring.rescore(conn, settings.thresholds_file, from_period=first)
    return results
