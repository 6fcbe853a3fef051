"""Open an uploaded workbook safely: check_file and read_return in a limited child process.

Whatever the file does to the parser (a panic, gigabytes of memory, minutes of CPU), the
caller gets either the ParsedReturn or one Chinese finding; the process that asked (a web
worker, `import-returns`) carries on. Limits come from settings (PARSE_MEMORY_MB,
PARSE_CPU_SECONDS, PARSE_TIMEOUT_SECONDS).
"""
from __future__ import annotations

import dataclasses
import logging
from decimal import Decimal
from pathlib import Path

from etl.common import sandbox
from etl.common.findings import Finding
from etl.returns.reader import FileRejected, Item, ParsedReturn, check_file, read_return

logger = logging.getLogger(__name__)

UNSAFE = "FILE_UNSAFE"


def _check_and_read(path: Path, max_bytes: int, max_uncompressed: int):
    """In the child: the finding that refuses the file, or the ParsedReturn."""
    try:
        check_file(path, max_bytes, max_uncompressed)
    except FileRejected as exc:
        return Finding(exc.code, "error", "", None, exc.message)
    ret = read_return(path)
    items, ret.items = ret.items, []
    return ret, _columns(items)


# 表5 travels as one list per field, amounts as text: pickling 100,000 Item objects holding
# Decimals one by one costs more than reading the sheet did.
_FIELDS = [f.name for f in dataclasses.fields(Item)]


def _columns(items: list) -> dict:
    out = {}
    for name in _FIELDS:
        values = [getattr(i, name) for i in items]
        decimal = any(isinstance(v, Decimal) for v in values)
        if decimal:
            values = [None if v is None else str(v) for v in values] if None in values else list(map(str, values))
        out[name] = (decimal, values)
    return out


def _decimals(values: list) -> list:
    if None in values:
        return [None if v is None else Decimal(v) for v in values]
    return list(map(Decimal, values))


def _items(columns: dict) -> list:
    lists = [_decimals(values) if decimal else values
             for decimal, values in (columns[name] for name in _FIELDS)]
    return list(map(Item, *lists))


def open_return(path: Path, max_bytes: int, max_uncompressed: int,
                limits: sandbox.Limits | None = sandbox.Limits()) -> ParsedReturn | Finding:
    """Return the file's ParsedReturn, or the one error Finding that refuses it.

    A file the child cannot read within `limits` is refused as FILE_UNSAFE (文件无法安全读取).
    `limits=None` reads in this process: only for workbooks the platform wrote itself (the
    demo), never for a file from outside.
    """
    if limits is None:
        answer = _check_and_read(Path(path), max_bytes, max_uncompressed)
        if isinstance(answer, Finding):
            return answer
        ret, columns = answer
        ret.items = _items(columns)
        return ret
    try:
        answer = sandbox.run(_check_and_read, Path(path), max_bytes, max_uncompressed,
                             limits=limits, preload=(__name__,))
    except sandbox.SandboxFailed as exc:
        logger.warning("refused %s: parser child failed (%s)", Path(path).name, exc.detail)
        return Finding(UNSAFE, "error", "", None,
                       f"文件无法安全读取（{exc.reason}），可能已损坏或含有异常内容。"
                       "请用 Excel 或 WPS 打开后另存为 .xlsx 再上传")
    if isinstance(answer, Finding):
        return answer
    ret, columns = answer
    ret.items = _items(columns)
    return ret
