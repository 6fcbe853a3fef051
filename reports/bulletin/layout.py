"""The bulletin laid out once as a list of blocks, which the Word, PDF and web renderers draw.

A block is a dict with a `kind`: heading (level, text), para (text), note (text), image
(name, caption), table (columns, rows, widths: relative column widths; a cell is a string
or {"text", "colour"}), bullets (items). Nothing here computes a number: it only arranges
what reports.bulletin.content.compose wrote.

Archived snapshots are drawn in the format they were written in (`content["format"]`, none:
1): `blocks` picks the layout for that format, so a bulletin published last year still
shows as it was sent after the content changes. A new format adds a layout to LAYOUTS and
keeps the old ones.
"""
from __future__ import annotations

from etl.common.errors import HemonError
from reports.bulletin import early_warning
from reports.bulletin.cases import blocks as case_blocks
from reports.bulletin.text import COLOURS, share

COLOUR_NAMES = {"red": "红色", "yellow": "黄色", "green": "绿色", "missing": "未上报", "n/a": "无法计算"}
NUMERALS = "一二三四五六七八九十"
MOVES = (("newly_red", "新转红色"), ("newly_yellow", "新转黄色"), ("improved", "评级好转（解除或降低预警）"),
         ("stayed_red", "连续3个月及以上为红色"))


def badge(colour: str) -> dict:
    return {"text": COLOUR_NAMES.get(colour, colour), "colour": colour}


def blocks(c: dict) -> list[dict]:
    """The blocks of a bulletin's content, in the layout of the format it was written in."""
    layout = LAYOUTS.get(c.get("format", 1))
    if layout is None:
        raise HemonError(f"月报数据格式 {c.get('format')} 无法显示：请升级平台后再查看")
    return layout(c)


def _blocks_v1(c: dict) -> list[dict]:
    out: list[dict] = []
    sections = [("总体情况", _overview), ("红黄绿分布", _distribution)]
    sections += [(f"{d['name']}风险", lambda c, d=d: _domain(c, d)) for d in c["domains"]]
    if c.get("early_warning"):     # an optional section: snapshots without it draw as before
        sections.append(("事前预警", early_warning.blocks))
    if c.get("cases") is not None:      # snapshots before the cases section have none
        sections.append(("风险处置", case_blocks))
    sections += [("归集口径执行情况", _attribution), ("填报质量", _quality)]
    if c.get("demo"):
        out.append({"kind": "note", "text": "演示数据：医院名称与数据均为虚构，区划为真实区划。"})
    for i, (title, section) in enumerate(sections):
        out.append({"kind": "heading", "level": 1, "text": f"{NUMERALS[i]}、{title}"})
        out.extend(section(c))
    out.append({"kind": "heading", "level": 1, "text": "附表  各医院评级结果", "page_break": True})
    out.extend(_appendix(c))
    figures = [b for b in out if b["kind"] == "image"]
    for i, b in enumerate(figures, 1):
        b["caption"] = f"图{i}  {b['caption']}"
    return out


def _area(c) -> str:
    """全省, or 全市 / 全州 in a prefecture's bulletin (snapshots before it have no `area`)."""
    return c.get("area", "全省")


def _group(c) -> str:
    """What the by-area tables group by: 市（州）, or 县（市、区） in a prefecture's bulletin."""
    return c.get("group_label", "市（州）")


def _overview(c):
    out = [{"kind": "para", "text": s} for s in c["summary"]]
    out.append({"kind": "image", "name": "trend-overall.png", "caption": f"近13个月{_area(c)}医院总体评级"})
    return out


def _counts_row(label, counts, total):
    return [label] + [f"{counts[k]}（{share(counts[k], total)}）" if counts else "—" for k in COLOURS]


def _distribution(c):
    n = c["counts"]
    rows = [_counts_row("本月", n, n["total"])]
    for label, key in (("上月", "previous_counts"), ("上年同月", "last_year_counts")):
        other = c[key]
        rows.append(_counts_row(label, other, other["total"]) if other else [label, "—", "—", "—", "—"])
    out = [{"kind": "para", "text": f"按总体评级（三类风险中最重的颜色）统计，{_area(c)}{n['total']}家医院分布如下。"},
           {"kind": "table", "columns": ["", "红色", "黄色", "绿色", "未上报"], "rows": rows, "widths": [2, 3, 3, 3, 3]},
           {"kind": "image", "name": "map.png", "caption": f"{_area(c)}医院评级分布图"},
           {"kind": "heading", "level": 2, "text": "（一）分地区"},
           {"kind": "table", "columns": [_group(c), "医院数", "红色", "黄色", "绿色", "未上报", "红黄占比"],
            "rows": [[g["name"], g["total"], g["red"], g["yellow"], g["green"], g["missing"], g["red_yellow_share"]]
                     for g in c["by_prefecture"]], "widths": [4, 2, 2, 2, 2, 2, 2]},
           {"kind": "image", "name": "prefectures.png", "caption": f"各{_group(c)}评级构成"},
           {"kind": "heading", "level": 2, "text": "（二）分等级"},
           {"kind": "table", "columns": ["医院等级", "医院数", "红色", "黄色", "绿色", "未上报", "红黄占比"],
            "rows": [[g["name"], g["total"], g["red"], g["yellow"], g["green"], g["missing"], g["red_yellow_share"]]
                     for g in c["by_level"]], "widths": [4, 2, 2, 2, 2, 2, 2]},
           {"kind": "heading", "level": 2, "text": "（三）本月变化"}]
    for key, title in MOVES:
        items = c["movements"][key]
        if not items:
            out.append({"kind": "para", "text": f"{title}：无。"})
            continue
        def who(m, key=key):
            extra = (f"，{m['red_months']}个月" if key == "stayed_red" else
                     f"，{COLOUR_NAMES[m['previous']]}→{COLOUR_NAMES[m['rating']]}" if key == "improved" else "")
            return f"{m['name']}（{m['prefecture']}{extra}）"
        out.append({"kind": "para", "text": f"{title}{len(items)}家：" + "、".join(who(m) for m in items) + "。"})
    return out


