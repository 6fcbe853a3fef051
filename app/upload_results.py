"""Upload answers kept for a day: one folder per token under instance/upload-results/.

Each answer is bounded (at most MAX_FINDINGS findings, errors first, with the counts of all;
the rejected workbook kept only when it is small enough to annotate) and the folder as a
whole is bounded by UPLOAD_RESULTS_MAX_MB: every write first deletes expired answers, then
the oldest ones until the folder is under its quota. Rejected workbooks leave no database
row, so this folder is their only trace; files refused before parsing are never kept.
"""
from __future__ import annotations

import json
import shutil
import time
import zipfile
from pathlib import Path

from flask import current_app

TTL_SECONDS = 24 * 3600
MAX_FINDINGS = 5000
SEVERITY_ORDER = {"error": 0, "warning": 1, "notice": 2}
# Findings raised before parsing: such a file is never opened again (it may be a zip bomb).
PRE_PARSE_CODES = {"FILE_TOO_LARGE", "FILE_TOO_LARGE_UNCOMPRESSED", "FILE_ENCRYPTED", "FILE_NOT_XLSX",
                   "FILE_CORRUPT", "FILE_UNSAFE", "SHEET_TOO_LONG", "SHEET_TOO_WIDE", "TOO_MANY_STRINGS"}


def results_dir() -> Path:
    path = Path(current_app.instance_path) / "upload-results"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _size(entry: Path) -> int:
    try:
        if entry.is_dir():
            return sum(f.stat().st_size for f in entry.iterdir())
        return entry.stat().st_size
    except FileNotFoundError:
        return 0


def _remove(entry: Path) -> None:
    try:
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    except FileNotFoundError:
        pass


def purge(store: Path, quota_bytes: int, now: float | None = None) -> int:
    """Delete answers older than a day, then the oldest until `store` holds at most
    `quota_bytes`; return how many entries were deleted."""
    now = time.time() if now is None else now
    entries = []
    for entry in store.iterdir():
        try:
            entries.append((entry.stat().st_mtime, entry))
        except FileNotFoundError:
            continue
    removed = 0
    kept = []
    for mtime, entry in entries:
        if mtime < now - TTL_SECONDS:
            _remove(entry)
            removed += 1
        else:
            kept.append((mtime, _size(entry), entry))
    total = sum(size for _, size, _ in kept)
    for _, size, entry in sorted(kept, key=lambda k: k[0]):
        if total <= quota_bytes:
            break
        _remove(entry)
        total -= size
        removed += 1
    return removed


def bounded(findings: list[dict]) -> tuple[list[dict], dict]:
    """The findings to keep (errors first, at most MAX_FINDINGS) and the counts of all."""
    ordered = sorted(findings, key=lambda f: SEVERITY_ORDER.get(f["severity"], 3))
    counts = {s: sum(f["severity"] == s for f in findings) for s in SEVERITY_ORDER}
    return ordered[:MAX_FINDINGS], counts


def worth_keeping(result, upload: Path, max_uncompressed: int) -> bool:
    """Keep a rejected workbook only if it was parsed and is small enough to annotate."""
    if result.status != "rejected" or any(f.code in PRE_PARSE_CODES for f in result.findings):
        return False
    try:
        with zipfile.ZipFile(upload) as zf:
            return sum(i.file_size for i in zf.infolist()) <= max_uncompressed
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def save(folder: Path, record: dict, upload: Path | None) -> None:
    """Write one answer: `record` with bounded findings, and `upload` moved in if given."""
    findings, counts = bounded(record["findings"])
    record = record | {"findings": findings, "counts": counts, "findings_total": sum(counts.values()),
                       "kept": upload is not None}
    folder.mkdir()
    if upload is not None:
        upload.rename(folder / "upload.xlsx")
    (folder / "result.json").write_text(json.dumps(record, ensure_ascii=False))


def load(folder: Path, user_id: int) -> dict | None:
    """The answer in `folder` if it belongs to `user_id` and has not expired, else None."""
    try:
        record = json.loads((folder / "result.json").read_text())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    if record.get("user_id") != user_id or time.time() - record.get("created", 0) > TTL_SECONDS:
        return None
    return record
