"""The export contract of risk.md written out: JSON with exact numbers, or CSV."""
from __future__ import annotations

import json
import re
from decimal import Decimal

from etl.common.tabular import neutralise
from etl.ratings.indicators import IDS as INDICATORS


def dumps(obj, indent: int | None = None) -> str:
    """JSON with Decimals written as exact numbers (not floats, not strings)."""
    def mark(o):
        if isinstance(o, Decimal):
            return f"\x00{format(o, 'f')}\x00"
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    text = json.dumps(obj, default=mark, ensure_ascii=False, indent=indent)
    return re.sub(r'"\\u0000(-?[0-9.]+)\\u0000"', r"\1", text)


CSV_COLUMNS = ("hospital", "period", "rating", "provisional", "deficit", "debt", "wages") + INDICATORS


def csv_rows(rows: list[dict]):
    yield CSV_COLUMNS
    for r in rows:
        yield ((neutralise(r["hospital"]), r["period"], r["rating"], str(r["provisional"]).lower())
               + tuple(r["domains"][d] for d in ("deficit", "debt", "wages"))
               + tuple("" if r["indicators"][k] is None else format(r["indicators"][k], "f") for k in INDICATORS))