def _domain(c, d):
    out = [{"kind": "para", "text": d["sentence"]},
           {"kind": "table", "columns": ["指标", "黄色阈值", "红色阈值", f"{_area(c)}中位数", "可计算", "红色", "黄色"],
            "rows": [[i["label"], i["yellow_rule"], i["red_rule"], i["median"], i["computed"], i["red"], i["yellow"]]
                     for i in d["indicators"]], "widths": [5, 2.5, 2.5, 3, 2, 1.5, 1.5]}]
    if d["concern"]:
        more = f"（共{d['concern_total']}家，列前{len(d['concern'])}家）" if d["concern_total"] > len(d["concern"]) else ""
        out.append({"kind": "para", "text": f"需重点关注的医院{more}，红色在前，按{d['key_label']}排序："})
        out.append({"kind": "table", "columns": ["序号", "医院", "地区", "评级", d["key_label"], "预警原因"],
                    "rows": [[i + 1, h["name"], h["prefecture"], badge(h["colour"]), h["key_value"], "；".join(h["drivers"])]
                             for i, h in enumerate(d["concern"])], "widths": [1, 5, 2, 1.5, 2.5, 7]})
    out.append({"kind": "image", "name": f"trend-{d['key']}.png", "caption": f"{d['name']}评级近13个月变化"})
    return out


def _attribution(c):
    a = c["attribution"]
    if not a["returns"]:
        return [{"kind": "para", "text": "本月尚无已报送的报表，无归集结果。"}]
    out = [{"kind": "para", "text":
            f"本月执行归集口径映射版本“{a['version'] or '无'}”。{a['returns']}份报表的医疗服务项目收入合计{a['revenue']}，"
            f"其中未归集{a['unattributed']}，占{a['unattributed_share']}，涉及{a['hospitals_with_unattributed']}家医院。"}]
    if a["top_unattributed"]:
        out.append({"kind": "table", "columns": ["医院", "地区", "未归集金额（万元）", "占本院表5收入"],
                    "rows": [[h["name"], h["prefecture"], h["amount"], h["share"]] for h in a["top_unattributed"]],
                    "widths": [6, 3, 3, 3]})
    if a["problems"]:
        out.append({"kind": "para", "text": f"归集结果与表1不一致（相差超过1元）的有{len(a['problems'])}项，请相关医院核实："})
        out.append({"kind": "table", "columns": ["医院", "核对项目", "表1填报（万元）", "归集结果（万元）", "差额（万元）"],
                    "rows": [[p["name"], p["line"], p["declared"], p["attributed"], p["difference"]] for p in a["problems"]],
                    "widths": [5, 5, 2.5, 2.5, 2]})
    else:
        out.append({"kind": "para", "text": "各医院归集结果与表1门急诊收入、住院收入及药品和卫生材料收入核对一致。"})
    return out


def _quality(c):
    q, f = c["quality"], c["filing"]
    out = [{"kind": "para", "text":
            f"本月应报{f['hospitals']}家，按时报送{f['on_time']}家，逾期报送{len(q['late'])}家，未报送{len(q['missing'])}家；"
            f"已审核通过{q['accepted']}家，待审核{q['awaiting']}家，退回修改{len(q['returned'])}份；"
            f"数据质量提示{q['quality_notices']}条。"}]
    for title, items in (("逾期报送", [f"{h['name']}（{h['first_at']}）" for h in q["late"]]),
                         ("未报送", [h["name"] for h in q["missing"]]),
                         ("退回修改", [f"{h['name']}（第{h['version']}版{'：' + h['comment'] if h['comment'] else ''}）"
                                      for h in q["returned"]])):
        if items:
            out.append({"kind": "para", "text": f"{title}：" + "、".join(items) + "。"})
    out.append({"kind": "table", "columns": [_group(c), "应报", "按时", "逾期", "未报", "完整率"],
                "rows": [[g["name"], g["hospitals"], g["on_time"], g["late"], g["missing"], g["completeness"]]
                         for g in q["by_prefecture"]], "widths": [4, 2, 2, 2, 2, 2]})
    return out


def _appendix(c):
    return [{"kind": "table", "columns": ["序号", "医院", "地区", "等级", "总体", "收不抵支", "长期债务", "拖欠薪酬", "备注"],
             "rows": [[i + 1, r["name"], r["prefecture"], r["level"], badge(r["rating"]), badge(r["deficit"]),
                       badge(r["debt"]), badge(r["wages"]), "暂定" if r["provisional"] else ""]
                      for i, r in enumerate(c["appendix"])],
             "widths": [1.1, 5.6, 3.2, 2.1, 1.5, 1.7, 1.7, 1.7, 1.2], "small": True,
             "id": "appendix"}]      # the web page groups this one by prefecture (app/bulletins.py)


LAYOUTS = {1: _blocks_v1}
