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
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg

from etl.attribution import mapping, rollup
from etl.common import audit, sandbox
from etl.common.codes import shift_period
from etl.common.findings import Finding, has_errors
from etl.ratings import pending, rescoring
from etl.returns import quality
from etl.returns.loader import StoredFile, ensure_period, load_return
from etl.returns.validation import ValidationContext, validate
from etl.returns.workbook import open_return

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
    # None: read in this process — only for workbooks the platform wrote itself (the demo).
    parse_limits: sandbox.Limits | None = sandbox.Limits()

    @classmethod
    def from_config(cls, config) -> "IntakeSettings":
        return cls(thresholds_file=Path(config["RISK_THRESHOLDS_FILE"]),
                   max_bytes=config["MAX_CONTENT_LENGTH"], max_uncompressed=config["MAX_UNCOMPRESSED_BYTES"],
                   template_versions=tuple(config["TEMPLATE_VERSIONS"]), deadline_day=config["DEADLINE_DAY"],
                   quality_cutoff=Decimal(str(config["QUALITY_Z_CUTOFF"])),
                   parse_limits=parse_limits(config))


def parse_limits(config) -> sandbox.Limits:
    """The limits one untrusted workbook is read (or annotated) under, from the settings."""
    return sandbox.Limits(memory_bytes=int(config["PARSE_MEMORY_MB"]) * sandbox.MIB,
                          cpu_seconds=int(config["PARSE_CPU_SECONDS"]),
                          wall_seconds=float(config["PARSE_TIMEOUT_SECONDS"]))


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
    """Take one workbook in. `uploader` is the hospital account uploading it (None: province).

    With `rescore=False` (batch imports) the periods to rescore are recorded in
    pending_rescore in the load's transaction; `etl.ratings.pending.settle` pays them.
    """
    path = Path(path)
    name = file_name or path.name
    # check_file and read_return run in a limited child: a hostile file costs that child only.
    ret = open_return(path, settings.max_bytes, settings.max_uncompressed, settings.parse_limits)
    if isinstance(ret, Finding):
        return IntakeResult(name, "rejected", findings=[ret])
    result = IntakeResult(name, "rejected", hospital=ret.hospital_code or None, period=ret.period)
    ctx = _context(conn, ret, settings, uploader, cache)
    findings = validate(ret, ctx)
    if not has_errors(findings) and ctx.hospital:
        findings.extend(quality.outliers(conn, ret, ctx.hospital.get("level"), ctx.hospital.get("beds"),
                                         settings.quality_cutoff))
    result.findings = list(findings)
    if has_errors(findings):
        return result
    if _accepted(conn, ret.hospital_code, ret.period, lock=False):
        result.findings.append(locked_finding(ret.period))
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
    try:
        with conn.transaction():
            # Checked again under the row lock: an acceptance committed meanwhile wins.
            if _accepted(conn, ret.hospital_code, ret.period, lock=True):
                raise _Locked
            loaded = _load(conn, ret, findings, StoredFile(name, digest, len(content), content), uploader,
                           submitted_at, settings, rescore)
    except _Locked:
        result.findings.append(locked_finding(ret.period))
        return result
    result.status, result.version, result.return_id = "accepted", loaded["version"], loaded["id"]
    return result


class _Locked(Exception):
    """The return was accepted (locked) while this upload was being read."""


def locked_finding(period: str) -> Finding:
    """The answer to an upload replacing an accepted return: refused, and the way out."""
    return Finding("RETURN_LOCKED", "error", "", None,
                   f"{period} 的报表已审核通过并锁定，不能上传新版本（本次上传未保存）。如确需修改，请在"
                   "“报表填报”中打开该月报表，点击“申请重新打开”并说明原因；审核人同意后即可上传新版本")


