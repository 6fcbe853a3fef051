"""Deterministic demo province: Sichuan's real regions, fictional hospitals, 24 monthly returns.

Pure Python, no database. Every figure is computed in integer yuan from `random.Random`
streams seeded by (seed, hospital, period, purpose) — never the global generator or the
clock — and converted exactly to the hospital's reporting unit (元, 千元 or 万元). Each
return satisfies every rule of shared/design/return-format.md; the stories (`demo_story`)
make the last month show red, yellow and green in every risk domain of risk.md.
Tables (coordinates, hospitals, price items) live in etl/demo_data.py.
"""
from __future__ import annotations

import datetime as dt
import random
import zlib
from collections import namedtuple
from decimal import Decimal
from functools import lru_cache
from types import SimpleNamespace
from typing import Iterator

from etl.common.codes import (
    period_end,
    period_index,
    periods_between,
    shift_period,
    with_check_char,
)
from etl.demo import data as D
from etl.reference.regions import packaged_regions
from etl.returns import contract as rf
from etl.returns.drafts import ReturnDraft

try:
    from zoneinfo import ZoneInfo
    TZ = ZoneInfo("Asia/Shanghai")
except Exception:  # pragma: no cover - no tz database: the same fixed offset
    TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

PROVINCE = "510000"
DEMO_FIRST = "2024-11"
DEMO_LAST = "2026-10"
STORY_LABELS = D.STORY_LABELS

_BASE = period_index("2024-01")                                   # growth counts from here
_SPAN = (period_index(DEMO_FIRST), period_index(DEMO_LAST))       # story trends run over it
_T1 = [code for code, _ in rf.T1_ITEMS]
_T2 = [code for code, _ in rf.T2_ITEMS]
_LEAVES = ("R111", "R112", "R113", "R114", "R121", "R122", "R130", "R140",
           "E210", "E220", "E230", "E240", "E241", "E242", "E243")
_KIND = {"G": ("综合医院", "医院"), "T": ("中医医院", "中医医院"), "M": ("妇幼保健院", "妇幼保健院"),
         "S1": ("专科医院", "肿瘤医院"), "S2": ("专科医院", "骨科医院")}
_OWNER = {"P": "省属", "C": "市属", "X": "县属"}
_POOR = ("5119", "5132", "5133", "5134")   # more fiscal support: 巴中, 阿坝, 甘孜, 凉山


def load_regions() -> list[dict]:
    """The demo province's regions: province, 21 prefectures and their counties."""
    return packaged_regions(PROVINCE)


# ---------------------------------------------------------------- registry
_Spec = namedtuple("_Spec", "index county kind grade story extra code name category affiliation")


def _place(kind: str, county: str, names: dict) -> str:
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


def _org_code(n: int) -> str:
    """An 8-digit organisation code with its GB 11714 check character."""
    digits = f"{n:08d}"
    c = 11 - sum(int(d) * w for d, w in zip(digits, (3, 7, 9, 10, 5, 8, 4, 2))) % 11
    return digits + ("X" if c == 10 else "0" if c == 11 else str(c))


@lru_cache(maxsize=1)
def _region_names() -> dict:
    return {r["code"]: r["name"] for r in load_regions()}


@lru_cache(maxsize=1)
def _specs() -> tuple[_Spec, ...]:
    names = _region_names()
    out, used_names, used_codes = [], set(), set()
    for i, (county, kind, grade, story, extra) in enumerate(D.HOSPITALS):
        category, suffix = _KIND[kind[1:]]
        place, j = _place(kind, county, names), i * 7
        while (name := f"{place}{D.NAME_WORDS[j % len(D.NAME_WORDS)]}{suffix}") in used_names:
            j += 1
        n = 45_000_000 + zlib.crc32(f"{county}{kind}{i}".encode()) % 50_000_000
        while (code := with_check_char("12" + county + _org_code(n))) in used_codes:
            n += 1
        used_names.add(name)
        used_codes.add(code)
        out.append(_Spec(i, county, kind, grade, story, extra, code, name, category, _OWNER[kind[0]]))
    return tuple(out)


