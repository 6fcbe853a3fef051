"""The demo province's registry side: regions, hospital specs and registry rows, stories, the mapping."""
from __future__ import annotations

import random
import zlib
from collections import namedtuple
from functools import lru_cache

from etl.common.codes import with_check_char
from etl.demo import hospitals as H
from etl.demo.catalogue import B_MOVES, RESERVED_ROWS, price_items
from etl.reference.regions import packaged_regions

PROVINCE = "510000"
DEMO_FIRST = "2024-11"
DEMO_LAST = "2026-10"

_KIND = {"G": ("综合医院", "医院"), "T": ("中医医院", "中医医院"), "M": ("妇幼保健院", "妇幼保健院"),
         "S1": ("专科医院", "肿瘤医院"), "S2": ("专科医院", "骨科医院")}
_OWNER = {"P": "省属", "C": "市属", "X": "县属"}


def load_regions() -> list[dict]:
    """The demo province's regions: province, 21 prefectures and their counties."""
    return packaged_regions(PROVINCE)


# ---------------------------------------------------------------- registry
Spec = namedtuple("Spec", "index county kind grade story extra code name category affiliation")


def place_name(kind: str, county: str, names: dict) -> str:
    """The place a hospital's name starts with: 四川, its prefecture or its county (short form)."""
    if kind[0] == "P":
        return "四川"
    if kind[0] == "C":
        name = names[county[:4] + "00"]
        return name[:2] + "州" if name.endswith("自治州") else name.removesuffix("市")
    name = names[county]
    for suffix in ("彝族自治县", "藏族自治县", "羌族自治县"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name[:-1] if len(name) > 2 and name[-1] in "县区市" else name


def org_code(n: int) -> str:
    """An 8-digit organisation code with its GB 11714 check character."""
    digits = f"{n:08d}"
    c = 11 - sum(int(d) * w for d, w in zip(digits, (3, 7, 9, 10, 5, 8, 4, 2))) % 11
    return digits + ("X" if c == 10 else "0" if c == 11 else str(c))


@lru_cache(maxsize=1)
def region_names() -> dict:
    """Region code → name, for the demo province."""
    return {r["code"]: r["name"] for r in load_regions()}


@lru_cache(maxsize=1)
def specs() -> tuple[Spec, ...]:
    """The fixed facts of every demo hospital (county, kind, grade, story, code, name …), in HOSPITALS order."""
    names = region_names()
    out, used_names, used_codes = [], set(), set()
    for i, (county, kind, grade, story, extra) in enumerate(H.HOSPITALS):
        category, suffix = _KIND[kind[1:]]
        place, j = place_name(kind, county, names), i * 7
        while (name := f"{place}{H.NAME_WORDS[j % len(H.NAME_WORDS)]}{suffix}") in used_names:
            j += 1
        n = 45_000_000 + zlib.crc32(f"{county}{kind}{i}".encode()) % 50_000_000
        while (code := with_check_char("12" + county + org_code(n))) in used_codes:
            n += 1
        used_names.add(name)
        used_codes.add(code)
        out.append(Spec(i, county, kind, grade, story, extra, code, name, category, _OWNER[kind[0]]))
    return tuple(out)


# Profiles look a hospital's story up here; bench/scale.install_stories adds its own hospitals.
SPEC_BY_CODE = {s.code: s for s in specs()}
STORIES: dict[str, str] = {s.code: s.story for s in specs()}


def demo_story(code: str) -> str:
    """The story a demo hospital follows (keys of hospitals.STORY_LABELS); 'healthy' for others."""
    return STORIES.get(code, "healthy")


def _beds_range(spec: Spec) -> tuple[int, int]:
    k = spec.kind[1:]
    if spec.grade == "三级甲等":
        if spec.kind == "PG":
            return 2200, 2800
        if k == "G":
            return (1500, 2200) if spec.county.startswith("5101") else (1000, 1800)
        return (1000, 1400) if k == "T" else (850, 1300)
    if spec.grade == "三级乙等":
        return 550, 900
    if spec.grade == "二级甲等":
        return (200, 350) if k in ("T", "M") else (280, 600)
    return 170, 300


def demo_hospitals(seed: int = 2026) -> list[dict]:
    """The demo registry: one dict per hospital with exactly the registry's keys."""
    out = []
    for s in specs():
        rng = random.Random(f"{seed}|{s.code}|registry")
        lo, hi = _beds_range(s)
        lon, lat, r = H.SEATS[s.county]
        beds = rng.randint(lo // 10, hi // 10) * 10
        micro = [round((x + rng.uniform(-r, r)) * 1e6) for x in (lon, lat)]
        lon, lat = (v / 1e6 for v in (m + (m % 100 == 0) for m in micro))   # 5–6 decimals
        out.append({"机构代码": s.code, "机构名称": s.name, "等级": s.grade, "类别": s.category,
                    "隶属": s.affiliation, "行政区划代码": s.county, "经度": lon, "纬度": lat,
                    "编制床位": beds})
    return out


# ---------------------------------------------------------------- mapping
def demo_mapping_rows(version: str = "A") -> list[dict]:
    """Attribution mapping rows: 'A' the default, 'B' with 38 items moved to other categories."""
    if version not in ("A", "B"):
        raise ValueError("version must be 'A' or 'B'")
    rows = []
    for it in price_items():
        receipt, subject = it["receipt"], it["subject"]
        if version == "B" and it["group"] in B_MOVES:
            receipt, subject = B_MOVES[it["group"]]
        rows.append({"价格项目编码": it["code"], "价格项目名称": it["name"], "国家项目编码": it["national"],
                     "票据分类": receipt, "会计科目分类": subject, "病案首页分类": it["record"]})
    for code, name, receipt, subject, record in RESERVED_ROWS:
        rows.append({"价格项目编码": code, "价格项目名称": name, "国家项目编码": None,
                     "票据分类": receipt, "会计科目分类": subject, "病案首页分类": record})
    return rows
