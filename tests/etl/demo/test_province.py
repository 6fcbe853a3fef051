"""The demo-province generator (etl/demo): every return it makes obeys the rules of
shared/design/return-format.md, and its stories give the last month red, yellow and green
hospitals in every risk domain of risk.md. Pure Python: no database."""
from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from etl.common.codes import (
    REGION_PATTERN,
    credit_code_problem,
    default_deadline,
    period_end,
    period_index,
    periods_between,
    shift_period,
)
from etl.demo import province as demo
from etl.demo.hospitals import SEATS, STORY_LABELS
from etl.demo.returns import demo_returns
from etl.ratings import scoring
from etl.returns import contract as rf

FACTOR = {"元": Decimal(1), "千元": Decimal(1000), "万元": Decimal(10000)}
ROOT = Path(__file__).resolve().parents[3]
RISK_FILE = ROOT / "config" / "risk.yaml"
SAMPLE_MAPPING = ROOT.parent / "shared" / "samples" / "mapping.xlsx"
PREFECTURES = {
    "510100": "成都市", "510300": "自贡市", "510400": "攀枝花市", "510500": "泸州市", "510600": "德阳市",
    "510700": "绵阳市", "510800": "广元市", "510900": "遂宁市", "511000": "内江市", "511100": "乐山市",
    "511300": "南充市", "511400": "眉山市", "511500": "宜宾市", "511600": "广安市", "511700": "达州市",
    "511800": "雅安市", "511900": "巴中市", "512000": "资阳市", "513200": "阿坝藏族羌族自治州",
    "513300": "甘孜藏族自治州", "513400": "凉山彝族自治州"}
RECEIPT = {"床位费", "诊察费", "诊查费", "检查费", "化验费", "治疗费", "手术费", "护理费", "卫生材料费", "西药费",
           "中药饮片费", "中成药费", "一般诊疗费", "挂号费", "其他费"}
SUBJECT = {"挂号", "诊察", "床位", "检查", "化验", "治疗", "手术", "护理", "卫生材料", "西药", "中成药", "中药饮片",
           "药事服务费", "其他"}
RECORD = {"一般医疗服务费", "一般治疗操作费", "护理费", "其他费用", "病理诊断费", "实验室诊断费", "影像学诊断费",
          "临床诊断项目费", "非手术治疗项目费", "临床物理治疗费", "手术治疗费", "麻醉费", "手术费", "康复费",
          "中医治疗费", "西药费", "抗菌药物费用", "中成药费", "中草药费", "血费", "白蛋白类制品费", "球蛋白类制品费",
          "凝血因子类制品费", "细胞因子类制品费", "检查用一次性医用材料费", "治疗用一次性医用材料费",
          "手术用一次性医用材料费", "其他费"}
RESERVED = [
    {"价格项目编码": "YP01", "价格项目名称": "西药", "国家项目编码": None, "票据分类": "西药费",
     "会计科目分类": "西药", "病案首页分类": "西药费"},
    {"价格项目编码": "YP02", "价格项目名称": "中成药", "国家项目编码": None, "票据分类": "中成药费",
     "会计科目分类": "中成药", "病案首页分类": "中成药费"},
    {"价格项目编码": "YP03", "价格项目名称": "中药饮片", "国家项目编码": None, "票据分类": "中药饮片费",
     "会计科目分类": "中药饮片", "病案首页分类": "中草药费"},
    {"价格项目编码": "HC01", "价格项目名称": "卫生材料", "国家项目编码": None, "票据分类": "卫生材料费",
     "会计科目分类": "卫生材料", "病案首页分类": "治疗用一次性医用材料费"},
]


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def hospitals():
    return demo.demo_hospitals()


@pytest.fixture(scope="module")
def generated(hospitals):
    started = time.perf_counter()
    returns = list(demo_returns(hospitals))
    return returns, time.perf_counter() - started


