"""Administrative divisions (行政区划): the packaged lists, one CSV per province under
data/regions/ (code, name, parent_code, level: 1 province, 2 prefecture, 3 county)."""
from __future__ import annotations

import csv
from pathlib import Path

import psycopg

REGIONS_DIR = Path(__file__).resolve().parent / "data" / "regions"


def packaged_regions(province: str) -> list[dict]:
    """The packaged divisions of `province` (a 6-digit code ending 0000), in file order."""
    with open(REGIONS_DIR / f"{province}.csv", encoding="utf-8", newline="") as fh:
        return [{"code": r["code"], "name": r["name"], "parent_code": r["parent_code"] or None,
                 "level": int(r["level"])} for r in csv.DictReader(fh)]


def store(conn: psycopg.Connection, regions: list[dict]) -> int:
    """Upsert divisions (parents before children) in one transaction; how many."""
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO region (code, name, parent_code, level)
                   VALUES (%(code)s, %(name)s, %(parent_code)s, %(level)s)
                   ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name,
                     parent_code = EXCLUDED.parent_code, level = EXCLUDED.level""",
                sorted(regions, key=lambda r: int(r["level"])))
    return len(regions)
