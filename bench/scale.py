"""The scale generator: N hospitals × M months of realistic returns, as plain data.

No database here. The registry, the price-item catalogue (the attribution mapping) and each
return are made deterministically from one seed:

- Hospitals sit in Sichuan's real counties; level, category and beds follow a province's
  mix (most hospitals small, a few large tertiary ones).
- 表1–表4 of every return come from the demo province's generator (etl/demo/returns.py),
  so each return is internally consistent month over month (本年累计数 accumulate, debts
  amortise); a fifth of the hospitals copy one of the demo's stories (deficit, debt, wage
  arrears, late or skipped filing), so the ratings come out red, yellow and green.
- 表5 is widened to the hospital's size (SIZES): its service revenue, as the demo declares
  it in R111/R112, spread over that many price items of a 50,000-code catalogue, plus the
  drug and material rows (YP01–YP03, HC01) exactly as the demo writes them.

Money is integer yuan turned into Decimal; floats appear only as sampling weights.
"""
from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from etl.common.amounts import UNIT_FACTORS
from etl.common.codes import with_check_char
from etl.demo import province as demo
from etl.demo.catalogue import UNMAPPED_ITEMS, price_items
from etl.demo.returns import demo_returns  # noqa: F401 — the bench calls scale.demo_returns
from etl.returns import contract as rf
from etl.returns.drafts import ReturnDraft
from etl.returns.reader import Debt, Item, ParsedReturn, Value

FIRST, LAST = demo.DEMO_FIRST, demo.DEMO_LAST      # 24 months ending 2026-10
MAPPING_NAME = "基准测试口径"
SERVICE_CODES = 50_100        # catalogue size: 2 settings × 50,100 > 100,000 rows
RESERVED = set(rf.RESERVED_CODES)
SETTING_CODE = {"门诊": "outpatient", "住院": "inpatient"}

# Level mix of a province's public hospitals: (level, share, beds low, beds high).
LEVELS = (("三级甲等", 0.07, 800, 3000), ("三级乙等", 0.07, 400, 900), ("二级甲等", 0.34, 200, 600),
          ("二级乙等", 0.20, 100, 300), ("一级甲等", 0.16, 30, 100), ("未定级", 0.16, 20, 80))
CATEGORIES = (("综合医院", 0.70, "人民医院"), ("中医医院", 0.16, "中医医院"), ("妇幼保健院", 0.09, "妇幼保健院"),
              ("专科医院", 0.05, "骨科医院"))
# 表5 rows by level: log-uniform between the bounds; 三级甲等 heavy-tailed (Pareto), capped.
SIZES = {"三级甲等": ("pareto", 300, 1.1), "三级乙等": ("loguniform", 400, 1000),
         "二级甲等": ("loguniform", 320, 420), "二级乙等": ("loguniform", 300, 380),
         "一级甲等": ("loguniform", 300, 340), "未定级": ("loguniform", 300, 340)}
MIN_ROWS, MAX_ROWS = 300, 100_000
# The largest hospitals (by beds) file this share of the largest return's rows.
LARGEST = (1.0, 0.3, 0.15)
STORY_SHARE = 0.2             # hospitals following one of the demo's non-healthy stories


@dataclass
class Hospital:
    n: int
    registry: dict            # the registry row (etl.reference.registry.COLUMNS)
    rows: int                 # 表5 rows per month
    story: str = "healthy"    # one of the demo's stories (etl.demo.hospitals.STORY_LABELS)
    extra: dict | None = None

    @property
    def code(self) -> str:
        return self.registry["机构代码"]


# ---------------------------------------------------------------- registry and sizes
def hospitals(count: int, counties, seed: int, largest_rows: int = MAX_ROWS) -> list[Hospital]:
    """`count` hospitals in the counties (a GeoDataFrame of county polygons), registry rows
    with points inside their county; the one with most beds files `largest_rows` rows, the
    next two 30 % and 15 % of that (or their own draw, if larger)."""
    from shapely.geometry import Point

    rng = random.Random(f"{seed}|registry")
    names = {r["code"]: r["name"] for r in demo.load_regions()}
    cells = list(zip(counties["code"], counties.geometry))
    weights = [3 if code.startswith("5101") else 1 for code, _ in cells]     # Chengdu is dense
    stories = [s for s in demo.specs() if s.story != "healthy"]
    out, per_county = [], {}
    for n in range(count):
        county, geom = rng.choices(cells, weights)[0]
        level, _, lo, hi = _pick(rng, LEVELS)
        category, _, suffix = _pick(rng, CATEGORIES)
        k = per_county[county] = per_county.get(county, 0) + 1
        place = demo.place_name("X", county, names)
        west, south, east, north = geom.bounds
        while not geom.contains(p := Point(rng.uniform(west, east), rng.uniform(south, north))):
            pass
        code = with_check_char("12" + county + demo.org_code(60_000_000 + n))
        beds = round(math.exp(rng.uniform(math.log(lo), math.log(hi))) / 10) * 10
        spec = rng.choice(stories) if rng.random() < STORY_SHARE else None
        registry = {"机构代码": code, "机构名称": f"{place}第{_cn(k)}{suffix}", "等级": level, "类别": category,
                    "隶属": "市属" if level.startswith("三级") else "县属", "行政区划代码": county,
                    "经度": round(p.x, 6), "纬度": round(p.y, 6), "编制床位": beds}
        rows = min(_size(rng, level), largest_rows)
        out.append(Hospital(n, registry, rows, *((spec.story, spec.extra) if spec else ())))
    by_beds = sorted(out, key=lambda h: (-h.registry["编制床位"], h.n))
    for h, share in zip(by_beds, LARGEST):
        h.rows = max(h.rows, int(largest_rows * share)) if share < 1 else largest_rows
    return out