@pytest.fixture(scope="module")
def returns(generated):
    return generated[0]


@pytest.fixture(scope="module")
def yuan(returns):
    """{hospital code: {period: the return in yuan}} — what the reader would store."""
    out = defaultdict(dict)
    for draft, at in returns:
        out[draft.hospital_code][draft.period] = _in_yuan(draft, at)
    return out


def _in_yuan(d, at) -> dict:
    f = FACTOR[d.unit]
    return {
        "t1": {c: (Decimal(a) * f, Decimal(b) * f) for c, (a, b) in d.t1.items()},
        "t2": {c: (Decimal(a) * f, Decimal(b) * f) for c, (a, b) in d.t2.items()},
        "t3": {c: (v if c in rf.T3_NOT_MONEY else Decimal(v) * f) for c, v in d.t3.items()},
        "debts": [{k: (Decimal(v) * f if k in rf.DEBT_MONEY else v) for k, v in x.items()} for x in d.debts],
        "items": [(c, n, s, q, Decimal(a) * f) for c, n, s, q, a in d.items],
        "at": at, "draft": d,
    }


# ---------------------------------------------------------------- regions and registry
def test_regions_file():
    regions = demo.load_regions()
    assert demo.PROVINCE == "510000"
    codes = [r["code"] for r in regions]
    assert len(codes) == len(set(codes))
    assert all(set(r) == {"code", "name", "parent_code", "level"} for r in regions)
    assert all(REGION_PATTERN.match(c) for c in codes)
    by_code = {r["code"]: r for r in regions}
    assert by_code["510000"] == {"code": "510000", "name": "四川省", "parent_code": None, "level": 1}
    prefectures = {r["code"]: r["name"] for r in regions if r["level"] == 2}
    assert prefectures == PREFECTURES
    assert all(by_code[c]["parent_code"] == "510000" for c in prefectures)
    counties = Counter(r["parent_code"] for r in regions if r["level"] == 3)
    assert set(counties) == set(PREFECTURES)
    # 资阳市 has had only three county-level divisions since 简阳 moved to 成都 (2016).
    assert all(n >= 4 or p == "512000" for p, n in counties.items()) and counties["512000"] == 3
    assert all(r["code"][:4] == r["parent_code"][:4] for r in regions if r["level"] == 3)
    assert by_code["511102"]["name"] == "市中区" and by_code["511102"]["parent_code"] == "511100"


def test_hospitals_registry(hospitals):
    keys = {"机构代码", "机构名称", "等级", "类别", "隶属", "行政区划代码", "经度", "纬度", "编制床位"}
    regions = {r["code"]: r for r in demo.load_regions()}
    assert 120 <= len(hospitals) <= 140
    assert all(set(h) == keys for h in hospitals)
    codes = [h["机构代码"] for h in hospitals]
    names = [h["机构名称"] for h in hospitals]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)
    per_prefecture = Counter()
    for h in hospitals:
        code, county = h["机构代码"], h["行政区划代码"]
        assert credit_code_problem(code) is None, code
        assert code.startswith("12" + county)
        assert regions[county]["level"] == 3
        per_prefecture[regions[county]["parent_code"]] += 1
        assert "人民医院" not in h["机构名称"] and h["机构名称"].endswith(("医院", "保健院"))
        assert h["等级"] in ("三级甲等", "三级乙等", "二级甲等", "二级乙等")
        assert h["类别"] in ("综合医院", "中医医院", "妇幼保健院", "专科医院")
        assert h["隶属"] in ("省属", "市属", "县属")
        lon, lat, r = SEATS[county]
        assert isinstance(h["经度"], float) and isinstance(h["纬度"], float)
        assert abs(h["经度"] - lon) <= min(r, 0.03) + 1e-9 and abs(h["纬度"] - lat) <= min(r, 0.03) + 1e-9
        assert 97 < h["经度"] < 109 and 26 < h["纬度"] < 34.5
        assert all(4 <= len(repr(x).split(".")[1]) <= 6 for x in (h["经度"], h["纬度"]))
        low, high = (800, 3000) if h["等级"] == "三级甲等" else (150, 600) if h["等级"].startswith("二级") else (500, 1000)
        assert low <= h["编制床位"] <= high, h
    assert set(per_prefecture) == set(PREFECTURES)
    assert per_prefecture["510100"] == max(per_prefecture.values())
    grades = Counter(h["等级"] for h in hospitals)
    assert grades["三级甲等"] >= 20 and grades["二级甲等"] + grades["二级乙等"] >= 60
    assert {"综合医院", "中医医院", "妇幼保健院", "专科医院"} <= {h["类别"] for h in hospitals if h["等级"] == "三级甲等"}
    assert demo.demo_hospitals() == hospitals and demo.demo_hospitals(7) != hospitals
    assert [h["机构代码"] for h in demo.demo_hospitals(7)] == codes      # seed changes figures, not codes


