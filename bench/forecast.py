"""Forecast: the early warning's backtest (etl.warning.backtest.run) over every month of the
bench province — its time, and precision and recall of the list and of "will be red" against
the naive forecast at 1–3 months (docs/forecast.md)."""
from __future__ import annotations

from bench.common import timed
from etl.reference.scope import Scope
from etl.warning import backtest, forecast


def run(province) -> dict:
    with province.connect() as conn:
        seconds, result = timed(lambda: backtest.run(conn))
        list_s, items = timed(lambda: forecast.warnings(conn, province.last, Scope.province()))
    out = {"backtest_s": seconds, "list_s": list_s, "warnings_last_month": len(items),
           "origins": result["origins"], "cases": {f"h{h}": n for h, n in result["cases"].items()}}
    for r in result["rows"]:
        if r["target"] in ("red", "list") and r["method"] in ("naive", forecast.MODEL):
            key = f"h{r['horizon']}_{r['target']}_{r['method']}"
            out[key] = {"predicted": r["predicted"], "actual": r["actual"], "hits": r["hits"],
                        "precision": r["precision"], "recall": r["recall"]}
    return out