def _pick(rng: random.Random, table):
    return rng.choices(table, [row[1] for row in table])[0]


def _size(rng: random.Random, level: str) -> int:
    kind, a, b = SIZES[level]
    if kind == "pareto":
        rows = a * (1 - rng.random()) ** (-1 / b)
    else:
        rows = math.exp(rng.uniform(math.log(a), math.log(b)))
    return int(min(max(rows, MIN_ROWS), MAX_ROWS))


def _cn(k: int) -> str:
    """1 → 一, 12 → 十二, 35 → 三十五 (Arabic digits from 100)."""
    digits = "零一二三四五六七八九"
    if k >= 100:
        return str(k)
    if k < 10:
        return digits[k]
    if k < 20:
        return "十" + (digits[k % 10] if k % 10 else "")
    return digits[k // 10] + "十" + (digits[k % 10] if k % 10 else "")


def install_stories(hospitals_: list[Hospital]) -> None:
    """Let the demo generator tell these hospitals' stories too (it looks them up by code)."""
    for h in hospitals_:
        demo.SPEC_BY_CODE[h.code] = demo.Spec(
            h.n, h.registry["行政区划代码"], "XG", h.registry["等级"], h.story, h.extra or {}, h.code,
            h.registry["机构名称"], h.registry["类别"], h.registry["隶属"])


# ---------------------------------------------------------------- the catalogue
class Catalogue:
    """The province's price items: the demo's 304 with their categories, then variants of
    them (code-NNN) up to SERVICE_CODES, each in both settings; plus the reserved codes."""

    def __init__(self, size: int = SERVICE_CODES):
        base = list(price_items())
        categories = {r["价格项目编码"]: r for r in demo.demo_mapping_rows("A")}
        self.rows, codes, names, nationals, prices, pairs = [], [], [], [], [], []
        for i in range(size):
            it = base[i % len(base)]
            k = i // len(base)
            code = it["code"] if k == 0 else f"{it['code']}-{k:03d}"
            name = it["name"] if k == 0 else f"{it['name']}（{k}）"
            national = it["national"] if k == 0 else f"{it['national']}-{k:03d}"
            c = categories[it["code"]]
            self.rows.append({"价格项目编码": code, "价格项目名称": name, "国家项目编码": national,
                              **{k: c[k] for k in ("票据分类", "会计科目分类", "病案首页分类")}})
            codes.append(code)
            names.append(name)
            nationals.append(national)
            prices.append(it["price"])
            for setting in (it["settings"] if k == 0 else ("门诊", "住院")):
                pairs.append((i, 0 if setting == "门诊" else 1))
        self.rows.extend(r for r in demo.demo_mapping_rows("A") if r["价格项目编码"] in RESERVED)
        self.codes, self.names, self.nationals = codes, names, nationals
        self.prices = np.array(prices, dtype=float)
        pairs = np.array(pairs, dtype=np.int64)
        self.pair_code, self.pair_setting = pairs[:, 0], pairs[:, 1]

    def choose(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` (code, setting) pairs for one hospital, common items first."""
        pool = min(len(self.pair_code), max(2 * n, 600))
        if n > pool:
            raise ValueError(f"the catalogue has {pool} price items, {n} asked for")
        return np.sort(rng.choice(pool, size=n, replace=False))


# ---------------------------------------------------------------- one return
class Table5:
    """One hospital's 表5 over the months: a fixed choice of items, monthly amounts."""

    def __init__(self, catalogue: Catalogue, code: str, rows: int, seed: int):
        self.cat, self.code, self.seed = catalogue, code, seed
        rng = np.random.default_rng(zlib.crc32(f"{seed}|{code}|table5".encode()))
        self.pairs = catalogue.choose(rng, rows)
        self.weights = rng.lognormal(0.0, 1.1, size=len(self.pairs))

    def items(self, draft: ReturnDraft, factor: Decimal, sheet: bool = False):
        """The return's 表5 as the reader would give it (amounts in yuan): the demo's service
        revenue per setting spread over this hospital's items, its drug/material rows and
        any unmapped rows kept. With `sheet`, also the rows as a workbook has them."""
        kept, service = [], {0: 0, 1: 0}
        for code, name, setting, q, amount in draft.items:
            yuan = int(Decimal(amount) * factor)
            if code in RESERVED or code in demo_unmapped():
                kept.append((code, name, setting, q, yuan))
            else:
                service[0 if setting == "门诊" else 1] += yuan
        n = len(self.pairs) - len(kept)
        pairs, base_w = self.pairs[:n], self.weights[:n]
        rng = np.random.default_rng(zlib.crc32(f"{self.seed}|{self.code}|{draft.period}|table5".encode()))
        w = base_w * rng.uniform(0.9, 1.1, size=n)
        settings = self.cat.pair_setting[pairs]
        amounts = np.zeros(n, dtype=np.int64)
        for s in (0, 1):
            mask = settings == s
            count = int(mask.sum())
            if count == 0:
                raise ValueError(f"{self.code}: no {s} items")
            budget = service[s] - count                      # every row gets at least 1 yuan
            share = np.floor(w[mask] / w[mask].sum() * budget).astype(np.int64)
            share[np.argmax(w[mask])] += budget - int(share.sum())
            amounts[mask] = share + 1
        codes = self.cat.pair_code[pairs]
        quantities = np.maximum(1, np.rint(amounts / self.cat.prices[codes])).astype(np.int64)
        names, nationals, all_codes = self.cat.names, self.cat.nationals, self.cat.codes
        columns = (codes.tolist(), settings.tolist(), quantities.tolist(), amounts.tolist())
        setting_codes = ("outpatient", "inpatient")
        out = [Item(row, all_codes[c], names[c], setting_codes[s], Decimal(q), Decimal(a), nationals[c])
               for row, c, s, q, a in zip(range(2, n + 2), *columns)]
        out.extend(Item(row, code, name, SETTING_CODE[setting], Decimal(q), Decimal(yuan), None)
                   for row, (code, name, setting, q, yuan) in enumerate(kept, start=n + 2))
        if not sheet:
            return out, None
        labels = ("门诊", "住院")
        rows = [(all_codes[c], names[c], labels[s], q, a) for c, s, q, a in zip(*columns)]
        return out, rows + kept


_UNMAPPED = None


def demo_unmapped() -> set[str]:
    global _UNMAPPED
    if _UNMAPPED is None:
        _UNMAPPED = {code for code, *_ in UNMAPPED_ITEMS}
    return _UNMAPPED


def parsed(draft: ReturnDraft, items: list[Item]) -> ParsedReturn:
    """`draft` as read_return would have read its workbook (amounts in yuan, cells as the
    template lays them out), with `items` as its 表5."""
    factor = UNIT_FACTORS[draft.unit]
    ret = ParsedReturn(hospital_code=draft.hospital_code, hospital_name=draft.hospital_name,
                       period=draft.period, unit=draft.unit, template_version=draft.template_version,
                       filled_by=draft.filled_by, phone=draft.phone, filled_on=draft.filled_on)
    ret.sheet_names = dict(rf.SHEETS)
    for key, attr in (("表1", "t1"), ("表2", "t2"), ("表3", "t3")):
        values, columns, table = getattr(draft, attr), rf.TABLE_COLUMNS[key], {}
        for row, (code, _) in enumerate(rf.TABLE_ITEMS[key], start=2):
            v = values.get(code)
            cells = list(v) if isinstance(v, (tuple, list)) else [v]
            table[code] = {}
            for (column, _), letter, raw in zip(columns, "CD", cells):
                ref = f"{letter}{row}"
                if code == "W407":
                    table[code][column] = Value(None, ref, raw)
                elif key == "表3" and code in rf.T3_NOT_MONEY:
                    table[code][column] = Value(Decimal(raw or 0), ref)
                else:
                    table[code][column] = Value(Decimal(raw or 0) * factor, ref)
        ret.tables[key] = table
    money = set(rf.DEBT_MONEY)
    for row, debt in enumerate(draft.debts, start=2):
        ret.debts.append(Debt(row, {k: (Decimal(v) * factor if k in money else v) for k, v in debt.items()}))
    ret.items = items
    return ret


def workbook_draft(draft: ReturnDraft, sheet_rows: list[tuple]) -> ReturnDraft:
    """The draft with its widened 表5, in the draft's unit, ready for write_return."""
    exp = {"元": 0, "千元": -3, "万元": -4}[draft.unit]
    draft.items = [(c, n, s, q, Decimal(a).scaleb(exp) if exp else a) for c, n, s, q, a in sheet_rows]
    return draft

