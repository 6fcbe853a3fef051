"""Attribution mapping versions (归集口径): validate a mapping file and store it as a version."""
from __future__ import annotations

import logging
from pathlib import Path

import psycopg

from etl.attribution.categories import (
    RECEIPT_ALIASES,
    RECEIPT_CATEGORIES,
    RECORD_LEAVES,
    RESERVED,
    SUBJECT_CATEGORIES,
)
from etl.attribution.rollup import reattribute_from
from etl.common.amounts import cell_text
from etl.common.audit import record
from etl.common.codes import PERIOD_PATTERN
from etl.common.errors import InputRejected
from etl.common.tabular import read_table

logger = logging.getLogger(__name__)

COLUMNS = ("价格项目编码", "价格项目名称", "国家项目编码", "票据分类", "会计科目分类", "病案首页分类")


def read_mapping(path: Path) -> list[dict]:
    problems, rows, seen = [], [], {}
    for line, row in read_table(path, COLUMNS):
        where, bad = f"第{line}行", []
        code = cell_text(row["价格项目编码"]).upper()
        receipt = cell_text(row["票据分类"])
        receipt = RECEIPT_ALIASES.get(receipt, receipt)
        subject, leaf = cell_text(row["会计科目分类"]), cell_text(row["病案首页分类"])
        if not code:
            bad.append("价格项目编码为空")
        elif code in seen:
            bad.append(f"价格项目编码 {code} 与第{seen[code]}行重复")
        if receipt not in RECEIPT_CATEGORIES:
            bad.append(f"票据分类“{receipt}”不在医疗收费票据14类中")
        if subject not in SUBJECT_CATEGORIES:
            bad.append(f"会计科目分类“{subject}”无效，应为{'/'.join(SUBJECT_CATEGORIES)}之一")
        if leaf not in RECORD_LEAVES:
            bad.append(f"病案首页分类“{leaf}”不在住院病案首页费用分类中")
        if code in RESERVED and (receipt, subject) != RESERVED[code]:
            bad.append(f"保留编码 {code} 应归入票据“{RESERVED[code][0]}”、会计科目“{RESERVED[code][1]}”")
        if bad:
            problems.extend((where, m) for m in bad)
            continue
        seen[code] = line
        rows.append({"price_code": code, "price_name": cell_text(row["价格项目名称"]),
                     "national_code": cell_text(row["国家项目编码"]) or None,
                     "receipt_category": receipt, "subject_category": subject, "record_leaf": leaf})
    if problems:
        raise InputRejected(f"归集口径映射有 {len(problems)} 处错误，未导入", problems)
    if not rows:
        raise InputRejected("归集口径映射中没有数据行")
    return rows


def load_mapping(conn: psycopg.Connection, path: Path, name: str, effective_from: str,
                 loaded_by: int | None = None) -> int:
    """Store the file as a new mapping version; return its id. Versions are never edited.

    Returns already loaded for the periods it covers are re-attributed in the same
    transaction; the caller rescores those periods (see `apply_mapping`).
    """
    if not PERIOD_PATTERN.match(effective_from or ""):
        raise InputRejected(f"生效月份“{effective_from}”应为 YYYY-MM")
    rows = read_mapping(path)
    with conn.transaction():
        if conn.execute("SELECT 1 FROM mapping_version WHERE name = %s", (name,)).fetchone():
            raise InputRejected(f"映射版本“{name}”已存在；版本不可修改，请使用新的版本名")
        version_id = conn.execute(
            """INSERT INTO mapping_version (name, effective_from, loaded_by, row_count)
               VALUES (%s, %s, %s, %s) RETURNING id""",
            (name, effective_from, loaded_by, len(rows))).fetchone()["id"]
        with conn.cursor().copy(
                "COPY mapping_row (version_id, price_code, price_name, national_code, receipt_category,"
                " subject_category, record_leaf) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((version_id, r["price_code"], r["price_name"], r["national_code"],
                                r["receipt_category"], r["subject_category"], r["record_leaf"]))
        reattribute_from(conn, effective_from)
        record(conn, {"id": loaded_by} if loaded_by else None, "mapping.load", f"mapping_version:{version_id}",
               None, {"name": name, "effective_from": effective_from, "rows": len(rows)})
    logger.info("mapping version %s (%s rows) effective from %s", name, len(rows), effective_from)
    return version_id


def version_for(conn: psycopg.Connection, period: str) -> dict | None:
    """The mapping version in effect for `period`: the latest effective on or before it."""
    return conn.execute(
        "SELECT id, name, effective_from FROM mapping_version WHERE id = mapping_version_for(%s)",
        (period,)).fetchone()


def mapped_codes(conn: psycopg.Connection, version_id: int, among: set[str] | None = None) -> set[str]:
    """The price codes the version maps: all of them, or those of `among` it maps (a large
    `among` reads them all: one scan is cheaper than 50,000 lookups)."""
    if among is None or len(among) > 5_000:
        return {r["price_code"] for r in conn.execute(
            "SELECT price_code FROM mapping_row WHERE version_id = %s", (version_id,))}
    return {r["price_code"] for r in conn.execute(
        "SELECT price_code FROM mapping_row WHERE version_id = %s AND price_code = ANY(%s)",
        (version_id, list(among)))}