def test_every_hospital_has_a_story(hospitals):
    stories = Counter(demo.demo_story(h["机构代码"]) for h in hospitals)
    assert set(stories) <= set(STORY_LABELS)
    assert stories["healthy"] > len(hospitals) / 2
    assert stories["deficit_red"] >= 2 and stories["deficit_yellow"] >= 2
    assert stories["construction_debt"] >= 1 and stories["overdue_debt"] >= 1
    assert stories["wage_red"] + stories["wage_yellow"] >= 5
    assert 3 <= stories["late_filer"] <= 6 and 1 <= stories["skipper"] <= 2


# ---------------------------------------------------------------- mapping
def test_mapping_versions():
    a, b = demo.demo_mapping_rows("A"), demo.demo_mapping_rows("B")
    keys = {"价格项目编码", "价格项目名称", "国家项目编码", "票据分类", "会计科目分类", "病案首页分类"}
    assert 200 <= len(a) <= 400 and len(b) == len(a)
    for rows in (a, b):
        assert all(set(r) == keys for r in rows)
        codes = [r["价格项目编码"] for r in rows]
        assert len(set(codes)) == len(codes)
        assert all(r["票据分类"] in RECEIPT and r["会计科目分类"] in SUBJECT and r["病案首页分类"] in RECORD
                   for r in rows)
        assert [r for r in rows if r["价格项目编码"] in rf.RESERVED_CODES] == RESERVED
        others = [r for r in rows if r["价格项目编码"] not in rf.RESERVED_CODES]
        assert all(len(r["价格项目编码"]) == 9 and r["价格项目编码"].isdigit() for r in others)
        assert all(len(r["国家项目编码"]) == 8 for r in others)
        # only the reserved codes carry drug and material revenue (R113/R114 reconciliation)
        assert not {r["会计科目分类"] for r in others} & {"西药", "中成药", "中药饮片", "卫生材料"}
    assert {r["票据分类"] for r in a} == RECEIPT - {"诊查费"}
    assert {r["会计科目分类"] for r in a} == SUBJECT
    assert len({r["病案首页分类"] for r in a}) >= 25
    by_code = {r["价格项目编码"]: r for r in a}
    assert by_code["110100001"]["会计科目分类"] == "挂号" and by_code["331000001"]["价格项目名称"] == "阑尾切除术"
    moved = [(x, y) for x, y in zip(a, b) if x != y]
    assert 30 <= len(moved) <= 50
    assert all(x["价格项目编码"] == y["价格项目编码"] and x["会计科目分类"] != y["会计科目分类"] for x, y in moved)
    assert {(x["会计科目分类"], y["会计科目分类"]) for x, y in moved} >= {("检查", "治疗"), ("治疗", "手术")}
    assert demo.demo_mapping_rows("B") == b
    with pytest.raises(ValueError):
        demo.demo_mapping_rows("C")


