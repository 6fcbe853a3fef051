"""Administrative divisions (行政区划): the packaged lists, one CSV per province under
data/regions/ (code, name, parent_code, level: 1 province, 2 prefecture, 3 county)."""
from __future__ import annotations

import csv
from pathlib import Path

REGIONS_DIR = Path(__file__).resolve().parent / "data" / "regions"


def packaged_regions(province: str) -> list[dict]:
    """The packaged divisions of `province` (a 6-digit code ending 0000), in file order."""
    with open(REGIONS_DIR / f"{province}.csv", encoding="utf-8", newline="") as fh:
        return [{"code": r["code"], "name": r["name"], "parent_code": r["parent_code"] or None,
                 "level": int(r["level"])} for r in csv.DictReader(fh)]
