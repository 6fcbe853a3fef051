"""Long tables on pages: filter, sort and export to .xlsx, one way for every page.

A page wraps its table in the `long_table` macro (templates/_table.html), which adds the
filter box, the row count and the export link, and loads static/tables.js (sorting by any
column, filtering on each row's `data-text`, keeping the export link's ?q= in step). The
view describes the table once as Chinese headers and rows of plain values (the `*_table`
functions here); the same rows give each <tr> its data-text (`row_text`) and, when the page
is asked with ?export=<table name>, the workbook — from the view's own scoped query, with the
filter text ?q= applied as on the page.
"""
from __future__ import annotations

from io import BytesIO

from flask import request, send_file

from reports.exports import tables

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLOURS = {"red": "红色", "yellow": "黄色", "green": "绿色", "missing": "未上报", "n/a": "无法计算"}
DOMAINS = {"deficit": "收不抵支", "debt": "长期债务", "wages": "拖欠薪酬"}


# The colours in order of severity (tables.js sorts a column of badges the same way).
SEVERITY = {"red": 1, "yellow": 2, "green": 3, "n/a": 4, "missing": 5}


def init_app(app) -> None:
    app.jinja_env.filters.setdefault("row_text", tables.row_text)



def wanted(name: str) -> bool:
    """Whether this request asks for table `name` as a workbook (?export=name)."""
    return request.args.get("export") == name


def send(title: str, headers: list[str], rows: list[list], download_name: str):
    """The rows the page's filter (?q=) keeps, in the order its sorted column (?sort=<the
    column's header>, &desc=1) gives them, as an .xlsx download."""
    rows = tables.filtered(rows, request.args.get("q"))
    rows = tables.sorted_rows(rows, tables.column_for(headers, request.args.get("sort")),
                              request.args.get("desc") == "1")
    data = tables.xlsx_bytes(title, headers, rows)
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=download_name)


def place(r: dict) -> str:
    """Prefecture and county as the rating tables show them."""
    text = r.get("prefecture_name") or ""
    if r.get("region_name") and r["region_name"] != r.get("prefecture_name"):
        text = f"{text} {r['region_name']}".strip()
    return text


def ratings_table(rows: list[dict], *, filing: bool = False) -> tuple[list[str], list[list]]:
    """The overview's and region pages' table: a hospital per row, its colours and why."""
    headers = ["医疗机构", "机构代码", "地区", "等级", "总体评级", "暂定"]
    for name in DOMAINS.values():
        headers += [name, f"{name}说明"]
    if filing:
        headers += ["报表版本", "逾期"]
    out = []
    for r in rows:
        values = [r["name"], r["code"], place(r), r["level"], COLOURS.get(r["rating"], r["rating"]),
                  "是" if r.get("provisional") else ""]
        for d in DOMAINS:
            values += [COLOURS.get(r[d], r[d]), "；".join(r["domain_drivers"][d])]
        if filing:
            values += [f"第{r['version']}版" if r.get("version") else "未上报", "逾期" if r.get("late") else ""]
        out.append(values)
    return headers, out
