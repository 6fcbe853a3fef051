"""The hospital registry: validate a registry file and load it whole, or not at all."""
from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from pathlib import Path

import psycopg

from etl.common.amounts import cell_text
from etl.common.codes import REGION_PATTERN, credit_code_problem
from etl.common.errors import InputRejected
from etl.common.tabular import read_table
from etl.reference import finder
from etl.reference.province import require as require_province
from etl.reference.regions import store as regions_store

logger = logging.getLogger(__name__)

COLUMNS = ("机构代码", "机构名称", "等级", "类别", "隶属", "行政区划代码", "经度", "纬度", "编制床位")
LEVELS = ("三级甲等", "三级乙等", "三级丙等", "三级", "二级甲等", "二级乙等", "二级丙等", "二级",
          "一级甲等", "一级乙等", "一级丙等", "一级", "未定级")


def read_registry(path: Path, known_regions: set[str] | None = None, province_name: str = "本省") -> list[dict]:
    """Validated hospital rows; raises InputRejected listing every bad line (a region code
    not in `known_regions`, the province's divisions, is named with its row)."""
    return validate_rows(read_table(path, COLUMNS), known_regions, province_name)


def validate_rows(rows, known_regions: set[str] | None = None, province_name: str = "本省") -> list[dict]:
    """Validate (line, {column: value}) rows as the registry file is validated; raises
    InputRejected listing every bad line (the web form passes one row and shows the messages,
    each of which names its field)."""
    problems, hospitals, seen = [], [], {}
    for line, row in rows:
        where = f"第{line}行"
        bad = []
        code = cell_text(row["机构代码"]).upper()
        problem = credit_code_problem(code)
        if problem:
            bad.append(f"机构代码“{code}”{problem}")
        elif code in seen:
            bad.append(f"机构代码 {code} 与第{seen[code]}行重复")
        name = cell_text(row["机构名称"])
        if not name:
            bad.append("机构名称为空")
        level = cell_text(row["等级"])
        if level not in LEVELS:
            bad.append(f"等级“{level}”无效，应为{'/'.join(LEVELS)}之一")
        for label in ("类别", "隶属"):
            if not cell_text(row[label]):
                bad.append(f"{label}为空")
        region = cell_text(row["行政区划代码"])
        if not REGION_PATTERN.match(region):
            bad.append(f"行政区划代码“{region}”应为6位数字")
        elif known_regions and region not in known_regions:
            bad.append(f"行政区划代码 {region} 不属于{province_name}（不在{province_name}行政区划表中）")
        lon, lat = _decimal(row["经度"]), _decimal(row["纬度"])
        if lon is None or not Decimal(73) <= lon <= Decimal(136):
            bad.append(f"经度“{cell_text(row['经度'])}”应为73～136之间的数字")
        if lat is None or not Decimal(3) <= lat <= Decimal(54):
            bad.append(f"纬度“{cell_text(row['纬度'])}”应为3～54之间的数字")
        beds = _decimal(row["编制床位"])
        if beds is None or beds < 0 or beds != beds.to_integral_value():
            bad.append(f"编制床位“{cell_text(row['编制床位'])}”应为非负整数")
        if bad:
            problems.extend((where, msg) for msg in bad)
            continue
        seen[code] = line
        hospitals.append({"code": code, "name": name, "level": level, "category": cell_text(row["类别"]),
                          "affiliation": cell_text(row["隶属"]), "region_code": region,
                          "longitude": lon.quantize(Decimal("0.000001")),
                          "latitude": lat.quantize(Decimal("0.000001")), "beds": int(beds)})
    if problems:
        raise InputRejected(f"医疗机构名录有 {len(problems)} 处错误，未导入任何记录", problems)
    if not hospitals:
        raise InputRejected("医疗机构名录中没有数据行")
    return hospitals


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(cell_text(value)) if cell_text(value) else None
    except InvalidOperation:
        return None


def known_region_codes(conn: psycopg.Connection) -> set[str]:
    return {r["code"] for r in conn.execute("SELECT code FROM region")}


def load_hospitals(conn: psycopg.Connection, path: Path) -> int:
    """Validate the registry file and upsert every hospital in one transaction; refused
    (ProvinceNotSet) before init-province, since region codes are checked against it."""
    home = require_province(conn)
    hospitals = read_registry(path, known_region_codes(conn), home["name"])
    for h in hospitals:      # for the header's search (etl.reference.finder)
        h["initials"] = finder.initials(h["name"])
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO hospital (code, name, level, category, affiliation, region_code,
                                         longitude, latitude, beds, initials)
                   VALUES (%(code)s, %(name)s, %(level)s, %(category)s, %(affiliation)s,
                           %(region_code)s, %(longitude)s, %(latitude)s, %(beds)s, %(initials)s)
                   ON CONFLICT (code) DO UPDATE SET
                     name = EXCLUDED.name, level = EXCLUDED.level, category = EXCLUDED.category,
                     affiliation = EXCLUDED.affiliation, region_code = EXCLUDED.region_code,
                     longitude = EXCLUDED.longitude, latitude = EXCLUDED.latitude,
                     beds = EXCLUDED.beds, initials = EXCLUDED.initials, updated_at = now()""", hospitals)
        from etl.common.audit import record
        record(conn, None, "registry.load", str(Path(path).name), None, {"hospitals": len(hospitals)})
    logger.info("loaded %d hospitals from %s", len(hospitals), path)
    return len(hospitals)


def load_regions(conn: psycopg.Connection, regions: list[dict]) -> int:
    """Upsert administrative divisions (parents before children); init-province is the way a
    deployment gets its province's (etl.reference.province.initialise)."""
    return regions_store(conn, regions)
