"""Finding hospitals in the registry: search by name or code, filters, pages, and the export of
the filtered list in the registry file's columns (so it can be edited and loaded again)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from etl.common.tabular import neutralise
from etl.reference.registry import COLUMNS, LEVELS
from etl.reference.registry_changes import FIELDS

STATUSES = {"open": "在册", "closed": "已关闭", "all": "全部"}
PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; empty strings mean "any". `status` is open, closed or all."""
    q: str = ""
    prefecture: str = ""
    level: str = ""
    category: str = ""
    status: str = "open"

    @classmethod
    def from_args(cls, args) -> Filters:
        status = args.get("status", "open")
        return cls(q=args.get("q", "").strip()[:100], prefecture=args.get("prefecture", "").strip()[:6],
                   level=args.get("level", "").strip()[:20], category=args.get("category", "").strip()[:50],
                   status=status if status in STATUSES else "open")

    def params(self) -> dict:
        like = "%" + self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return {"q": self.q, "like": like, "prefecture": self.prefecture, "level": self.level,
                "category": self.category, "status": self.status}


WHERE = """
WHERE (%(q)s = '' OR h.name ILIKE %(like)s OR h.code ILIKE %(like)s)
  AND (%(prefecture)s = '' OR prefecture_of(h.region_code) = %(prefecture)s)
  AND (%(level)s = '' OR h.level = %(level)s)
  AND (%(category)s = '' OR h.category = %(category)s)
  AND (%(status)s = 'all' OR (h.closed_from IS NULL) = (%(status)s = 'open'))
"""
SELECT = """
SELECT h.*, reg.name AS region_name, pref.name AS prefecture_name, s.name AS successor_name
FROM hospital h
LEFT JOIN region reg ON reg.code = h.region_code
LEFT JOIN region pref ON pref.code = prefecture_of(h.region_code)
LEFT JOIN hospital s ON s.code = h.successor_code
"""


def search(conn: psycopg.Connection, filters: Filters, page: int = 1, size: int = PAGE_SIZE) -> dict:
    """One page of matching hospitals (by prefecture, then code) with the total and page count."""
    params = filters.params()
    total = conn.execute("SELECT count(*) AS n FROM hospital h" + WHERE, params).fetchone()["n"]
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = conn.execute(SELECT + WHERE + "ORDER BY prefecture_of(h.region_code), h.code LIMIT %(size)s OFFSET %(skip)s",
                        params | {"size": size, "skip": (page - 1) * size}).fetchall()
    return {"rows": rows, "total": total, "page": page, "pages": pages}


def matching(conn: psycopg.Connection, filters: Filters) -> list[dict]:
    """Every matching hospital, in the list's order (for the export)."""
    return conn.execute(SELECT + WHERE + "ORDER BY prefecture_of(h.region_code), h.code", filters.params()).fetchall()


def choices(conn: psycopg.Connection) -> dict:
    """The filters' options: prefectures (code, name) with hospitals, levels, categories."""
    prefectures = conn.execute(
        """SELECT DISTINCT prefecture_of(h.region_code) AS code, coalesce(p.name, prefecture_of(h.region_code)) AS name
           FROM hospital h LEFT JOIN region p ON p.code = prefecture_of(h.region_code) ORDER BY 1""").fetchall()
    categories = [r["category"] for r in conn.execute("SELECT DISTINCT category FROM hospital ORDER BY 1")]
    return {"prefectures": prefectures, "levels": LEVELS, "categories": categories, "statuses": STATUSES}


def write_xlsx(rows: list[dict], path: Path) -> Path:
    """The rows as a registry file (sheet 医疗机构, the registry's columns, codes and region
    codes as text, coordinates and beds as numbers): load-hospitals and the web import take it."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "医疗机构"
    ws.append(list(COLUMNS))
    for r in rows:
        ws.append([_cell(key, r[key]) for key in FIELDS.values()])
    for row in ws.iter_rows(min_row=2):
        for cell, key in zip(row, FIELDS.values()):
            if key in ("code", "region_code"):
                cell.number_format = "@"
    for letter, width in zip("ABCDEFGHI", (22, 30, 10, 14, 10, 12, 12, 12, 10)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    path = Path(path)
    wb.save(path)
    return path


def _cell(key: str, value):
    if value is None:
        return None
    if key in ("longitude", "latitude"):
        return float(value)      # 6 decimals in numeric(9, 6): exact in a double
    if key == "beds":
        return int(value)
    return neutralise(str(value))