def _accepted(conn, hospital: str | None, period: str | None, *, lock: bool) -> bool:
    """True when the hospital's current return for the period is accepted (locked). With
    `lock`, the hospital's row and then the current return's are locked, the order load_return
    takes them in, so an accept committing meanwhile is seen and no two uploads deadlock."""
    if lock:
        conn.execute("SELECT 1 FROM hospital WHERE code = %s FOR UPDATE", (hospital,))
    row = conn.execute("SELECT status FROM return WHERE hospital_code = %s AND period = %s AND is_current"
                       + (" FOR UPDATE" if lock else ""), (hospital, period)).fetchone()
    return bool(row and row["status"] == "accepted")


def _load(conn, ret, findings, file: StoredFile, uploader, submitted_at, settings, rescore: bool) -> dict:
    """Load, attribute, audit and score (or note for the batch) one return; in the caller's transaction."""
    opened = ensure_period(conn, ret.period, settings.deadline_day)
    loaded = load_return(conn, ret, findings, file, uploader["id"] if uploader else None, submitted_at)
    rollup.attribute(conn, [loaded["id"]], len(ret.items))
    audit.record(conn, uploader, "return.upload", f"return:{loaded['id']}", None,
                 {"hospital": ret.hospital_code, "period": ret.period, "version": loaded["version"],
                  "sha256": file.sha256, "warnings": sum(f.severity == "warning" for f in findings)})
    if rescore:
        if opened:   # a month nobody had filed: every other hospital is `missing` in it
            rescoring.rescore(conn, settings.thresholds_file, periods=opened)
        rescoring.rescore(conn, settings.thresholds_file, from_period=min(opened + [ret.period]),
                          hospital=ret.hospital_code)
    else:
        # Recorded with the load itself: a batch killed after this commit still owes it.
        pending.note(conn, min(opened + [ret.period]))
    return loaded


# Concurrent uploads may collide in scoring; the loser's whole transaction is simply redone.
RETRYABLE = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
ATTEMPTS = 5


def ingest_retrying(conn: psycopg.Connection, path: Path, settings: IntakeSettings, **kw) -> IntakeResult:
    """`ingest_file`, redone (up to ATTEMPTS times, with a short random pause) when the database
    aborts it for a serialization failure or a deadlock; other errors propagate."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return ingest_file(conn, path, settings, **kw)
        except RETRYABLE as exc:
            if attempt == ATTEMPTS:
                raise
            logger.info("ingest of %s: %s, attempt %d again", path.name, exc.__class__.__name__, attempt + 1)
            time.sleep(random.uniform(0.05, 0.2) * attempt)
    raise AssertionError("unreachable")


def _context(conn, ret, settings, uploader, cache: dict | None) -> ValidationContext:
    ctx = ValidationContext(template_versions=settings.template_versions, today=settings.today or dt.date.today(),
                   uploader_hospital=uploader.get("hospital_code") if uploader else None)
    if ret.hospital_code:
        ctx.hospital = conn.execute("SELECT code, name, level, beds, opened_from, closed_from, successor_code "
                                    "FROM hospital WHERE code = %s",
                                    (ret.hospital_code,)).fetchone()
    if ret.period:
        locked = conn.execute("SELECT locked FROM period WHERE period = %s", (ret.period,)).fetchone()
        ctx.period_locked = bool(locked and locked["locked"])
        version = mapping.version_for(conn, ret.period)
        if version and cache is not None:
            # A batch reads the version's whole catalogue once for all its files.
            if ("codes", version["id"]) not in cache:
                cache[("codes", version["id"])] = mapping.mapped_codes(conn, version["id"])
            ctx.mapped_codes = cache[("codes", version["id"])]
        elif version:
            # One upload asks only for its own codes (a typical return has a few hundred, the
            # catalogue 50,000).
            ctx.mapped_codes = mapping.mapped_codes(conn, version["id"], {i.price_code for i in ret.items})
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


@contextmanager
def batch_session(conn: psycopg.Connection):
    """For bulk intake: commit without waiting for the WAL flush (a crash may lose the last
    few commits, never corrupt or half-load one), restored afterwards."""
    conn.execute("SET synchronous_commit = off")
    try:
        yield conn
    finally:
        conn.execute("RESET synchronous_commit")
