"""Attachments to a case (plans, evidence): checked by content, kept like returns' files.

Only PDF, PNG, JPEG, .xlsx and .docx are taken, recognised from their bytes, never from the
name: a zip must be an Office Open XML workbook or document without macros, and must not
expand past MAX_UNCOMPRESSED (a zip bomb). The bytes are stored with their SHA-256 in
risk_case_file, as returns keep their workbooks.
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile

import psycopg

from etl.common.audit import record
from etl.common.errors import HemonError

MAX_BYTES = 10 * 1024 * 1024            # default per file (config CASE_ATTACHMENT_MAX_MB)
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_FILES = 30                          # per case
KINDS = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
ACCEPTED = "附件只接收 PDF、图片（PNG、JPEG）、Excel（.xlsx）和 Word（.docx）文件"


def kind_of(data: bytes, max_bytes: int = MAX_BYTES) -> str:
    """The kind of an acceptable attachment ('pdf', 'png', 'jpeg', 'xlsx', 'docx'); raises
    HemonError with a Chinese message for anything else, too large, or broken."""
    if not data:
        raise HemonError("附件是空文件")
    if len(data) > max_bytes:
        raise HemonError(f"附件大小 {len(data) / 1048576:.1f} MB 超过上限 {max_bytes / 1048576:.0f} MB")
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = set(zf.namelist())
                if sum(i.file_size for i in zf.infolist()) > MAX_UNCOMPRESSED:
                    raise HemonError("附件解压后过大，疑似异常文件")
                if "[Content_Types].xml" not in names:
                    raise HemonError(ACCEPTED)
                if any(n.lower().endswith("vbaproject.bin") for n in names):
                    raise HemonError("附件含有宏，不能上传；请另存为不含宏的 .xlsx 或 .docx")
                kind = "xlsx" if "xl/workbook.xml" in names else "docx" if "word/document.xml" in names else None
                if kind is None:
                    raise HemonError(ACCEPTED)
                if zf.testzip() is not None:
                    raise HemonError("附件已损坏，请重新保存后上传")
                return kind
        except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError):
            raise HemonError("附件已损坏，请重新保存后上传") from None
    raise HemonError(ACCEPTED)


def clean_name(name: str, kind: str) -> str:
    """A file name safe to show and send back: no path, no control characters, the kind's suffix."""
    base = re.sub(r"[\x00-\x1f\x7f/\\]", "", (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip() or "附件"
    suffix = {"jpeg": ".jpg"}.get(kind, f".{kind}")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem[:100]}{suffix}"


def add(conn: psycopg.Connection, case_id: int, user: dict | None, name: str, data: bytes,
        max_bytes: int = MAX_BYTES) -> int:
    """Check and keep one attachment of a case (already checked against the user's scope);
    audited. Returns its number within the case."""
    kind = kind_of(data, max_bytes)
    with conn.transaction():
        case = conn.execute("SELECT id, status FROM risk_case WHERE id = %s FOR UPDATE", (case_id,)).fetchone()
        if case is None:
            raise HemonError("未找到该风险处置事项")
        if case["status"] == "closed":
            raise HemonError("已销号的事项不能再添加附件")
        count = conn.execute("SELECT count(*) AS n, coalesce(max(seq), 0) AS last FROM risk_case_file "
                             "WHERE case_id = %s", (case_id,)).fetchone()
        if count["n"] >= MAX_FILES:
            raise HemonError(f"每个事项最多 {MAX_FILES} 个附件")
        seq = count["last"] + 1
        digest = hashlib.sha256(data).hexdigest()
        shown = clean_name(name, kind)
        conn.execute("""INSERT INTO risk_case_file (case_id, seq, file_name, kind, file_size, file_sha256, content,
                                                    uploaded_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                     (case_id, seq, shown, kind, len(data), digest, data, user["id"] if user else None))
        record(conn, user, "case.attach", f"risk_case:{case_id}", None,
               {"seq": seq, "file_name": shown, "kind": kind, "size": len(data), "sha256": digest})
    return seq


def content(conn: psycopg.Connection, case_id: int, seq: int) -> dict | None:
    """An attachment's name, kind and bytes (the case already checked against the scope)."""
    return conn.execute("SELECT file_name, kind, content FROM risk_case_file WHERE case_id = %s AND seq = %s",
                        (case_id, seq)).fetchone()
