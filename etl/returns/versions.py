"""What changed between two versions of a return, cell by cell."""
from __future__ import annotations

import psycopg

from etl.ratings.indicators import COLUMN_NAMES
from etl.returns.contract import SETTING_LABELS, TABLE_ITEMS

NAMES = {code: name for items in TABLE_ITEMS.values() for code, name in items}


def diff(conn: psycopg.Connection, old_id: int, new_id: int) -> dict:
    """Changed 表1–表3 cells, changed/added/removed 表5 items and 表4 debts (old → new)."""
    cells = conn.execute(
        """SELECT coalesce(n.sheet, o.sheet) AS sheet, coalesce(n.item_code, o.item_code) AS code,
                  coalesce(n.column_name, o.column_name) AS column_name, o.cell AS old_cell, n.cell AS new_cell,
                  o.amount AS old, n.amount AS new, o.text_value AS old_text, n.text_value AS new_text
           FROM (SELECT * FROM return_value WHERE return_id = %(old)s) o
           FULL JOIN (SELECT * FROM return_value WHERE return_id = %(new)s) n
             ON n.item_code = o.item_code AND n.column_name = o.column_name
           WHERE o.amount IS DISTINCT FROM n.amount OR o.text_value IS DISTINCT FROM n.text_value
           ORDER BY 1, 2, 3""", {"old": old_id, "new": new_id}).fetchall()
    for c in cells:
        c["name"] = NAMES.get(c["code"], c["code"])
        c["column"] = COLUMN_NAMES.get(c["column_name"], c["column_name"])
    items = conn.execute(
        """WITH o AS (SELECT price_code, setting, sum(amount) AS amount, min(item_name) AS name
                      FROM return_item WHERE return_id = %(old)s GROUP BY 1, 2),
                n AS (SELECT price_code, setting, sum(amount) AS amount, min(item_name) AS name,
                             min(row_number) AS row_number
                      FROM return_item WHERE return_id = %(new)s GROUP BY 1, 2)
           SELECT coalesce(n.price_code, o.price_code) AS price_code, coalesce(n.setting, o.setting) AS setting,
                  coalesce(n.name, o.name) AS name, o.amount AS old, n.amount AS new, n.row_number
           FROM o FULL JOIN n ON n.price_code = o.price_code AND n.setting = o.setting
           WHERE o.amount IS DISTINCT FROM n.amount
           ORDER BY abs(coalesce(n.amount, 0) - coalesce(o.amount, 0)) DESC, 1, 2""",
        {"old": old_id, "new": new_id}).fetchall()
    for i in items:
        i["setting_label"] = SETTING_LABELS[i["setting"]]
    debts = conn.execute(
        """WITH o AS (SELECT * FROM return_debt WHERE return_id = %(old)s),
                n AS (SELECT * FROM return_debt WHERE return_id = %(new)s)
           SELECT coalesce(n.debt_no, o.debt_no) AS debt_no, o.balance AS old_balance, n.balance AS new_balance,
                  o.overdue_amount AS old_overdue, n.overdue_amount AS new_overdue, n.row_number
           FROM o FULL JOIN n ON n.debt_no = o.debt_no
           WHERE o.balance IS DISTINCT FROM n.balance OR o.overdue_amount IS DISTINCT FROM n.overdue_amount
           ORDER BY 1""", {"old": old_id, "new": new_id}).fetchall()
    return {"cells": cells, "price_items": items, "debts": debts}


def figures(conn: psycopg.Connection, return_id: int) -> dict[str, list[dict]]:
    """表1–表3 as the hospital sent them (in yuan), row by row with the cells they came from."""
    out: dict[str, dict[str, dict]] = {}
    for r in conn.execute(
            """SELECT sheet, item_code, column_name, amount, text_value, cell FROM return_value
               WHERE return_id = %s""", (return_id,)):
        row = out.setdefault(r["sheet"], {}).setdefault(r["item_code"], {"code": r["item_code"],
                                                                       "name": NAMES.get(r["item_code"], "")})
        row[r["column_name"]] = r["amount"] if r["text_value"] is None and r["item_code"] != "W407" else r["text_value"]
        row[f"{r['column_name']}_cell"] = r["cell"]
    order = {code: i for items in TABLE_ITEMS.values() for i, (code, _) in enumerate(items)}
    return {sheet: sorted(rows.values(), key=lambda x: order.get(x["code"], 99)) for sheet, rows in sorted(out.items())}
