"""The demo's returns: one month of a hospital's books (debts, wages, balance sheet) and demo_returns."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from types import SimpleNamespace
from typing import Iterator

from etl.common.codes import period_end, period_index, periods_between, shift_period
from etl.demo import parameters as P
from etl.demo.catalogue import UNMAPPED_ITEMS
from etl.demo.profiles import profile
from etl.demo.province import DEMO_FIRST, DEMO_LAST
from etl.returns import contract as rf
from etl.returns.drafts import ReturnDraft

try:
    from zoneinfo import ZoneInfo
    TZ = ZoneInfo("Asia/Shanghai")
except Exception:  # pragma: no cover - no tz database: the same fixed offset
    TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

_BASE = period_index("2024-01")                                   # growth counts from here
_SPAN = (period_index(DEMO_FIRST), period_index(DEMO_LAST))       # story trends run over it
_T1 = [code for code, _ in rf.T1_ITEMS]
_T2 = [code for code, _ in rf.T2_ITEMS]
_LEAVES = ("R111", "R112", "R113", "R114", "R121", "R122", "R130", "R140",
           "E210", "E220", "E230", "E240", "E241", "E242", "E243")


# ---------------------------------------------------------------- one month
def _d15(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 15)


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
    s = p.base_s + P.SURPLUS_SEASON[int(period[5:]) - 1] + rng.gauss(0, 0.004)
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
    total = p.rev0 * P.SEASON[m - 1] * _g(p, k) * (1 + rng.gauss(0, 0.015))
    budget = {"门诊": total * p.os, "住院": total * (1 - p.os)}
    serv = {s: budget[s] * (1 - p.shares[s][0] - p.shares[s][1]) for s in budget}
    items, sums, drugs, mats = [], {"门诊": 0, "住院": 0}, 0, 0
    for code, name, setting, price, w in p.rows:
        q = int(serv[setting] * w * (0.92 + 0.16 * rnd()) / price + 0.5) or 1
        items.append((code, name, setting, q, q * price))
        sums[setting] += q * price
    if p.unmapped and period >= "2025-06" and rnd() < 0.3:
        for code, name, setting, price in UNMAPPED_ITEMS[: rng.randint(1, 3)]:
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
    profiles = [profile(h, seed) for h in hospitals]
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