def versions(conn: psycopg.Connection) -> list[dict]:
    """Every version with who loaded it and the periods (with returns) it is in force for."""
    rows = conn.execute(
        """SELECT v.id, v.name, v.effective_from, v.loaded_at, v.row_count, u.username AS loaded_by,
                  lead(v.effective_from) OVER (ORDER BY v.effective_from, v.id) AS superseded_from
           FROM mapping_version v LEFT JOIN app_user u ON u.id = v.loaded_by
           ORDER BY v.effective_from DESC, v.id DESC""").fetchall()
    periods = [r["period"] for r in conn.execute("SELECT period FROM period ORDER BY period")]
    for v in rows:
        v["periods"] = [p for p in periods if v["effective_from"] <= p and
                        (v["superseded_from"] is None or p < v["superseded_from"])]
    return rows


def get_version(conn: psycopg.Connection, version_id: int) -> dict | None:
    """One version with who loaded it and how many returns are attributed under it."""
    return conn.execute(
        """SELECT v.id, v.name, v.effective_from, v.loaded_at, v.row_count, u.username AS loaded_by,
                  (SELECT count(DISTINCT return_id) FROM attribution_total a WHERE a.mapping_version_id = v.id)
                      AS returns_attributed
           FROM mapping_version v LEFT JOIN app_user u ON u.id = v.loaded_by WHERE v.id = %s""",
        (version_id,)).fetchone()


def version_rows(conn: psycopg.Connection, version_id: int, text: str = "", limit: int | None = 100,
                 offset: int = 0) -> tuple[list[dict], int]:
    """A page of a version's rows in price-code order (all of them when `limit` is None), and
    how many match; `text` matches a code or a name (a substring, any case)."""
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" if text else None
    params = {"v": version_id, "like": like, "limit": limit, "offset": offset}
    where = "version_id = %(v)s AND (%(like)s::text IS NULL OR price_code ILIKE %(like)s OR price_name ILIKE %(like)s)"
    rows = conn.execute(
        f"""SELECT price_code, price_name, national_code, receipt_category, subject_category, record_leaf
            FROM mapping_row WHERE {where} ORDER BY price_code LIMIT %(limit)s OFFSET %(offset)s""", params).fetchall()
    total = conn.execute(f"SELECT count(*) AS n FROM mapping_row WHERE {where}", params).fetchone()["n"]
    return rows, total


def workbook(conn: psycopg.Connection, version_id: int) -> bytes:
    """The version's rows as an .xlsx in the load format (COLUMNS), codes as text, so the file
    loads back as the same version."""
    from io import BytesIO

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from etl.common.tabular import neutralise
    rows, _ = version_rows(conn, version_id, limit=None)
    wb = Workbook()
    ws = wb.active
    ws.title = "归集口径映射"
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([neutralise(v) for v in (r["price_code"], r["price_name"], r["national_code"],
                                           r["receipt_category"], r["subject_category"], r["record_leaf"])])
    for row in ws.iter_rows(min_row=2, max_col=3):
        for cell in row:
            cell.number_format = "@"
    for letter, width in zip("ABCDEF", (16, 36, 20, 14, 14, 14)):
        ws.column_dimensions[letter].width = width
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def withdraw(conn: psycopg.Connection, version_id: int, this_month: str, actor: dict | None) -> dict:
    """Withdraw a version that has not taken effect: its effective month is after `this_month`
    (the province's current 'YYYY-MM') and no return is attributed under it. The version and its
    rows are deleted (its name may be used again) and the withdrawal audited with what it was.

    Refused (InputRejected, with the reason in Chinese) once it has taken effect: periods
    already attributed under it would silently change, so a correction is a new version.
    """
    with conn.transaction():
        version = conn.execute("SELECT id, name, effective_from, row_count FROM mapping_version WHERE id = %s"
                               " FOR UPDATE", (version_id,)).fetchone()
        if version is None:
            raise InputRejected("映射版本不存在")
        used = conn.execute("SELECT count(DISTINCT return_id) AS n FROM attribution_total WHERE mapping_version_id = %s",
                            (version_id,)).fetchone()["n"]
        if used:
            raise InputRejected(f"映射版本“{version['name']}”已用于 {used} 份报表的归集，已生效，不能撤回；"
                                "如需更正，请导入新的版本")
        if version["effective_from"] <= this_month:
            raise InputRejected(f"映射版本“{version['name']}”自 {version['effective_from']} 起生效，"
                                f"本月（{this_month}）已在生效期内，不能撤回；如需更正，请导入新的版本")
        conn.execute("DELETE FROM mapping_row WHERE version_id = %s", (version_id,))
        conn.execute("DELETE FROM mapping_version WHERE id = %s", (version_id,))
        record(conn, actor, "mapping.withdraw", f"mapping_version:{version_id}",
               {"name": version["name"], "effective_from": version["effective_from"], "rows": version["row_count"]},
               None)
    logger.info("mapping version %s withdrawn", version["name"])
    return version
