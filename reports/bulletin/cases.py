"""The bulletin's 风险处置 section: cases opened, overdue and closed (销号) in the month.

`section` computes it for `content.compose` from etl.cases.listing (the function behind the
cases page, province scope), so the bulletin and the page agree; `blocks` lays it out for
`layout`. Snapshots written before this section have no "cases" key and draw without it.
"""
from __future__ import annotations

from collections import Counter

import psycopg

from etl.cases.listing import STATE_NAMES, cases
from etl.ratings.overview import DOMAIN_NAMES
from etl.reference.scope import Scope
from reports.exports.cases import overdue_words

SHOWN = 30      # hospitals listed per table; the sentence gives the full count


def section(conn: psycopg.Connection, period: str, scope: Scope | None = None) -> dict:
    """Cases in hand during `period` by state, and the lists: opened this month, overdue
    (as of today), closed this month; of the hospitals in `scope` (the province by default,
    a prefecture's bulletin its own)."""
    rows = cases(conn, scope or Scope.province(), period=period)

    def ref(r: dict) -> dict:
        return {"name": r["hospital_name"], "prefecture": r["prefecture_name"] or "", "domain": DOMAIN_NAMES[r["domain"]],
                "opened": r["opened_period"], "state": r["state_name"], "reason": overdue_words(r)}

    in_hand = [r for r in rows if r["state"] != "closed"]
    by_state = Counter(r["state"] for r in in_hand)
    return {"in_hand": len(in_hand),
            "by_state": [{"state": STATE_NAMES[s], "count": by_state[s]} for s in STATE_NAMES if by_state.get(s)],
            "new": [ref(r) for r in rows if r["opened_period"] == period],
            "overdue": [ref(r) for r in in_hand if r["overdue"]],
            "closed": [ref(r) for r in rows if r["closed_period"] == period]}


def blocks(c: dict) -> list[dict]:
    s = c["cases"]
    states = "、".join(f"{x['state']}{x['count']}个" for x in s["by_state"])
    out = [{"kind": "para", "text":
            f"本月在办风险处置事项{s['in_hand']}个{'（' + states + '）' if states else ''}；"
            f"本月新立案{len(s['new'])}个，逾期{len(s['overdue'])}个，销号{len(s['closed'])}个。"
            "某一风险领域评为红色即立案督办，医院提交成因分析和整改方案，连续数月不为红色并经审核后销号。"}]
    for title, items, last in (("本月新立案", s["new"], ("立案月份", "opened")),
                               ("逾期事项", s["overdue"], ("逾期情况", "reason")),
                               ("本月销号", s["closed"], ("立案月份", "opened"))):
        if not items:
            continue
        more = f"（共{len(items)}个，列前{SHOWN}个）" if len(items) > SHOWN else ""
        out.append({"kind": "para", "text": f"{title}{len(items)}个{more}："})
        out.append({"kind": "table", "columns": ["序号", "医院", "地区", "风险领域", "状态", last[0]],
                    "rows": [[i + 1, h["name"], h["prefecture"], h["domain"], h["state"], h[last[1]]]
                             for i, h in enumerate(items[:SHOWN])],
                    "widths": [1, 5, 2.5, 2, 2, 4.5]})
    return out