@pytest.mark.skipif(not SAMPLE_MAPPING.exists(), reason="shared samples not present")
def test_mapping_agrees_with_the_sample_mapping():
    from openpyxl import load_workbook
    wb = load_workbook(SAMPLE_MAPPING, read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    wb.close()
    sample = [dict(zip(rows[0], r)) for r in rows[1:] if any(r)]
    by_code = {r["价格项目编码"]: r for r in demo.demo_mapping_rows("A")}
    assert sample and all(by_code[r["价格项目编码"]] == r for r in sample)


# ---------------------------------------------------------------- the returns
def test_generation_is_fast_and_complete(generated, hospitals):
    returns, seconds = generated
    assert seconds < 3.0, f"generating {len(returns)} drafts took {seconds:.2f} s"
    periods = periods_between(demo.DEMO_FIRST, demo.DEMO_LAST)
    assert len(periods) == 24
    order = [(period_index(d.period), at) for d, at in returns]
    assert order == sorted(order)
    seen = Counter((d.hospital_code, d.period) for d, _ in returns)
    assert max(seen.values()) == 1
    codes = {h["机构代码"] for h in hospitals}
    assert {d.hospital_code for d, _ in returns if d.period == demo.DEMO_LAST} == codes
    missing = {(c, p) for c in codes for p in periods} - set(seen)
    assert 1 <= len(missing) <= 6
    assert all(demo.demo_story(c) == "skipper" for c, _ in missing)
    assert len({c for c, _ in missing}) in (1, 2)


def test_deterministic(hospitals, returns):
    few = hospitals[:6]
    again = list(demo_returns(few))
    mine = [r for r in returns if r[0].hospital_code in {h["机构代码"] for h in few}]
    assert again == mine
    other = list(demo_returns(few, seed=1))
    assert [d.t1 for d, _ in other] != [d.t1 for d, _ in mine]


def test_units(returns):
    units = Counter(d.unit for d, _ in returns if d.period == demo.DEMO_LAST)
    total = sum(units.values())
    assert 0.05 <= units["万元"] / total <= 0.15 and 0.05 <= units["千元"] / total <= 0.15
    for d, _ in returns:
        assert d.unit in FACTOR
        f = FACTOR[d.unit]
        money = [x for pair in (*d.t1.values(), *d.t2.values()) for x in pair]
        money += [a for *_, a in d.items] + [x[k] for x in d.debts for k in rf.DEBT_MONEY]
        money += [v for c, v in d.t3.items() if c not in rf.T3_NOT_MONEY]
        for x in money:
            assert isinstance(x, (int, Decimal)) and not isinstance(x, bool)
            assert (Decimal(x) * f * 100) % 1 == 0               # at most 2 decimals of yuan
        assert all(isinstance(q, int) for _, _, _, q, _ in d.items)
        assert isinstance(d.t3["W401"], int) and isinstance(d.t3["W406"], int)


def test_cover(returns):
    for d, at in returns:
        assert d.template_version == rf.TEMPLATE_VERSION
        assert d.filled_by and all("\u4e00" <= ch <= "\u9fff" for ch in d.filled_by)
        assert d.phone and set(d.phone) <= set("0123456789-")
        assert isinstance(d.filled_on, dt.date) and period_end(d.period) <= d.filled_on <= at.date()
        assert at.tzinfo is not None and at.utcoffset() == dt.timedelta(hours=8)
        assert at.date() > period_end(d.period)


def _eq(a, b):
    assert abs(a - b) <= 1, (a, b)


def test_table1(yuan):
    for code, months in yuan.items():
        for period, r in months.items():
            t1 = r["t1"]
            for col in (0, 1):
                v = {c: x[col] for c, x in t1.items()}
                _eq(v["R100"], v["R110"] + v["R120"] + v["R130"] + v["R140"])
                _eq(v["R110"], v["R111"] + v["R112"])
                assert v["R113"] <= v["R110"] and v["R114"] <= v["R110"]
                _eq(v["R120"], v["R121"] + v["R122"])
                _eq(v["E200"], v["E210"] + v["E220"] + v["E230"])
                assert v["E240"] <= v["E210"] + v["E220"]
                _eq(v["S300"], v["R100"] - v["E200"])
                assert all(x >= 0 for c, x in v.items() if c != "S300")
            prev = months.get(shift_period(period, -1))
            if period[5:] == "01":
                assert all(a == b for a, b in t1.values())
            elif prev is not None:
                assert all(prev["t1"][c][1] + t1[c][0] == t1[c][1] for c in t1)
            else:                      # first month, or after a skipped month: books were kept
                m = int(period[5:])
                ratio = (t1["R100"][1] - t1["R100"][0]) / t1["R100"][0]
                assert (m - 1) * 0.8 <= ratio <= (m - 1) * 1.2 or (period != demo.DEMO_FIRST and ratio > 0)


def test_table5_and_reconciliation(yuan):
    mapped = {r["价格项目编码"] for r in demo.demo_mapping_rows("A")}
    unmapped_returns = 0
    for code, months in yuan.items():
        for period, r in months.items():
            items = r["items"]
            assert 30 <= len(items) <= 150
            keys = [(c, s) for c, _, s, _, _ in items]
            assert len(keys) == len(set(keys))
            t1 = r["t1"]
            _eq(t1["R111"][0], sum(a for _, _, s, _, a in items if s == "门诊"))
            _eq(t1["R112"][0], sum(a for _, _, s, _, a in items if s == "住院"))
            _eq(t1["R113"][0], sum(a for c, _, _, _, a in items if c in ("YP01", "YP02", "YP03")))
            _eq(t1["R114"][0], sum(a for c, _, _, _, a in items if c == "HC01"))
            for c, name, s, q, a in items:
                assert s in ("门诊", "住院") and name and a > 0 and q > 0
            extra = {c for c, *_ in items} - mapped
            unmapped_returns += bool(extra)
            assert len(extra) <= 3
    assert 0 < unmapped_returns < 0.05 * sum(len(m) for m in yuan.values())


def test_settings_of_categories(returns):
    subject = {r["价格项目编码"]: r["会计科目分类"] for r in demo.demo_mapping_rows("A")}
    for d, _ in returns:
        for c, _, s, _, _ in d.items:
            if subject.get(c) in ("床位", "护理"):
                assert s == "住院"
            if subject.get(c) == "挂号":
                assert s == "门诊"


def test_table2(yuan):
    for code, months in yuan.items():
        for period, r in months.items():
            t2 = r["t2"]
            for col in (0, 1):
                v = {c: x[col] for c, x in t2.items()}
                _eq(v["A110"], v["A101"] + v["A102"] + v["A103"] + v["A104"])
                _eq(v["A100"], v["A110"] + v["A120"] + v["A130"])
                _eq(v["L210"], v["L201"] + v["L202"] + v["L203"] + v["L204"])
                _eq(v["L220"], v["L221"] + v["L222"])
                _eq(v["L200"], v["L210"] + v["L220"])
                _eq(v["A100"], v["L200"] + v["N300"])
                assert all(x >= 0 for x in v.values())
                assert v["A120"] >= Decimal("0.19") * v["A100"]
            december = months.get(f"{int(period[:4]) - 1}-12")
            if december is not None:
                assert all(t2[c][1] == december["t2"][c][0] for c in t2)
            same_year = [x for p, x in months.items() if p[:4] == period[:4]]
            assert all(x["t2"][c][1] == t2[c][1] for x in same_year for c in t2)


def test_table3(yuan):
    for code, months in yuan.items():
        for period, r in months.items():
            t3 = r["t3"]
            assert isinstance(t3["W401"], int) and t3["W401"] > 0
            assert t3["W402"] > 0 and t3["W404"] >= 0 and 0 <= t3["W405"] <= t3["W404"]
            assert isinstance(t3["W406"], int) and 0 <= t3["W406"] <= t3["W401"]
            assert (t3["W406"] > 0) == (t3["W404"] > 0)
            if t3["W404"] > 0:
                assert t3["W407"] <= period and period_index(t3["W407"]) >= 0
            else:
                assert t3["W407"] is None
            prev = months.get(shift_period(period, -1))
            if prev is not None:
                assert t3["W403"] <= t3["W402"] + prev["t3"]["W404"]
            assert t3["W403"] >= 0
            t1 = r["t1"]                  # payroll plus on-costs is the personnel expense
            assert 0.2 <= t3["W402"] * Decimal("1.38") / (t1["E210"][0] + t1["E220"][0]) <= 0.6


def test_table4(yuan):
    for code, months in yuan.items():
        for period, r in months.items():
            debts, t2 = r["debts"], r["t2"]
            nos = [x["debt_no"] for x in debts]
            assert len(nos) == len(set(nos))
            horizon = period_end(period)
            horizon = horizon.replace(year=horizon.year + 1)
            long_sum = 0
            for x in debts:
                assert set(x) == {k for k, _ in rf.DEBT_COLUMNS}
                assert x["debt_type"] in rf.DEBT_TYPES and x["purpose"] in rf.DEBT_PURPOSES
                assert x["creditor"]
                assert x["due_on"] >= x["borrowed_on"] and x["borrowed_on"] <= period_end(period)
                assert 0 <= x["balance"] <= x["contract_amount"]
                assert x["principal_repaid"] >= 0 and x["interest_paid"] >= 0
                assert x["overdue"] in ("是", "否")
                assert (x["overdue_amount"] > 0) == (x["overdue"] == "是")
                if x["due_on"] > horizon:
                    long_sum += x["balance"]
            long = t2["L221"][0] + t2["L222"][0]
            assert abs(long_sum - long) <= Decimal("0.05") * long if long else long_sum == 0
            _eq(sum(x["balance"] for x in debts if x["due_on"] <= horizon), t2["L201"][0])
            _eq(sum(x["interest_paid"] for x in debts), r["t1"]["E243"][0])


# ---------------------------------------------------------------- the stories, rated
def _rules():
    """The thresholds file as scoring reads it (each indicator's domain from the registry)."""
    rules = scoring.load_thresholds(RISK_FILE)["indicators"]
    return {k: {"domain": r["domain"], **{c: [r[c][0], Decimal(r[c][1])] for c in ("yellow", "red") if c in r}}
            for k, r in rules.items()}


def _meets(value, cond):
    op, limit = cond
    return {"<": value < limit, "<=": value <= limit, ">": value > limit, ">=": value >= limit}[op]


def _indicators(months: dict, period: str) -> dict:
    r = months[period]
    t1m = {c: v[0] for c, v in r["t1"].items()}
    ytd = {c: v[1] for c, v in r["t1"].items()}
    t2 = {c: v[0] for c, v in r["t2"].items()}
    t3 = r["t3"]
    m, d = int(period[5:]), period_end(period).timetuple().tm_yday
    run, p = 0, period
    while p in months and months[p]["t1"]["S300"][0] < 0:
        run, p = run + 1, shift_period(p, -1)
    return {
        "surplus_rate_ytd": ytd["S300"] / ytd["R100"],
        "deficit_months": run,
        "debt_ratio": t2["L200"] / t2["A100"],
        "current_ratio": t2["A110"] / t2["L210"],
        "long_debt_to_revenue": (t2["L221"] + t2["L222"]) / (ytd["R100"] * 12 / m),
        "cash_days": t2["A101"] / (ytd["E200"] / d),
        "overdue_debt": sum(x["overdue_amount"] for x in r["debts"]),
        "wage_arrears": t3["W404"],
        "wage_arrears_months": period_index(period) - period_index(t3["W407"]) + 1 if t3["W404"] else 0,
        "wage_arrears_to_payroll": t3["W404"] / t3["W402"],
        "basic_wage_arrears": t3["W405"],
        "surplus_rate_month": t1m["S300"] / t1m["R100"],
    }


def _rate(values: dict) -> dict:
    rank = {"green": 0, "yellow": 1, "red": 2}
    domains = {"deficit": "green", "debt": "green", "wages": "green"}
    for key, rule in _rules().items():
        colour = ("red" if "red" in rule and _meets(values[key], rule["red"]) else
                  "yellow" if "yellow" in rule and _meets(values[key], rule["yellow"]) else "green")
        if rank[colour] > rank[domains[rule["domain"]]]:
            domains[rule["domain"]] = colour
    domains["overall"] = max(domains.values(), key=rank.get)
    return domains


@pytest.fixture(scope="module")
def last_ratings(yuan):
    return {code: (_rate(ind := _indicators(months, demo.DEMO_LAST)), ind) for code, months in yuan.items()}


def test_last_month_shows_every_colour_in_every_domain(last_ratings):
    for domain in ("deficit", "debt", "wages", "overall"):
        colours = Counter(r[domain] for r, _ in last_ratings.values())
        assert set(colours) == {"red", "yellow", "green"}, (domain, colours)
    overall = Counter(r["overall"] for r, _ in last_ratings.values())
    assert overall["green"] > len(last_ratings) / 2


def test_stories_rate_as_told(last_ratings, yuan):
    expected = {"healthy": {"overall": "green"}, "late_filer": {"overall": "green"},
                "skipper": {"overall": "green"}, "deficit_recovered": {"deficit": "green"},
                "deficit_red": {"deficit": "red"}, "deficit_yellow": {"deficit": "yellow"},
                "construction_debt": {"debt": "red"}, "overdue_debt": {"debt": "red"},
                "debt_yellow": {"debt": "yellow", "deficit": "green", "wages": "green"},
                "wage_red": {"wages": "red"}, "wage_yellow": {"wages": "yellow"}}
    for code, (rating, ind) in last_ratings.items():
        story = demo.demo_story(code)
        for domain, colour in expected[story].items():
            assert rating[domain] == colour, (code, story, rating, ind)
        if story in ("healthy", "late_filer", "skipper"):
            assert 0.30 <= ind["debt_ratio"] <= 0.45 and ind["cash_days"] > 90 and ind["wage_arrears"] == 0
            assert ind["surplus_rate_ytd"] > 0
        if story == "construction_debt":
            assert ind["debt_ratio"] >= 0.70 and ind["long_debt_to_revenue"] >= 0.6 and ind["cash_days"] < 30
            assert any(x["purpose"] == "基本建设" and x["balance"] > 0 for x in yuan[code][demo.DEMO_LAST]["debts"])
        if story == "overdue_debt":
            assert ind["overdue_debt"] > 0
        if story == "wage_yellow":
            t3 = yuan[code][demo.DEMO_LAST]["t3"]
            assert t3["W407"] == demo.DEMO_LAST and t3["W405"] == 0 and ind["wage_arrears_to_payroll"] < 0.5
    runs = sorted(ind["deficit_months"] for code, (_, ind) in last_ratings.items()
                  if demo.demo_story(code) == "deficit_red")
    assert runs[0] >= 6
    assert any(ind["surplus_rate_ytd"] <= -0.05 for code, (_, ind) in last_ratings.items()
               if demo.demo_story(code) == "deficit_red")
    assert all(3 <= ind["deficit_months"] <= 5 for code, (_, ind) in last_ratings.items()
               if demo.demo_story(code) == "deficit_yellow")


def test_wage_arrears_spread(yuan):
    def owing(period):
        return {c for c, months in yuan.items() if period in months and months[period]["t3"]["W404"] > 0}

    assert not owing("2025-11")
    first = owing("2025-12")
    assert 1 <= len(first) <= 2 and all(c[2:6] == "5134" for c in first)
    assert 5 <= len(owing(demo.DEMO_LAST)) <= 10
    counts = [len(owing(p)) for p in periods_between("2025-12", demo.DEMO_LAST)]
    assert counts[-1] == max(counts)


def test_late_and_missing_filers(returns):
    late = Counter(d.hospital_code for d, at in returns if at.date() > default_deadline(d.period))
    assert 3 <= len(late) <= 6 and all(demo.demo_story(c) == "late_filer" for c in late)
    assert all(n >= 6 for n in late.values())
    on_time_days = {at.day for d, at in returns if at.date() <= default_deadline(d.period)}
    assert on_time_days <= set(range(3, 10))


def test_trend_has_seasonality_and_growth(yuan):
    totals = defaultdict(Decimal)
    for months in yuan.values():
        for period, r in months.items():
            totals[period] += r["t1"]["R110"][0]
    assert totals["2025-02"] < totals["2025-01"] and totals["2025-02"] < totals["2025-03"]
    assert totals["2026-09"] > totals["2025-09"] * Decimal("1.02")


def test_round_trip_through_workbook(returns, tmp_path):
    from etl.returns.drafts import write_return
    from etl.returns.reader import check_file, read_return

    picks = {}
    for d, at in returns:
        if d.unit not in picks and d.debts:
            picks[d.unit] = d
    assert set(picks) == set(FACTOR)
    for unit, draft in picks.items():
        path = write_return(draft, tmp_path / f"{unit}.xlsx")
        check_file(path, 30 * 1024 * 1024, 400 * 1024 * 1024)
        parsed = read_return(path)
        assert list(parsed.findings) == []
        f = FACTOR[unit]
        assert parsed.hospital_code == draft.hospital_code and parsed.period == draft.period
        assert parsed.unit == unit
        for sheet, values, cols in (("表1", draft.t1, ("month", "ytd")), ("表2", draft.t2, ("end", "begin"))):
            for code, pair in values.items():
                for col, x in zip(cols, pair):
                    assert parsed.value(sheet, code, col) == Decimal(x) * f
        assert parsed.value("表3", "W401", "month") == draft.t3["W401"]
        assert parsed.value("表3", "W402", "month") == Decimal(draft.t3["W402"]) * f
        assert len(parsed.items) == len(draft.items)
        assert sum(i.amount for i in parsed.items) == sum(Decimal(a) for *_, a in draft.items) * f
        assert [x.values["balance"] for x in parsed.debts] == [Decimal(x["balance"]) * f for x in draft.debts]


def test_a_hospital_outside_the_demo_list_gets_plausible_returns():
    """The sample hospital (shared/samples/registry.xlsx) is not a demo hospital: it still gets
    a full, valid series, in its reporting unit, following the healthy story."""
    sample = {"机构代码": "12511102450767890E", "机构名称": "乐山市嘉州医院", "等级": "三级乙等",
              "类别": "综合医院", "隶属": "市属", "行政区划代码": "511102", "经度": 103.766, "纬度": 29.552,
              "编制床位": 900}
    assert demo.demo_story(sample["机构代码"]) == "healthy"
    series = list(demo_returns([sample], first="2026-01", last="2026-10"))
    assert [d.period for d, _ in series] == periods_between("2026-01", "2026-10")
    months = {d.period: _in_yuan(d, at) for d, at in series}
    for period, r in months.items():
        t1 = r["t1"]
        _eq(t1["R100"][0], t1["R110"][0] + t1["R120"][0] + t1["R130"][0] + t1["R140"][0])
        _eq(r["t2"]["A100"][0], r["t2"]["L200"][0] + r["t2"]["N300"][0])
    assert _rate(_indicators(months, "2026-10"))["overall"] == "green"
