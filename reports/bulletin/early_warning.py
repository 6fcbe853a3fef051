"""The bulletin's early-warning section (事前预警): present only when the province has turned it
on and the backtest precision of the list at the chosen horizon reaches the province's minimum
(etl.warning.settings.gate); otherwise `section` gives None and the bulletin has no such
section. The snapshot keeps the list and the precision it was published with."""
from __future__ import annotations

import psycopg

from etl.ratings.overview import COLOUR_NAMES
from etl.reference.scope import Scope
from etl.warning import backtest, forecast, settings

LIMIT = 30          # warnings listed; the sentence gives the total


def _pct(value) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def section(conn: psycopg.Connection, period: str, scope: Scope | None = None) -> dict | None:
    """The section's content for the hospitals in `scope` (the province by default; a
    prefecture's bulletin lists its own), or None when it is off or below the precision set."""
    if not settings.current(conn)["bulletin"]:      # off: not even the backtest is run
        return None
    result = backtest.cached(conn, store=False)
    gate = settings.gate(conn, result)
    if not gate["open"]:
        return None
    h = gate["horizon"]
    quality = backtest.row(result, h)
    items = forecast.warnings(conn, period, scope or Scope.province(), horizon=h)
    red = sum(1 for w in items if w["colour"] == "red")
    sentence = (f"按各医院自身近6个月趋势（有上年同期数据时计入季节变化）推算，预计未来{h}个月内可能转为红色或黄色的"
                f"医院风险领域共{len(items)}项（转为红色{red}项、黄色{len(items) - red}项）。" if items else
                f"按各医院自身近6个月趋势推算，未来{h}个月内没有预计将转为红色或黄色的医院。")
    sentence += (f"该预警经{result['first']}至{result['last']}的历史回测，{h}个月预警名单精确率{_pct(quality['precision'])}、"
                 f"召回率{_pct(quality['recall'])}（省级设定的最低精确率为{_pct(gate['min_precision'])}）；"
                 "推算仅供研判，不是评级结果。")
    return {"horizon": h, "precision": quality["precision"], "recall": quality["recall"],
            "min_precision": str(gate["min_precision"]), "first": result["first"], "last": result["last"],
            "total": len(items), "red": red, "sentence": sentence,
            "items": [{"code": w["hospital"], "name": w["hospital_name"], "prefecture": w["prefecture"],
                       "domain": w["domain_name"], "now": w["now"], "colour": w["colour"],
                       "months_ahead": w["months_ahead"], "reason": w["reason"]} for w in items[:LIMIT]]}


def blocks(c: dict) -> list[dict]:
    """The section laid out (reports.bulletin.layout draws it when the content has it)."""
    e = c["early_warning"]
    out = [{"kind": "para", "text": e["sentence"]}]
    if e["items"]:
        more = f"（共{e['total']}项，列前{len(e['items'])}项）" if e["total"] > len(e["items"]) else ""
        out.append({"kind": "para", "text": f"预警名单{more}，红色在前："})
        out.append({"kind": "table", "columns": ["序号", "医院", "地区", "领域", "当前", "预计", "时间", "预警原因"],
                    "rows": [[i + 1, w["name"], w["prefecture"], w["domain"],
                              {"text": COLOUR_NAMES[w["now"]], "colour": w["now"]},
                              {"text": COLOUR_NAMES[w["colour"]], "colour": w["colour"]},
                              f"{w['months_ahead']}个月后", w["reason"]] for i, w in enumerate(e["items"])],
                    "widths": [1, 4.5, 2, 2, 1.3, 1.3, 1.7, 8]})
    return out