_SPEC_BY_CODE = {s.code: s for s in _specs()}
STORIES: dict[str, str] = {s.code: s.story for s in _specs()}


def demo_story(code: str) -> str:
    """The story a demo hospital follows (keys of STORY_LABELS); 'healthy' for others."""
    return STORIES.get(code, "healthy")


def _beds_range(spec: _Spec) -> tuple[int, int]:
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
    for s in _specs():
        rng = random.Random(f"{seed}|{s.code}|registry")
        lo, hi = _beds_range(s)
        lon, lat, r = D.SEATS[s.county]
        beds = rng.randint(lo // 10, hi // 10) * 10
        micro = [round((x + rng.uniform(-r, r)) * 1e6) for x in (lon, lat)]
        lon, lat = (v / 1e6 for v in (m + (m % 100 == 0) for m in micro))   # 5–6 decimals
        out.append({"机构代码": s.code, "机构名称": s.name, "等级": s.grade, "类别": s.category,
                    "隶属": s.affiliation, "行政区划代码": s.county, "经度": lon, "纬度": lat,
                    "编制床位": beds})
    return out


# ---------------------------------------------------------------- mapping
@lru_cache(maxsize=1)
def _catalogue() -> tuple[dict, ...]:
    items = []
    for prefix, nat, receipt, subject, record, setting, w_o, w_i, group in D.ITEM_GROUPS:
        for k, (name, price, *flags) in enumerate(group, 1):
            f = flags[0] if flags else ""
            s = next((c for c in f if c in "OIB"), setting)
            items.append({"code": f"{prefix}{k:03d}", "name": name, "national": f"{nat}{k:04d}",
                          "receipt": receipt, "subject": subject, "group": prefix,
                          "record": D.RECORD_OVERRIDES.get(name, record), "price": price,
                          "settings": {"O": ("门诊",), "I": ("住院",), "B": ("门诊", "住院")}[s],
                          "tertiary": "T" in f, "w": {"门诊": max(w_o, 0.5), "住院": max(w_i, 0.5)}})
    return tuple(items)


def demo_mapping_rows(version: str = "A") -> list[dict]:
    """Attribution mapping rows: 'A' the default, 'B' with 38 items moved to other categories."""
    if version not in ("A", "B"):
        raise ValueError("version must be 'A' or 'B'")
    rows = []
    for it in _catalogue():
        receipt, subject = it["receipt"], it["subject"]
        if version == "B" and it["group"] in D.B_MOVES:
            receipt, subject = D.B_MOVES[it["group"]]
        rows.append({"价格项目编码": it["code"], "价格项目名称": it["name"], "国家项目编码": it["national"],
                     "票据分类": receipt, "会计科目分类": subject, "病案首页分类": it["record"]})
    for code, name, receipt, subject, record in D.RESERVED_ROWS:
        rows.append({"价格项目编码": code, "价格项目名称": name, "国家项目编码": None,
                     "票据分类": receipt, "会计科目分类": subject, "病案首页分类": record})
    return rows


# ---------------------------------------------------------------- hospital profiles
def _kind_of(h: dict) -> str:
    cat, name = h["类别"], h["机构名称"]
    if cat == "中医医院":
        return "T"
    if cat == "妇幼保健院":
        return "M"
    if cat == "专科医院":
        return "S1" if "肿瘤" in name else "S2"
    return "G"


def _profile(h: dict, seed: int) -> SimpleNamespace:
    """Everything fixed about a hospital: size and shares (rev0 = medical revenue per month at
    2024-01; os = outpatient share; shares[setting] = (drug share, material share, YP rows)),
    its price items (rows), balance-sheet ratios (bs: at DEMO_FIRST, at DEMO_LAST), debts,
    reporting unit, filing habits and story."""
    code = h["机构代码"]
    spec = _SPEC_BY_CODE.get(code)
    story, extra = (spec.story, spec.extra) if spec else ("healthy", {})
    index = spec.index if spec else zlib.crc32(code.encode())
    rng = random.Random(f"{seed}|{code}|profile")
    u = rng.uniform
    grade, kind, county = h["等级"], _kind_of(h), str(h["行政区划代码"])
    tier = ("3" if grade.startswith("三级") else "2") + ("a" if "甲" in grade else "b")
    per_bed = u(*{"3a": (96e3, 108e3), "3b": (72e3, 84e3), "2a": (56e3, 68e3), "2b": (50e3, 58e3)}[tier])
    beds = int(h.get("编制床位") or 300)
    rev0 = beds * per_bed * (0.9 if kind == "T" and tier == "3a" else 1.0)
    rev0 = min(rev0, 33e6 if tier[0] == "2" else 250e6)
    growth = {"deficit_red": u(-0.04, -0.01), "deficit_yellow": u(0.0, 0.02),
              "wage_red": u(0.0, 0.02), "wage_yellow": u(0.0, 0.02)}.get(story, u(0.03, 0.07))
    os = u(*{"3a": (0.33, 0.40), "3b": (0.36, 0.42)}.get(tier, (0.38, 0.46))) + (0.05 if kind == "T" else 0)
    drug = u(*{"T": (0.33, 0.40), "M": (0.25, 0.30), "S1": (0.36, 0.40)}.get(kind, (0.27, 0.37)))
    mat = u(0.16, 0.19) if kind == "S2" else u(*{"3a": (0.10, 0.14), "3b": (0.08, 0.12)}.get(tier, (0.06, 0.10)))
    mat *= 0.7 if kind == "T" else 1.0
    drug_o = min(0.55, drug * 1.2)
    yp = (0.42, 0.26, 0.32) if kind == "T" else (0.72, 0.18, 0.10)
    yp_i = yp if (kind == "T" or tier == "3a") else (yp[0], yp[1] + yp[2], 0.0)
    names = {c: n for c, n, *_ in D.RESERVED_ROWS}
    shares = {"门诊": (drug_o, 0.03, tuple((c, names[c], s) for c, s in zip(("YP01", "YP02", "YP03"), yp))),
              "住院": ((drug - drug_o * os) / (1 - os), (mat - 0.03 * os) / (1 - os),
                     tuple((c, names[c], s) for c, s in zip(("YP01", "YP02", "YP03"), yp_i) if s))}
    fiscal_k = u(*{"3a": (0.01, 0.025), "3b": (0.03, 0.05)}.get(tier, (0.05, 0.09)))
    fiscal_k += 0.04 if county[:4] in _POOR else 0
    science_k = u(0.004, 0.012) if tier == "3a" else u(0.0003, 0.001)
    other_k, admin_k, other_exp_k = u(0.008, 0.02), u(0.08, 0.11), u(0.01, 0.02)
    base_s = {"deficit_red": u(0.004, 0.012), "deficit_yellow": u(0.004, 0.012),
              "deficit_recovered": u(0.008, 0.02), "wage_red": u(0.002, 0.008), "wage_yellow": u(0.002, 0.008),
              "construction_debt": u(0.004, 0.01)}.get(story, u(0.014, 0.035))
    r100_0 = rev0 * (1 + fiscal_k * 1.5 + science_k + other_k)
    pay0 = u(0.31, 0.38) * r100_0 * (1 - base_s) * (1 - other_exp_k) / 1.38 / 1.025
    staff0 = round(beds * u(1.2, 1.45))
    bs = {"cash": (c := u(0.30, 0.42), c), "cr": (c := u(1.2, 1.55), c), "dr": (c := u(0.32, 0.42), c)}
    bs.update(D.STORY_BALANCE.get(story, {}))
    if story == "debt_yellow":
        bs.update(D.DEBT_YELLOW_BALANCE[extra["variant"]])
    bs.setdefault("cip", (c := u(0.0, 0.05), c))
    bs.update(recv=(c := u(0.16, 0.22), c), orecv=(c := u(0.02, 0.04), c), inv=(c := u(0.03, 0.05), c))
    rows = _select_rows(rng, tier, kind)
    pref = county[:4]
    person = (rng.choice(D.ETHNIC_NAMES[pref]) if pref in D.ETHNIC_NAMES and rng.random() < 0.5
              else rng.choice(D.SURNAMES) + rng.choice(D.GIVEN))
    area = D.PHONE_AREA.get(pref, "028")
    digits = 7 if area == "028" else 6                     # 8-digit numbers in 028, else 7
    phone = f"{area}-{rng.randint(2, 8)}{rng.randint(0, 10 ** digits - 1):0{digits}d}"
    return SimpleNamespace(
        code=code, name=h["机构名称"], story=story, extra=extra,
        unit="万元" if index % 10 == 3 else "千元" if index % 10 == 7 else "元",
        rev0=rev0, r100_0=r100_0, growth=growth, os=os, shares=shares, rows=rows,
        fiscal_k=fiscal_k, science_k=science_k, other_k=other_k, admin_k=admin_k,
        other_exp_k=other_exp_k, base_s=base_s, pay0=pay0, staff0=staff0, bs=bs,
        debts=_make_debts(rng, story, extra, tier, r100_0 * 12, pref),
        unpaid=u(0.20, 0.35) if story == "wage_red" else u(0.22, 0.32), affected=u(0.6, 0.95),
        late=0.6 if story == "late_filer" else 0.0, skip=frozenset(extra.get("skip", ())),
        unmapped=story == "healthy" and index % 40 == 13, person=person, phone=phone)


def _select_rows(rng: random.Random, tier: str, kind: str) -> list:
    """The hospital's price items: (code, name, setting, price, weight), weights sum to 1 per setting."""
    n_service = rng.randint(*{"3a": (118, 140), "3b": (88, 115), "2a": (55, 85), "2b": (33, 52)}[tier]) - 8
    candidates = [(it, s) for it in _catalogue() for s in it["settings"]
                  if not (it["tertiary"] and tier[0] == "2")]
    rest = [c for c in candidates if (c[0]["code"], c[1]) not in D.MUST_ROWS]
    rng.shuffle(rest)
    priority = D.PRIORITY_GROUPS.get(kind, ())
    rest.sort(key=lambda c: c[0]["group"] not in priority)        # stable: priority groups first
    chosen = [c for c in candidates if (c[0]["code"], c[1]) in D.MUST_ROWS] + rest[: n_service - len(D.MUST_ROWS)]
    counts: dict = {}
    for it, s in chosen:
        counts[(it["group"], s)] = counts.get((it["group"], s), 0) + 1
    rows = []
    for it, s in chosen:
        w = it["w"][s] * (3 if it["group"] in priority else 1) / counts[(it["group"], s)]
        w *= min(1.5, (30 / it["price"]) ** 0.4)                    # dear items are rarer
        rows.append([it["code"], it["name"], s, it["price"], w * rng.lognormvariate(0, 0.5)])
    for s in ("门诊", "住院"):
        total = sum(r[4] for r in rows if r[2] == s)
        for r in rows:
            if r[2] == s:
                r[4] /= total
    return sorted(tuple(r) for r in rows)


def _d15(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 15)


def _loan(no, creditor, typ, purpose, kb, kd, contract, rate, *, start=None, inst_months=None,
          bullet=False, default=False) -> dict:
    """A debt: borrowed and due on the 15th; equal monthly principal from `start` (default:
    the month after borrowing) to the due month, or `inst_months`-sized instalments with the
    rest due at maturity (a balloon); `default`: the last payment is never made (overdue)."""
    start = kd if bullet else (start if start is not None else kb + 1)
    n = kd - start + 1
    inst = 0 if bullet else contract // (inst_months or n)
    return {"no": no, "creditor": creditor, "type": typ, "purpose": purpose, "kb": kb, "kd": kd,
            "contract": contract, "rate": rate, "start": start, "n": n, "inst": inst, "default": default}


def _make_debts(rng: random.Random, story: str, extra: dict, tier: str, b0: float, pref: str) -> list:
    city = _region_names().get(pref + "00", "四川")[:2]
    banks = [f"中国银行{city}分行", f"中国建设银行{city}分行", f"中国工商银行{city}分行",
             f"中国农业银行{city}分行", "国家开发银行四川省分行"]
    first = _SPAN[0]

    def amount(x: float) -> int:
        return max(1, round(x / 10_000)) * 10_000

    def year_month(y0: int, y1: int) -> int:
        return period_index(f"{rng.randint(y0, y1)}-{rng.randint(1, 12):02d}")

    debts = []
    if story == "construction_debt":
        return [_loan("JK-2021-01", "国家开发银行四川省分行", "银行贷款", "基本建设", period_index("2021-06"),
                      period_index("2041-06"), amount(0.55 * b0), 0.041, start=period_index("2027-07")),
                _loan("ZL-2023-01", D.LESSORS[0], "融资租赁", "设备购置", period_index("2023-03"),
                      period_index("2028-03"), amount(0.05 * b0), 0.055),
                _loan("JK-2025-01", f"中国农业银行{city}分行", "银行贷款", "基本建设", period_index("2025-06"),
                      period_index("2040-06"), amount(0.22 * b0), 0.038, start=period_index("2028-01"))]
    if story == "overdue_debt":
        debts.append(_loan("JK-2023-01", f"中国农业银行{city}分行", "银行贷款", "运营周转", period_index("2023-07"),
                           period_index("2026-07"), amount(0.12 * b0), 0.043, inst_months=60, default=True))
    variant = extra.get("variant")
    long_target = {"long": 0.46, "ratio": rng.uniform(0.12, 0.18)}.get(variant, rng.uniform(0.05, 0.16))
    if variant in ("long", "ratio") or tier[0] == "3" or rng.random() < 0.6:
        term = 20 if variant == "long" else rng.randint(10, 15)
        kb = rng.randint(max(period_index("2016-01"), first + 36 - term * 12), period_index("2022-12"))
        kd = kb + term * 12
        left = 1 - min(max(first - kb, 0), kd - kb) / (kd - kb)
        purpose = "基本建设" if variant == "long" or rng.random() < 0.5 else "设备购置"
        debts.append(_loan(f"JK-{kb // 12}-{len(debts) + 1:02d}", rng.choice(banks), "银行贷款", purpose, kb, kd,
                           amount(long_target * b0 / left), round(rng.uniform(0.032, 0.045), 4)))
    if tier == "3a" and rng.random() < 0.5:
        kb = year_month(2022, 2024)
        debts.append(_loan(f"ZL-{kb // 12}-01", rng.choice(D.LESSORS), "融资租赁", "设备购置", kb, kb + 60,
                           amount(rng.uniform(0.02, 0.04) * b0), round(rng.uniform(0.05, 0.06), 4)))
    if rng.random() < 0.25:
        month, size, bank = rng.randint(1, 12), amount(rng.uniform(0.02, 0.04) * b0), rng.choice(banks[:4])
        for year in range(2023, 2027):
            kb = period_index(f"{year}-{month:02d}")
            debts.append(_loan(f"DQ-{year}-01", bank, "银行贷款", "运营周转", kb, kb + 12, size, 0.035, bullet=True))
    return debts


# ---------------------------------------------------------------- one month
def _g(p: SimpleNamespace, k: int) -> float:
    return (1 + p.growth) ** ((k - _BASE) / 12)


def _debt_balance(d: dict, k: int) -> int:
    if k < d["kb"]:
        return 0
    j = min(max(k - d["start"] + 1, 0), d["n"])
    if j < d["n"] or d["default"]:
        return d["contract"] - d["inst"] * min(j, d["n"] - 1)
    return 0


def _debts_at(p: SimpleNamespace, k: int):
    """表4 rows (yuan) and the balance-sheet sums: L201, L221, L222, interest paid."""
    rows, l201, l221, l222, interest = [], 0, 0, 0, 0
    for d in p.debts:
        if k < d["kb"]:
            continue
        bal = _debt_balance(d, k)
        prev = _debt_balance(d, k - 1) if k > d["kb"] else d["contract"]
        principal = prev - bal if k > d["kb"] else 0
        overdue = d["default"] and k >= d["kd"] and bal > 0
        paid = round(prev * d["rate"] / 12) if k > d["kb"] and prev > 0 and not overdue else 0
        if bal == 0 and principal == 0:
            continue
        if overdue or d["kd"] < k + 13:            # due within 12 months of the period end
            l201 += bal
        elif d["type"] in ("融资租赁", "其他"):
            l222 += bal
        else:
            l221 += bal
        interest += paid
        rows.append({"debt_no": d["no"], "creditor": d["creditor"], "debt_type": d["type"],
                     "purpose": d["purpose"], "borrowed_on": _d15(d["kb"]), "due_on": _d15(d["kd"]),
                     "contract_amount": d["contract"], "balance": bal, "principal_repaid": principal,
                     "interest_paid": paid, "overdue": "是" if overdue else "否",
                     "overdue_amount": bal if overdue else 0})
    return rows, l201, l221, l222, interest


def _wages(p: SimpleNamespace, k: int):
    """(W404, W405, W407) at the end of period index k: arrears accumulate while an episode runs."""
    for start, end in p.extra.get("episodes", ()):
        ks = period_index(start)
        if ks <= k and (end is None or k < period_index(end)):
            w404 = sum(round(p.unpaid * p.pay0 * _g(p, j)) for j in range(ks, k + 1))
            basic = p.extra.get("basic_from")
            return w404, round(w404 * 0.3) if basic and k >= period_index(basic) else 0, start
    return 0, 0, None


def _balance(p: SimpleNamespace, k: int, seed: int, l_debts) -> dict:
    rng = random.Random(f"{seed}|{p.code}|{k}|bs")
    b = p.r100_0 * 12 * _g(p, k)
    f = min(max((k - _SPAN[0]) / (_SPAN[1] - _SPAN[0]), 0.0), 1.0)

    def at(key):
        a, z = p.bs[key]
        return (a + (z - a) * f) * (1 + rng.uniform(-0.02, 0.02))

    v = {"A101": round(b * at("cash")), "A102": round(b * at("recv")), "A103": round(b * at("orecv")),
         "A104": round(b * at("inv")), "A130": round(b * at("cip"))}
    v["A110"] = v["A101"] + v["A102"] + v["A103"] + v["A104"]
    l201, l221, l222 = l_debts
    l203 = round(b * 0.025 * (1 + rng.uniform(-0.05, 0.05))) + _wages(p, k)[0]
    rest = max(round(v["A110"] / at("cr")) - l201 - l203, round(b * 0.08))
    v.update(L201=l201, L202=rest - round(rest * 0.22), L203=l203, L204=round(rest * 0.22), L221=l221, L222=l222)
    v["L210"] = l201 + v["L202"] + l203 + v["L204"]
    v["L220"] = l221 + l222
    v["L200"] = v["L210"] + v["L220"]
    a100 = round(v["L200"] / at("dr"))
    if a100 - v["A110"] - v["A130"] < 0.2 * a100:
        a100 = round((v["A110"] + v["A130"]) / 0.8)
    v.update(A100=a100, A120=a100 - v["A110"] - v["A130"], N300=a100 - v["L200"])
    return v


def _surplus_rate(p: SimpleNamespace, period: str, rng: random.Random) -> float:
    s = p.base_s + D.SURPLUS_SEASON[int(period[5:]) - 1] + rng.gauss(0, 0.004)
    if p.story in ("deficit_red", "deficit_yellow"):
        if period >= p.extra["from"]:
            return -rng.uniform(0.07, 0.10) if p.story == "deficit_red" else -rng.uniform(0.012, 0.035)
        return max(s, 0.003)
    if p.story == "deficit_recovered":
        return -rng.uniform(0.015, 0.04) if "2025-01" <= period <= "2025-12" else max(s, 0.003)
    if p.story in ("wage_red", "wage_yellow", "construction_debt"):
        return max(s, 0.002)
    return s


def _month(p: SimpleNamespace, period: str, seed: int):
    """One month of books in yuan: 表1 month values, 表5 rows, 表3 values, 表4 rows."""
    k, m = period_index(period), int(period[5:])
    rng = random.Random(f"{seed}|{p.code}|{period}")
    rnd = rng.random
    total = p.rev0 * D.SEASON[m - 1] * _g(p, k) * (1 + rng.gauss(0, 0.015))
    budget = {"门诊": total * p.os, "住院": total * (1 - p.os)}
    serv = {s: budget[s] * (1 - p.shares[s][0] - p.shares[s][1]) for s in budget}
    items, sums, drugs, mats = [], {"门诊": 0, "住院": 0}, 0, 0
    for code, name, setting, price, w in p.rows:
        q = int(serv[setting] * w * (0.92 + 0.16 * rnd()) / price + 0.5) or 1
        items.append((code, name, setting, q, q * price))
        sums[setting] += q * price
    if p.unmapped and period >= "2025-06" and rnd() < 0.3:
        for code, name, setting, price in D.UNMAPPED_ITEMS[: rng.randint(1, 3)]:
            q = int(serv[setting] * rng.uniform(0.003, 0.01) / price) + 1
            items.append((code, name, setting, q, q * price))
            sums[setting] += q * price
    for setting in ("门诊", "住院"):
        drug, mat, yps = p.shares[setting]
        for code, name, share in yps:
            a = round(budget[setting] * drug * share * (0.97 + 0.06 * rnd()))
            items.append((code, name, setting, max(1, a // (150 if setting == "门诊" else 80)), a))
            drugs += a
            sums[setting] += a
        a = round(budget[setting] * mat * (0.96 + 0.08 * rnd()))
        items.append(("HC01", "卫生材料", setting, max(1, a // 60), a))
        mats += a
        sums[setting] += a
    v = {"R111": sums["门诊"], "R112": sums["住院"], "R113": drugs, "R114": mats}
    v["R121"] = round(p.rev0 * _g(p, k) * p.fiscal_k * (1 + rng.uniform(-0.03, 0.03)))
    lump = rng.uniform(0.8, 2.5) if m % 3 == 0 else rng.uniform(0, 0.3) if rnd() < 0.3 else 0
    v["R122"] = round(v["R121"] * lump)
    v["R130"] = round((v["R111"] + v["R112"]) * p.science_k * rng.uniform(0.7, 1.3))
    v["R140"] = round((v["R111"] + v["R112"]) * p.other_k * rng.uniform(0.8, 1.2))
    r100 = v["R111"] + v["R112"] + v["R121"] + v["R122"] + v["R130"] + v["R140"]
    e200 = r100 - round(r100 * _surplus_rate(p, period, rng))
    v["E230"], v["E220"] = round(e200 * p.other_exp_k), round(e200 * p.admin_k)
    v["E210"] = e200 - v["E220"] - v["E230"]
    staff = round(p.staff0 * (1 + 0.015 * (k - _BASE) / 12))
    w402 = round(p.pay0 * _g(p, k) * (1.3 if m == 12 else 1.0) * (1 + rng.gauss(0, 0.01)))
    v["E240"] = min(round(w402 * 1.38), v["E210"] + v["E220"])
    v["E241"] = round(drugs * rng.uniform(0.955, 0.985))
    v["E242"] = round(mats * rng.uniform(0.95, 0.98))
    debts, *l_debts, interest = _debts_at(p, k)
    v["E243"] = interest
    _aggregate(v)
    w404, w405, w407 = _wages(p, k)
    prev404 = _wages(p, k - 1)[0]
    t3 = {"W401": staff, "W402": w402, "W403": w402 + prev404 - w404, "W404": w404, "W405": w405,
          "W406": max(1, round(staff * p.affected)) if w404 else 0, "W407": w407 if w404 else None}
    return v, items, t3, debts, tuple(l_debts)


def _aggregate(v: dict) -> None:
    v["R110"] = v["R111"] + v["R112"]
    v["R120"] = v["R121"] + v["R122"]
    v["R100"] = v["R110"] + v["R120"] + v["R130"] + v["R140"]
    v["E200"] = v["E210"] + v["E220"] + v["E230"]
    v["S300"] = v["R100"] - v["E200"]


def _converter(unit: str):
    exp = {"元": 0, "千元": -3, "万元": -4}[unit]
    return (lambda x: x) if exp == 0 else (lambda x: Decimal(x).scaleb(exp))


# ---------------------------------------------------------------- the returns
def demo_returns(hospitals: list[dict], seed: int = 2026, first: str = DEMO_FIRST,
                 last: str = DEMO_LAST) -> Iterator[tuple[ReturnDraft, dt.datetime]]:
    """Yield (draft, submitted_at) in period order (by submission time within a period):
    one return per hospital per month it filed. Every hospital files `last`."""
    profiles = [_profile(h, seed) for h in hospitals]
    ytd: dict = {}
    ends: dict = {}

    def end_of(p, k):
        if (p.code, k) not in ends:
            ends[(p.code, k)] = _balance(p, k, seed, _debts_at(p, k)[1:4])
        return ends[(p.code, k)]

    for period in periods_between(first, last):
        k, m = period_index(period), int(period[5:])
        batch = []
        for p in profiles:
            v, items, t3, debts, l_debts = _month(p, period, seed)
            if m == 1 or p.code not in ytd:
                prior = {c: round(v[c] * (m - 1) * 0.98) for c in _LEAVES}
                _aggregate(prior)
                ytd[p.code] = prior
            acc = ytd[p.code]
            for c in _T1:
                acc[c] += v[c]
            end = ends[(p.code, k)] = _balance(p, k, seed, l_debts)
            begin = end_of(p, period_index(f"{int(period[:4]) - 1}-12"))
            if period in p.skip and period != last:
                continue
            rng = random.Random(f"{seed}|{p.code}|{period}|file")
            nxt = period_index(shift_period(period, 1))
            day = rng.randint(11, 20) if rng.random() < p.late else rng.randint(3, 9)
            at = dt.datetime(nxt // 12, nxt % 12 + 1, day, rng.randint(8, 17), rng.randint(0, 59),
                             rng.randint(0, 59), tzinfo=TZ)
            filled = max(at.date() - dt.timedelta(days=rng.randint(0, 2)), period_end(period) + dt.timedelta(days=1))
            c = _converter(p.unit)
            money = set(rf.DEBT_MONEY)
            draft = ReturnDraft(
                hospital_code=p.code, hospital_name=p.name, period=period, unit=p.unit,
                t1={code: (c(v[code]), c(acc[code])) for code in _T1},
                t2={code: (c(end[code]), c(begin[code])) for code in _T2},
                t3={code: (val if code in rf.T3_NOT_MONEY else c(val)) for code, val in t3.items()},
                debts=[{key: (c(val) if key in money else val) for key, val in d.items()} for d in debts],
                items=[(code, name, s, q, c(a)) for code, name, s, q, a in items],
                filled_by=p.person, phone=p.phone, filled_on=filled)
            batch.append((at, p.code, draft))
        batch.sort(key=lambda x: (x[0], x[1]))
        for at, _, draft in batch:
            yield draft, at
