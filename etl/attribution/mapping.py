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


def mapped_codes(conn: psycopg.Connection, version_id: int) -> set[str]:
    return {r["price_code"] for r in conn.execute(
        "SELECT price_code FROM mapping_row WHERE version_id = %s", (version_id,))}


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
