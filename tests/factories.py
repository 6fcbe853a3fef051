"""Small factories: registry rows, consistent returns, workbooks written in code (a helper module
shared by the test folders, not a test module)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from etl.common.codes import with_check_char
from etl.common.tabular import write_table
from etl.reference.registry import COLUMNS as REGISTRY_COLUMNS
from etl.returns import contract as rf
from etl.returns.drafts import ReturnDraft, write_return


def hospital_code(n: int, county: str = "511102") -> str:
    return with_check_char(f"12{county}{n:08d}A"[:17])


def hospital_row(n: int, county: str = "511102", **over) -> dict:
    row = {"机构代码": hospital_code(n, county), "机构名称": f"测试康宁医院{n}", "等级": "二级甲等",
           "类别": "综合医院", "隶属": "县属", "行政区划代码": county, "经度": 103.76, "纬度": 29.55,
           "编制床位": 300}
    row.update(over)
    return row


def write_registry(path: Path, rows) -> Path:
    return write_table(path, REGISTRY_COLUMNS, rows, "医疗机构")


def draft(code: str, period: str = "2026-10", name: str = "测试康宁医院1", *, surplus: int = 150_000,
          months_in_year: int | None = None, arrears: int = 0, arrears_since: str | None = None,
          overdue: int = 0, unit: str = "元") -> ReturnDraft:
    """A return that passes every rule, amounts in yuan; `surplus` is S300 本月 (may be < 0).

    YTD is this month times the months elapsed in the year, so consecutive drafts of one
    hospital chain correctly (本年累计数 = previous + 本月数).
    """
    m = months_in_year or int(period[5:7])
    items = [("110100001", "挂号费", "门诊", 1000, 400_000), ("250101001", "血常规", "门诊", 2000, 1_600_000),
             ("YP01", "西药", "门诊", 1, 4_000_000), ("120100001", "普通病房床位费", "住院", 500, 1_000_000),
             ("330100001", "全身麻醉", "住院", 100, 2_000_000), ("YP01", "西药", "住院", 1, 5_000_000),
             ("HC01", "卫生材料", "住院", 1, 2_000_000)]
    r111 = sum(a for _, _, s, _, a in items if s == "门诊")
    r112 = sum(a for _, _, s, _, a in items if s == "住院")
    r110 = r111 + r112
    r121, r122, r130, r140 = 1_500_000, 500_000, 100_000, 200_000
    r100 = r110 + r121 + r122 + r130 + r140
    e220, e230 = 1_500_000, 300_000
    e200 = r100 - surplus
    e210 = e200 - e220 - e230
    t1m = {"R100": r100, "R110": r110, "R111": r111, "R112": r112, "R113": 9_000_000, "R114": 2_000_000,
           "R120": r121 + r122, "R121": r121, "R122": r122, "R130": r130, "R140": r140,
           "E200": e200, "E210": e210, "E220": e220, "E230": e230, "E240": 5_000_000,
           "E241": 8_000_000, "E242": 1_800_000, "E243": 100_000, "S300": surplus}
    l221, l222 = 50_000_000, 5_000_000
    a101, a102, a103, a104 = 30_000_000, 20_000_000, 2_000_000, 8_000_000
    a110 = a101 + a102 + a103 + a104
    a120, a130 = 150_000_000, 10_000_000
    a100 = a110 + a120 + a130
    l201, l202, l203, l204 = 10_000_000, 20_000_000, 5_000_000, 3_000_000
    l210 = l201 + l202 + l203 + l204
    l220 = l221 + l222
    l200 = l210 + l220
    t2 = {"A101": a101, "A102": a102, "A103": a103, "A104": a104, "A110": a110, "A120": a120,
          "A130": a130, "A100": a100, "L201": l201, "L202": l202, "L203": l203, "L204": l204,
          "L210": l210, "L221": l221, "L222": l222, "L220": l220, "L200": l200, "N300": a100 - l200}
    factor = {"元": 1, "千元": 1000, "万元": 10000}[unit]
    conv = lambda v: Decimal(v) / factor
    d = ReturnDraft(code, name, period, unit=unit, filled_by="王会计", phone="028-86001234",
                    filled_on=dt.date(2026, 11, 5))
    d.t1 = {k: (conv(v), conv(v * m)) for k, v in t1m.items()}
    d.t2 = {k: (conv(v), conv(v)) for k, v in t2.items()}
    d.t3 = {"W401": 400, "W402": conv(4_000_000), "W403": conv(4_000_000 - arrears if arrears else 4_000_000),
            "W404": conv(arrears), "W405": conv(0), "W406": 50 if arrears else 0,
            "W407": (arrears_since or period) if arrears else None}
    d.debts = [{"debt_no": "L-1", "creditor": "某银行", "debt_type": "银行贷款", "purpose": "基本建设",
                "borrowed_on": dt.date(2020, 1, 1), "due_on": dt.date(2035, 1, 1),
                "contract_amount": conv(80_000_000), "balance": conv(l221 + l222),
                "principal_repaid": conv(100_000), "interest_paid": conv(50_000),
                "overdue": "是" if overdue else "否", "overdue_amount": conv(overdue)}]
    d.items = [(c, n, s, q, conv(a)) for c, n, s, q, a in items]
    return d


MAPPING_COLUMNS = ("价格项目编码", "价格项目名称", "国家项目编码", "票据分类", "会计科目分类", "病案首页分类")
MAPPING_ROWS = [
    ("110100001", "挂号费", "AAAA0001", "挂号费", "挂号", "其他费用"),
    ("250101001", "血常规", "GAAA0001", "化验费", "化验", "实验室诊断费"),
    ("120100001", "普通病房床位费", "AAAC0001", "床位费", "床位", "一般医疗服务费"),
    ("330100001", "全身麻醉", "KAAA0001", "手术费", "手术", "麻醉费"),
    ("YP01", "西药", None, "西药费", "西药", "西药费"),
    ("HC01", "卫生材料", None, "卫生材料费", "卫生材料", "治疗用一次性医用材料费"),
]


def write_mapping(path: Path, rows=MAPPING_ROWS) -> Path:
    return write_table(path, MAPPING_COLUMNS, rows, "归集口径")


def write_draft(tmp_path: Path, d: ReturnDraft, name: str | None = None) -> Path:
    return write_return(d, tmp_path / (name or f"{d.hospital_code}-{d.period}.xlsx"))


def fill_template(path: Path, d, *, keep_formulas: bool = False) -> Path:
    """Fill a downloaded blank with draft `d` as a program would (openpyxl, no Excel)."""
    wb = load_workbook(path)
    cover = wb[rf.SHEETS["封面"]]
    for row in cover.iter_rows(min_col=1, max_col=2):
        label, value = row[0].value, d.cover_values().get(row[0].value)
        if label in ("金额单位", "填报人", "联系电话", "填报日期"):
            row[1].value = value
    for key, values in (("表1", d.t1), ("表2", d.t2), ("表3", d.t3)):
        ws = wb[rf.SHEETS[key]]
        for row in ws.iter_rows(min_row=2):
            code = row[1].value
            if code not in values:
                continue
            v = values[code]
            cells = list(v) if isinstance(v, (tuple, list)) else [v]
            for cell, value in zip(row[2:], cells):
                if keep_formulas and isinstance(cell.value, str) and cell.value.startswith("="):
                    continue
                cell.value = value
    debts = wb[rf.SHEETS["表4"]]
    for debt in d.debts:
        debts.append([debt.get(key) for key, _ in rf.DEBT_COLUMNS])
    items = wb[rf.SHEETS["表5"]]
    for item in d.items:
        items.append(list(item))
    wb.save(path)
    return path


# --- early warning: histories written as scoring would have written them --------------------
CASH_DAYS_SPEC = {"cash_days": {"domain": "debt", "label": "现金可支付天数", "yellow": ["<", "60"], "red": ["<", "30"]}}


def cash_days_colour(value) -> str:
    """The debt colour of a hospital whose only debt indicator is cash days (<60 yellow, <30 red)."""
    return "red" if value < 30 else "yellow" if value < 60 else "green"


def rated_history(conn, series: dict[str, list], first: str = "2026-01", county: str = "511102") -> list[str]:
    """Hospitals (code -> cash days per month from `first`; None: no return that month) with
    their indicator values and ratings inserted directly, under a threshold version holding
    CASH_DAYS_SPEC only (deficit and wages n/a). Returns the periods written."""
    import json

    from etl.common.codes import shift_period
    body = json.dumps({"version": "forecast-test", "indicators": CASH_DAYS_SPEC})
    conn.execute("""INSERT INTO threshold_version (name, body, body_sha256, source)
                    VALUES ('forecast-test', %s::jsonb, md5(%s), 'file') ON CONFLICT (body_sha256) DO NOTHING""",
                 (body, body))
    version = conn.execute("SELECT id FROM threshold_version WHERE body_sha256 = md5(%s)", (body,)).fetchone()["id"]
    months = max(len(v) for v in series.values())
    periods = [shift_period(first, i) for i in range(months)]
    for n, (code, values) in enumerate(series.items(), 1):
        conn.execute("""INSERT INTO hospital (code, name, level, category, affiliation, region_code)
                        VALUES (%s, %s, '二级甲等', '综合医院', '县属', %s) ON CONFLICT (code) DO NOTHING""",
                     (code, f"测试预警医院{n}", county))
        for period, value in zip(periods, values):
            if value is None:
                conn.execute("""INSERT INTO rating (hospital_code, period, rating, deficit, debt, wages, provisional,
                                threshold_version_id) VALUES (%s, %s, 'missing', 'missing', 'missing', 'missing',
                                false, %s)""", (code, period, version))
                continue
            colour = cash_days_colour(value)
            conn.execute("""INSERT INTO scorecard (hospital_code, period, return_id, indicator, value, rating)
                            VALUES (%s, %s, 0, '{cash_days}', ARRAY[%s::numeric], ARRAY[%s])""",
                         (code, period, Decimal(str(value)), colour))
            conn.execute("""INSERT INTO rating (hospital_code, period, rating, deficit, debt, wages, provisional,
                            threshold_version_id) VALUES (%s, %s, %s, 'n/a', %s, 'n/a', false, %s)""",
                         (code, period, colour, colour, version))
    return periods
