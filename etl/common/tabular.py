"""Read a small table (registry, mapping) from .xlsx or .csv as header-keyed rows."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from python_calamine import CalamineWorkbook

from etl.common.amounts import cell_text
from etl.common.errors import InputRejected

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Text that a spreadsheet would run as a formula, made inert with a leading apostrophe.

    Numbers pass unchanged; only text from users (names, messages, codes) needs this.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value



def read_table(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    """Rows as (line number, {header: value}) from the first sheet or the csv.

    The header row is the first row that holds every `required` label; blank rows are
    skipped. Raises InputRejected if the file cannot be read or has no such header.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            raw = path.read_bytes()
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    text = raw.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                raise InputRejected("CSV 文件编码无法识别，请另存为 UTF-8")
            rows = list(csv.reader(io.StringIO(text)))
            first = 1
        else:
            wb = CalamineWorkbook.from_path(str(path))
            sheet = wb.get_sheet_by_index(0)
            rows = sheet.to_python(skip_empty_area=False)
            first = 1
    except InputRejected:
        raise
    except Exception as exc:
        raise InputRejected(f"无法读取文件 {path.name}：{exc.__class__.__name__}") from None
    for i, row in enumerate(rows[:10]):
        labels = [cell_text(v).replace(" ", "") for v in row]
        if set(required) <= set(labels):
            index = {label: labels.index(label) for label in labels if label}
            out = []
            for j, values in enumerate(rows[i + 1:], start=i + 1 + first):
                record = {label: (values[k] if k < len(values) else None) for label, k in index.items()}
                if all(cell_text(v) == "" for v in record.values()):
                    continue
                out.append((j, record))
            return out
    raise InputRejected(f"文件 {path.name} 前10行中未找到表头，需含：{'、'.join(required)}")


def write_table(path: Path, header, rows, title: str = "Sheet1") -> Path:
    """Write rows (dicts keyed by header, or sequences) as a one-sheet .xlsx."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.append(list(header))
    for r in rows:
        ws.append([r.get(h) for h in header] if isinstance(r, dict) else list(r))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
