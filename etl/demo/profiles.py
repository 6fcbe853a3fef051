"""The demo's hospital profiles: what is fixed about each hospital (size, shares, price items, debts)."""
from __future__ import annotations

import random
import zlib
from types import SimpleNamespace

from etl.common.codes import period_index
from etl.demo import hospitals as H
from etl.demo import parameters as P
from etl.demo.catalogue import MUST_ROWS, PRIORITY_GROUPS, RESERVED_ROWS, price_items
from etl.demo.province import DEMO_FIRST, SPEC_BY_CODE, region_names

_POOR = ("5119", "5132", "5133", "5134")   # more fiscal support: 巴中, 阿坝, 甘孜, 凉山


def _kind_of(h: dict) -> str:
    cat, name = h["类别"], h["机构名称"]
    if cat == "中医医院":
        return "T"
    if cat == "妇幼保健院":
        return "M"
    if cat == "专科医院":
        return "S1" if "肿瘤" in name else "S2"
    return "G"


def profile(h: dict, seed: int) -> SimpleNamespace:
    """Everything fixed about a hospital: size and shares (rev0 = medical revenue per month at
    2024-01; os = outpatient share; shares[setting] = (drug share, material share, YP rows)),
    its price items (rows), balance-sheet ratios (bs: at DEMO_FIRST, at DEMO_LAST), debts,
    reporting unit, filing habits and story."""
    code = h["机构代码"]
    spec = SPEC_BY_CODE.get(code)
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
    names = {c: n for c, n, *_ in RESERVED_ROWS}
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
    bs.update(P.STORY_BALANCE.get(story, {}))
    if story == "debt_yellow":
        bs.update(P.DEBT_YELLOW_BALANCE[extra["variant"]])
    bs.setdefault("cip", (c := u(0.0, 0.05), c))
    bs.update(recv=(c := u(0.16, 0.22), c), orecv=(c := u(0.02, 0.04), c), inv=(c := u(0.03, 0.05), c))
    rows = _select_rows(rng, tier, kind)
    pref = county[:4]
    person = (rng.choice(H.ETHNIC_NAMES[pref]) if pref in H.ETHNIC_NAMES and rng.random() < 0.5
              else rng.choice(H.SURNAMES) + rng.choice(H.GIVEN))
    area = H.PHONE_AREA.get(pref, "028")
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
    candidates = [(it, s) for it in price_items() for s in it["settings"]
                  if not (it["tertiary"] and tier[0] == "2")]
    rest = [c for c in candidates if (c[0]["code"], c[1]) not in MUST_ROWS]
    rng.shuffle(rest)
    priority = PRIORITY_GROUPS.get(kind, ())
    rest.sort(key=lambda c: c[0]["group"] not in priority)        # stable: priority groups first
    chosen = [c for c in candidates if (c[0]["code"], c[1]) in MUST_ROWS] + rest[: n_service - len(MUST_ROWS)]
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
    city = region_names().get(pref + "00", "四川")[:2]
    banks = [f"中国银行{city}分行", f"中国建设银行{city}分行", f"中国工商银行{city}分行",
             f"中国农业银行{city}分行", "国家开发银行四川省分行"]
    first = period_index(DEMO_FIRST)

    def amount(x: float) -> int:
        return max(1, round(x / 10_000)) * 10_000

    def year_month(y0: int, y1: int) -> int:
        return period_index(f"{rng.randint(y0, y1)}-{rng.randint(1, 12):02d}")

    debts = []
    if story == "construction_debt":
        return [_loan("JK-2021-01", "国家开发银行四川省分行", "银行贷款", "基本建设", period_index("2021-06"),
                      period_index("2041-06"), amount(0.55 * b0), 0.041, start=period_index("2027-07")),
                _loan("ZL-2023-01", P.LESSORS[0], "融资租赁", "设备购置", period_index("2023-03"),
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
        debts.append(_loan(f"ZL-{kb // 12}-01", rng.choice(P.LESSORS), "融资租赁", "设备购置", kb, kb + 60,
                           amount(rng.uniform(0.02, 0.04) * b0), round(rng.uniform(0.05, 0.06), 4)))
    if rng.random() < 0.25:
        month, size, bank = rng.randint(1, 12), amount(rng.uniform(0.02, 0.04) * b0), rng.choice(banks[:4])
        for year in range(2023, 2027):
            kb = period_index(f"{year}-{month:02d}")
            debts.append(_loan(f"DQ-{year}-01", bank, "银行贷款", "运营周转", kb, kb + 12, size, 0.035, bullet=True))
    return debts
