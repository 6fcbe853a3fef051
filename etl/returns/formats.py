"""Tell what kind of workbook a file is and refuse, before parsing, what is unsafe or unreadable.

Hospitals save the template from Excel (.xlsx, .xlsm), older Excel and WPS (.xls, .et: both
OLE compound files holding BIFF8) and LibreOffice (.ods). The kind is read from the content,
never the name: uploads are stored under a temporary name, and a renamed file is still what it
is. Macros in .xlsm are never run (nothing here or in calamine executes them). Limits:

- every kind: the file size (`max_bytes`);
- xlsx/xlsm: expanded size, sheet extent and shared strings (etl/returns/limits.py), zip CRC;
- ods: expanded size and the extent of content.xml (etl/returns/marks.py reads it as a stream);
- xls/et: the file size bounds the work (BIFF8 holds at most 65,536 rows a sheet).

A password-protected xlsx is also an OLE file; it is told apart from .xls by its
`EncryptedPackage` stream and keeps the FILE_ENCRYPTED message.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from defusedxml import DefusedXmlException, ElementTree

from etl.returns.limits import ExtentError, check_workbook_extent
from etl.returns.marks import ods_marks

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
ACCEPTED_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et", ".ods")
SAVE_AS = "请用 Excel、WPS 或 LibreOffice 打开后“另存为” .xlsx 格式再上传"


class FileRejected(Exception):
    """The file is not a workbook the platform reads at all; carries the finding to show."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def check_file(path: Path, max_bytes: int, max_uncompressed: int) -> str:
    """Return the kind ('xlsx', 'ods' or 'ole') of a safe workbook; raise FileRejected otherwise."""
    size = path.stat().st_size
    if size > max_bytes:
        raise FileRejected("FILE_TOO_LARGE", f"文件大小 {size/1048576:.1f} MB 超过上限 {max_bytes/1048576:.0f} MB")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == OLE_MAGIC:
        if ENCRYPTED_STREAM in path.read_bytes():
            raise FileRejected("FILE_ENCRYPTED", "文件已设置打开密码，无法读取；请取消密码（文件→信息→保护工作簿）后重新上传")
        return "ole"
    if not head.startswith(b"PK"):
        raise FileRejected("FILE_NOT_XLSX", f"文件不是 Excel 工作簿（可接收 .xlsx、.xlsm、.xls、.et、.ods）；{SAVE_AS}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            expanded = sum(i.file_size for i in zf.infolist())
            if expanded > max_uncompressed:
                raise FileRejected("FILE_TOO_LARGE_UNCOMPRESSED",
                                   f"文件解压后大小 {expanded/1048576:.0f} MB 超过上限，疑似异常文件")
            if "xl/workbook.xml" in names:
                kind = "xlsx"
                check_workbook_extent(zf)
            elif "mimetype" in names and zf.read("mimetype").strip() == ODS_MIMETYPE and "content.xml" in names:
                kind = "ods"
                ods_marks(zf)
            else:
                raise FileRejected("FILE_NOT_XLSX", f"文件不是可读取的电子表格（如 .xlsb、.docx 或其他压缩包）；{SAVE_AS}")
            bad = zf.testzip()
            if bad:
                raise FileRejected("FILE_CORRUPT", f"文件已损坏（{bad}），请重新保存后上传")
            return kind
    except ExtentError as exc:
        raise FileRejected(exc.code, exc.message) from None
    except (zipfile.BadZipFile, ElementTree.ParseError, DefusedXmlException, EOFError, ValueError):
        raise FileRejected("FILE_CORRUPT", "文件已损坏，无法打开，请重新保存后上传") from None


def kind_of(path: Path) -> str:
    """'xlsx', 'ods' or 'ole' by content, for a file that passed `check_file`."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == OLE_MAGIC:
        return "ole"
    with zipfile.ZipFile(path) as zf:
        return "xlsx" if "xl/workbook.xml" in zf.NameToInfo else "ods"
