"""Refuse a workbook whose size would cost the server before any parser sees it.

A 15 KB xlsx can declare a cell at XFD1048576 (a spreadsheet reader then allocates the whole
16,384 × 1,048,576 grid) or 20 million shared strings. `check_workbook_extent` reads each
worksheet's XML and the shared strings as a stream, with byte-level regular expressions and
an early exit, and raises FileRejected when a sheet reaches past what the return contract
can hold. It costs milliseconds for a normal return and stops at the first offending byte
for a hostile one; nothing is parsed into a tree except the two small workbook indexes.
"""
from __future__ import annotations

import posixpath
import re
import zipfile

from defusedxml import ElementTree

# What a return can hold: 表5 lists price items (the largest hospitals file about 100,000
# rows a month), the other sheets hold a few dozen rows; the template uses 12 columns.
MAX_ITEM_ROWS = 200_000
MAX_OTHER_ROWS = 5_000
MAX_COLUMNS = 52                      # A–AZ
MAX_SHARED_STRINGS = 1_000_000
CHUNK = 1 << 20
OVERLAP = 64                          # longer than any tag prefix the patterns match

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
# Cell and row references are the only attributes named plain `r` in a worksheet (r:id and
# ref are not matched). Writers separate attributes with one space, and a pattern that starts
# with the literal ' r="' is searched at memory speed; a buffer with other white space before
# r=" (a hand-made file) is searched again with the slower \s form.
_OTHER_SPACE = (b'\nr="', b'\tr="', b'\rr="')
_WIDE = rb'r="(?:[A-Z]{3,}|[B-Z][A-Z])[0-9]'
_TOO_WIDE = (re.compile(b" " + _WIDE), re.compile(rb"\s" + _WIDE))
_PREFIXED_ROW = re.compile(rb"<[A-Za-z_][\w.-]*:row[\s>/]")
_PREFIXED_SI = re.compile(rb"<[A-Za-z_][\w.-]*:si[\s>/]")


def above(limit: int) -> bytes:
    """A regular expression (bytes) matching exactly the decimal integers greater than `limit`."""
    digits = str(limit)
    alternatives = [rb"[1-9][0-9]{%d,}" % len(digits)]
    for i, d in enumerate(digits):
        if d != "9":
            rest = len(digits) - i - 1
            alternatives.append(digits[:i].encode() + b"[%d-9]" % (int(d) + 1) + (b"[0-9]{%d}" % rest if rest else b""))
    return b"(?:" + b"|".join(alternatives) + b")"


def _far(limit: int) -> tuple[re.Pattern, re.Pattern]:
    """A row (r="N") or a cell (r="ABN") beyond row `limit`, leading zeros or not."""
    tail = rb'r="[A-Z]*0*' + above(limit) + rb'"'
    return re.compile(b" " + tail), re.compile(rb"\s" + tail)


def _search(patterns: tuple[re.Pattern, re.Pattern], buf: bytes) -> bool:
    fast, thorough = patterns
    if fast.search(buf):
        return True
    return any(s in buf for s in _OTHER_SPACE) and thorough.search(buf) is not None


_FAR = {MAX_ITEM_ROWS: _far(MAX_ITEM_ROWS), MAX_OTHER_ROWS: _far(MAX_OTHER_ROWS)}


class ExtentError(Exception):
    """The workbook is larger than a return can be; carries (code, Chinese message)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """{sheet name: zip member} from xl/workbook.xml and its relationships."""
    workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    try:
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except KeyError:
        return {}
    targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("rel:Relationship", _NS)}
    out = {}
    for sheet in workbook.iterfind("m:sheets/m:sheet", _NS):
        target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
        if target:
            member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            out[sheet.get("name", "")] = member
    return out


def _chunks(zf: zipfile.ZipFile, member: str):
    """(buffer, cut) over the member: each buffer starts with the last OVERLAP bytes of the one
    before, so no tag is split; a match is counted where it starts before `cut` (the next
    buffer repeats what follows), so none is counted twice or missed."""
    carry = b""
    with zf.open(member) as fh:
        chunk = fh.read(CHUNK)
        while chunk:
            following = fh.read(CHUNK)
            buf = carry + chunk
            yield buf, (len(buf) - OVERLAP if following else len(buf))
            carry, chunk = buf[-OVERLAP:], following


def _count(tag: bytes, prefixed: re.Pattern, buf: bytes, cut: int) -> int:
    """Start tags <tag> / <tag …> (and <x:tag …>) that begin before `cut`."""
    n = buf.count(b"<" + tag + b" ", 0, cut + len(tag) + 2) + buf.count(b"<" + tag + b">", 0, cut + len(tag) + 2)
    if b":" + tag in buf:
        n += sum(1 for m in prefixed.finditer(buf) if m.start() < cut)
    return n


def _row_limit(name: str) -> int:
    return MAX_ITEM_ROWS if name.strip().startswith("表5") else MAX_OTHER_ROWS


def check_sheet(zf: zipfile.ZipFile, name: str, member: str) -> None:
    limit = _row_limit(name)
    far, rows = _FAR[limit], 0
    for buf, cut in _chunks(zf, member):
        if _search(_TOO_WIDE, buf):
            raise ExtentError("SHEET_TOO_WIDE", f"工作表“{name}”的数据超出第 {MAX_COLUMNS} 列（AZ 列），"
                              "超出报表格式范围；请删除多余的列或单元格内容后重新保存上传")
        if _search(far, buf):
            raise ExtentError("SHEET_TOO_LONG", f"工作表“{name}”的数据超出第 {limit:,} 行，超出报表格式范围；"
                              "请删除多余的行或单元格内容后重新保存上传")
        rows += _count(b"row", _PREFIXED_ROW, buf, cut)
        if rows > limit:
            raise ExtentError("SHEET_TOO_LONG", f"工作表“{name}”超过 {limit:,} 行，超出报表格式范围；"
                              "请删除多余的行后重新保存上传")


def check_shared_strings(zf: zipfile.ZipFile) -> None:
    member = next((n for n in zf.namelist() if n.lower() == "xl/sharedstrings.xml"), None)
    if member is None:
        return
    count = 0
    for buf, cut in _chunks(zf, member):
        count += _count(b"si", _PREFIXED_SI, buf, cut)
        if count > MAX_SHARED_STRINGS:
            raise ExtentError("TOO_MANY_STRINGS", f"文件包含超过 {MAX_SHARED_STRINGS:,} 个文本单元格内容，"
                              "远超报表所需，疑似异常文件；请将数据复制到下载的模板中重新保存后上传")


def check_workbook_extent(zf: zipfile.ZipFile) -> None:
    """Raise ExtentError when any sheet or the shared strings exceed what a return can hold."""
    for name, member in sheet_parts(zf).items():
        if member in zf.NameToInfo:
            check_sheet(zf, name, member)
    check_shared_strings(zf)

