"""Write return workbooks in the standard layout (the demo's returns, tests' fixtures).

`ReturnDraft` is a return as plain data, amounts in the draft's unit; `write_return` lays
it out exactly as return-format.md describes, so whatever it writes the reader reads back.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

from etl.returns import contract as rf


@dataclass
class ReturnDraft:
    hospital_code: str
    hospital_name: str
    period: str
    t1: dict = field(default_factory=dict)     # code -> (本月数, 本年累计数)
    t2: dict = field(default_factory=dict)     # code -> (期末数, 年初数)
    t3: dict = field(default_factory=dict)     # code -> 本月数 (W407: 'YYYY-MM' or None)
    debts: list = field(default_factory=list)  # dicts keyed like return_format.DEBT_COLUMNS
    items: list = field(default_factory=list)  # (价格项目编码, 项目名称, 门诊/住院, 数量, 金额)
    unit: str = "元"
    filled_by: str = "财务科"
    phone: str = "028-86000000"
    filled_on: dt.date | str | None = None
    template_version: str = rf.TEMPLATE_VERSION

    def cover_values(self) -> dict:
        return {"机构代码": self.hospital_code, "机构名称": self.hospital_name,
                "报告期": self.period, "金额单位": self.unit, "填报人": self.filled_by,
                "联系电话": self.phone, "填报日期": self.filled_on or "",
                "模板版本": self.template_version}


def write_return(draft: ReturnDraft, path: Path) -> Path:
    """Write `draft` as an .xlsx at `path` (streaming writer: fast for large 表5)."""
    wb = Workbook(write_only=True)
    cover = wb.create_sheet(rf.SHEETS["封面"])
    for label, value in draft.cover_values().items():
        cover.append([label, value.isoformat() if isinstance(value, dt.date) else value])
    for key in ("表1", "表2", "表3"):
        ws = wb.create_sheet(rf.SHEETS[key])
        columns = rf.TABLE_COLUMNS[key]
        ws.append(["项目", "编码"] + [label for _, label in columns])
        values = getattr(draft, {"表1": "t1", "表2": "t2", "表3": "t3"}[key])
        for code, name in rf.TABLE_ITEMS[key]:
            v = values.get(code)
            cells = list(v) if isinstance(v, (tuple, list)) else [v]
            ws.append([name, code] + cells[:len(columns)])
    ws = wb.create_sheet(rf.SHEETS["表4"])
    ws.append([label for _, label in rf.DEBT_COLUMNS])
    for debt in draft.debts:
        ws.append([debt.get(key) for key, _ in rf.DEBT_COLUMNS])
    ws = wb.create_sheet(rf.SHEETS["表5"])
    ws.append([label for key, label in rf.ITEM_COLUMNS if key != "national_code"])
    for item in draft.items:
        ws.append(list(item))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
