"""The simulation as an Excel workbook: summary, categories, hospitals, items that moved."""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from etl.attribution.simulation import Comparison
from etl.common.tabular import neutralise

SYSTEMS = {"subject": "会计科目", "receipt": "票据分类"}
SETTINGS = {"outpatient": "门诊", "inpatient": "住院"}
HEAD = Font(bold=True)
MOVED = PatternFill("solid", fgColor="FFF3CD")
SHARE, POINTS, YUAN = "0.00%", '0.00" 个百分点"', "#,##0.00"
SUMMARY_FORMATS = {"医疗收入合计（元）": YUAN, "医疗服务收入占比 A": SHARE, "医疗服务收入占比 B": SHARE,
                   "变动（百分点）": POINTS, "未归集占比 A": SHARE, "未归集占比 B": SHARE}


def _sheet(wb, title, header, rows, widths=None):
    ws = wb.create_sheet(title)
    ws.append(header)
    for cell in ws[1]:
        cell.font = HEAD
    for row in rows:
        ws.append([neutralise(v) for v in row])
    for i, width in enumerate(widths or [], start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = width
    ws.freeze_panes = "A2"
    return ws


def write(result: Comparison, path):
    """Save to `path` (a file name, or a binary file object)."""
    wb = Workbook()
    wb.remove(wb.active)
    t = result.totals
    summary = _sheet(wb, "汇总", ["项目", "内容"], [
        ("版本A", f"{result.a['name']}（自 {result.a['effective_from']} 起）"),
        ("版本B", f"{result.b['name']}（自 {result.b['effective_from']} 起）"),
        ("期间", f"{result.first} 至 {result.last}"),
        ("医疗收入合计（元）", t.get("r110")),
        ("医疗服务收入占比 A", t.get("share_a")), ("医疗服务收入占比 B", t.get("share_b")),
        ("变动（百分点）", t.get("points")),
        ("未归集占比 A", t.get("unattributed_a")), ("未归集占比 B", t.get("unattributed_b")),
        (f"变动超过 {result.threshold_points} 个百分点的医院数", len(result.movers)),
        ("口径变动项目数", len(result.items)),
    ], [34, 40])
    # Formats follow each row's label, not its position: shares are fractions shown as %,
    # the change is already in percentage points.
    for label, value in summary.iter_rows(min_row=2, max_col=2):
        if label.value in SUMMARY_FORMATS:
            value.number_format = SUMMARY_FORMATS[label.value]
    _sheet(wb, "分类对比", ["分类体系", "分类", "版本A金额（元）", "版本B金额（元）", "差额（元）"],
           [(SYSTEMS[c["system"]], c["category"], c["a"], c["b"], c["diff"]) for c in result.categories],
           [12, 16, 18, 18, 18])
    ws = _sheet(wb, "医院对比", ["机构代码", "机构名称", "医疗收入（元）", "服务收入占比A", "服务收入占比B",
                               "变动（百分点）", "未归集占比A", "未归集占比B", "涉及变动项目收入（元）", "变动项目"],
                [(h["code"], h["name"], h["r110"], h["share_a"], h["share_b"], h["points"], h["unattributed_a"],
                  h["unattributed_b"], h["moved_revenue"], "、".join(h["moved_items"][:20])) for h in result.hospitals],
                [22, 24, 18, 14, 14, 14, 12, 12, 20, 40])
    mover_codes = {h["code"] for h in result.movers}
    for row in ws.iter_rows(min_row=2):
        for cell in row[3:8]:
            cell.number_format = SHARE if cell.column != 6 else POINTS
        if row[0].value in mover_codes:
            for cell in row:
                cell.fill = MOVED
    _sheet(wb, "变动项目", ["价格项目编码", "项目名称", "门诊/住院", "会计科目A", "会计科目B", "票据分类A", "票据分类B",
                          "涉及金额（元）", "涉及医院数"],
           [(i["price_code"], i["name"], SETTINGS[i["setting"]], i["subject_a"], i["subject_b"], i["receipt_a"],
             i["receipt_b"], i["amount"], i["hospitals"]) for i in result.items],
           [14, 22, 10, 12, 12, 12, 12, 18, 12])
    if isinstance(path, (str, Path)):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
