"""Find hospitals by a few characters of their name, their code, or their names' pinyin initials.

`initials("四川省人民医院")` is "scsrmyy": the first letter of each character's reading
(pypinyin, which reads common phrases such as 重庆 right), letters and digits kept as they
are, punctuation dropped. A polyphonic character's other readings give extra variants
("长宁县…" → "znxrmyy cnxrmyy …"), separated by spaces so a search never matches across two.
They are stored in `hospital.initials` when the registry is loaded (etl.reference.registry);
rows written any other way, or renamed, have NULL there, and `search` fills them first.

`search` is scoped in its query like every other read of hospitals (etl.reference.scope).
"""
from __future__ import annotations

import re

import psycopg
from psycopg import sql
from pypinyin import Style, pinyin

from etl.reference.scope import Scope

LIMIT = 20
MAX_QUERY = 40
MAX_VARIANTS = 8
_KEEP = re.compile(r"[a-z0-9]")
_ASCII_WORD = re.compile(r"^[a-z0-9]+$")


def initials(name: str) -> str:
    """The initials of `name`'s readings: the usual reading first, then variants (space-separated)."""
    default = [_letter(r[0]) for r in pinyin(name, style=Style.FIRST_LETTER, errors=lambda s: list(s))]
    readings = pinyin(name, style=Style.FIRST_LETTER, heteronym=True, errors=lambda s: list(s))
    variants = ["".join(default)]
    if len(readings) == len(default):
        # One character switched to another reading at a time: enough for a place name's
        # 长 (cháng) or 行 (háng) without multiplying every combination.
        for i, options in enumerate(readings):
            for other in {_letter(o) for o in options} - {default[i]}:
                variant = "".join(default[:i] + [other] + default[i + 1:])
                if variant not in variants and len(variants) < MAX_VARIANTS:
                    variants.append(variant)
    return " ".join(v for v in variants if v)


def _letter(reading: str) -> str:
    first = reading[:1].lower()
    return first if _KEEP.match(first) else ""


def fill_missing(conn: psycopg.Connection) -> int:
    """Compute the initials of hospitals that have none yet (new or renamed); how many."""
    rows = conn.execute("SELECT code, name FROM hospital WHERE initials IS NULL").fetchall()
    if rows:
        with conn.transaction(), conn.cursor() as cur:
            # Only where still missing and the name unchanged: a concurrent load wins.
            cur.executemany("UPDATE hospital SET initials = %s WHERE code = %s AND name = %s AND initials IS NULL",
                            [(initials(r["name"]), r["code"], r["name"]) for r in rows])
    return len(rows)


def search(conn: psycopg.Connection, text: str, scope: Scope, limit: int = LIMIT) -> list[dict]:
    """Hospitals in `scope` whose name contains `text`, whose code contains it, or whose
    initials do (letters and digits only); exact code first, then names starting with it.
    Rows: code, name, level, prefecture_name. An empty or blank text finds nothing."""
    text = (text or "").strip()[:MAX_QUERY]
    if not text:
        return []
    fill_missing(conn)
    like = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
    lowered = text.lower()
    where, extra = scope.clause("h.code")
    return conn.execute(sql.SQL(
        """SELECT h.code, h.name, h.level, p.name AS prefecture_name
           FROM hospital h LEFT JOIN region p ON p.code = prefecture_of(h.region_code)
           WHERE {where} AND (h.name ILIKE %(like)s OR h.code ILIKE %(like)s
                              OR (%(initials)s AND h.initials LIKE %(like_lower)s))
           ORDER BY upper(h.code) = upper(%(text)s) DESC, h.name ILIKE %(start)s DESC,
                    position(%(lowered)s IN coalesce(h.initials, '')) = 1 DESC, h.name, h.code
           LIMIT %(limit)s""").format(where=where),
        {"like": like, "like_lower": like.lower(), "initials": bool(_ASCII_WORD.match(lowered)), "text": text,
         "start": like[1:], "lowered": lowered, "limit": limit} | extra).fetchall()
