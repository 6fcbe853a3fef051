"""Scoring: the platform rescoring every hospital for every month (etl.ratings.scoring.score, SQL)
against the same indicators, colours and ratings computed in pandas from the same tables.

Scoring writes only the rows whose result changed: the headline figure is a rescore of a
province already scored (it computes everything and writes nothing, as pandas here), and
`platform_all_periods_rewrite_s` the same rescore when every stored row is out of date.

The pandas side reads what the SQL reads (current returns, their 表1–表3 values, overdue
debt, the accounting-subject rollups) through COPY and computes in memory; it writes
nothing back, so the comparison favours it. Its result is checked against what the
platform stored, every value and colour, so both sides are known to compute the same thing.
"""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import psycopg

from bench.common import ratio, timed
from etl.attribution import categories
from etl.ratings import indicators as registry
from etl.ratings import scoring

RANK = {"green": 1, "yellow": 2, "red": 3}
COLOUR = {1: "green", 2: "yellow", 3: "red"}


def run(province) -> dict:
    thresholds = province.app.config["RISK_THRESHOLDS_FILE"]
    out = {}
    with province.connect() as conn:
        out["platform_all_periods_s"], counts = timed(lambda: scoring.score(conn, thresholds, None))
        out["ratings"] = counts
        # Scoring writes only the rows whose result changed (none, just above): the same rescore
        # when every stored row is out of date and must be rewritten, rolled back.
        with conn.transaction() as tx:
            conn.execute("UPDATE scorecard SET value = array_fill(NULL::numeric, ARRAY[cardinality(value)])")
            conn.execute("UPDATE rating SET provisional = NOT provisional")
            out["platform_all_periods_rewrite_s"], _ = timed(lambda: scoring.score(conn, thresholds, None))
            raise psycopg.Rollback(tx)
        out["indicator_rows"] = conn.execute("SELECT count(*) AS n FROM indicator_value").fetchone()["n"]
        # What one accepted upload of the newest month triggers (intake: score from its period on).
        out["platform_one_period_s"], _ = timed(lambda: scoring.score(conn, thresholds, [province.last]))
        body = scoring.active_thresholds(conn, thresholds)["body"]
        out["pandas_s"], (values, ratings) = timed(lambda: pandas_scores(conn, body))
        out.update(agreement(conn, values, ratings))
    out["ratio_platform_vs_pandas"] = ratio(out["pandas_s"], out["platform_all_periods_s"])
    out["ratio_rewrite_vs_pandas"] = ratio(out["pandas_s"], out["platform_all_periods_rewrite_s"])
    return out


# ------------------------------------------------------------------ the pandas alternative
TEXT = {c: str for c in ("hospital_code", "code", "period", "status", "indicator", "rating", "category",
                         "key", "text_value", "provisional", "deficit", "debt", "wages")}


def _frame(conn, query: str) -> pd.DataFrame:
    buf = io.BytesIO()
    with conn.cursor().copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
        for block in copy:
            buf.write(block)
    buf.seek(0)
    return pd.read_csv(buf, dtype=TEXT)


def pandas_scores(conn, body: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(indicator values with colours, ratings), as etl.ratings.scoring would store them."""
    current = _frame(conn, "SELECT id AS return_id, hospital_code, period, status FROM return WHERE is_current")
    values = _frame(conn, """SELECT v.return_id, v.item_code || ':' || v.column_name AS key, v.amount,
                                    v.text_value FROM return_value v JOIN return r ON r.id = v.return_id
                             WHERE r.is_current""")
    debts = _frame(conn, "SELECT return_id, overdue_amount FROM return_debt")
    subjects = _frame(conn, "SELECT return_id, category, amount FROM attribution_total WHERE system = 'subject'")
    hospitals = _frame(conn, "SELECT code FROM hospital")
    periods = _frame(conn, "SELECT period FROM period")

    text_keys = {f"{code}:{col}" for _, code, col in scoring.INPUTS if code in registry.TEXT_ITEMS}
    numbers = values[~values["key"].isin(text_keys)]
    wide = numbers.pivot_table(index="return_id", columns="key", values="amount", aggfunc="max")
    texts = values[values["key"].isin(text_keys)].groupby(["return_id", "key"])["text_value"].max().unstack("key")
    wide = wide.join(texts, how="outer").rename(
        columns={f"{code}:{col}": alias for alias, code, col in scoring.INPUTS})
    wide = wide.reindex(columns=[a for a, _, _ in scoring.INPUTS])
    f = current.set_index("return_id").join(wide)
    f["overdue_debt"] = debts.groupby("return_id")["overdue_amount"].sum().reindex(f.index).fillna(0)
    non_service = subjects[subjects["category"].isin(categories.NON_SERVICE_SUBJECTS)]
    f["non_service"] = non_service.groupby("return_id")["amount"].sum().reindex(f.index).fillna(0)
    unattributed = subjects[subjects["category"] == "未归集"]
    f["unattributed"] = unattributed.groupby("return_id")["amount"].sum().reindex(f.index).fillna(0)

    year, month = f["period"].str[:4].astype(int), f["period"].str[5:7].astype(int)
    f["pidx"] = year * 12 + month - 1
    f["month_no"] = month
    ends = pd.to_datetime(f["period"] + "-01") + pd.offsets.MonthEnd(0)
    f["year_day"] = ends.dt.dayofyear
    # Consecutive deficit months: islands of S300 < 0 over consecutive periods.
    f = f.reset_index().sort_values(["hospital_code", "period"])
    deficit = f["s300_m"] < 0
    order = f.groupby([f["hospital_code"], deficit]).cumcount() + 1
    island = f["pidx"] - order
    run_length = f.groupby([f["hospital_code"], deficit, island]).cumcount() + 1
    f["deficit_months"] = np.where(deficit, run_length, 0)
    ind = {name: pd.Series(evaluate(registry.BY_ID[name], f), index=f.index).astype(float)
           for name in scoring.computed(body)}
    long = []
    specs = body["indicators"]
    for name, value in ind.items():
        part = f[["hospital_code", "period", "return_id", "status"]].copy()
        part["indicator"], part["value"] = name, value.to_numpy(dtype=float)
        part["rank"] = _colour_rank(part["value"], specs.get(name))
        long.append(part)
    values_out = pd.concat(long, ignore_index=True)
    values_out["rating"] = values_out["rank"].map({0: "n/a", **COLOUR})
    values_out.loc[~values_out["indicator"].isin(list(specs)), "rating"] = None

    domain_of = {k: v["domain"] for k, v in specs.items()}
    rated = values_out[values_out["indicator"].isin(list(specs))].copy()
    rated["domain"] = rated["indicator"].map(domain_of)
    rated["rank"] = rated["rank"].replace(0, np.nan)
    domains = (rated.groupby(["hospital_code", "period", "return_id", "status", "domain"], sort=False)["rank"]
               .max().unstack("domain").reindex(columns=list(scoring.DOMAINS)).reset_index())
    overall = domains[list(scoring.DOMAINS)].max(axis=1)
    ratings = pd.DataFrame({"hospital_code": domains["hospital_code"], "period": domains["period"],
                            "rating": overall.map(COLOUR).fillna("green"),
                            **{d: domains[d].map(COLOUR).fillna("n/a") for d in scoring.DOMAINS},
                            "provisional": np.where(domains["status"] != "accepted", "t", "f")})
    grid = pd.MultiIndex.from_product([hospitals["code"], periods["period"]], names=["hospital_code", "period"])
    filed = pd.MultiIndex.from_frame(current[["hospital_code", "period"]])
    missing = grid.difference(filed).to_frame(index=False)
    for col in ("rating", *scoring.DOMAINS):
        missing[col] = "missing"
    missing["provisional"] = "f"
    return values_out, pd.concat([ratings, missing], ignore_index=True)


def evaluate(indicator, f: pd.DataFrame):
    """The indicator over the frame: its registry `pandas` form, else its SQL expression read
    as Python, with SQL's NULLIF, CASE and period_index() given as pandas functions."""
    names = {col: f[col] for col in f.columns if isinstance(col, str)}
    names.update(NULLIF=lambda s, zero: s.where(s != zero),
                 period_index=_period_index,
                 CASE=lambda whens: np.select([np.asarray(c, dtype=bool) for c, _ in whens],
                                              [v for _, v in whens], default=np.nan))
    return eval(indicator.pandas or indicator.sql, {"__builtins__": {}}, names)  # noqa: S307 — registry text


def _period_index(s: pd.Series) -> pd.Series:
    """SQL's period_index() of 'YYYY-MM' texts; NaN where blank."""
    s = s.astype("string")
    return s.str[:4].astype(float) * 12 + s.str[5:7].astype(float) - 1


def _colour_rank(value: pd.Series, spec: dict | None) -> pd.Series:
    """indicator_colour(): 3 red, 2 yellow, 1 green, 0 n/a (NULL value)."""
    rank = pd.Series(np.where(value.isna(), 0, 1), index=value.index)
    if not spec:
        return rank
    ops = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
    for colour, level in (("yellow", 2), ("red", 3)):
        if colour in spec:
            op, threshold = spec[colour]
            rank = rank.where(~ops[op](value, float(threshold)), level)
    return rank.where(value.notna(), 0)


# ------------------------------------------------------------------ honesty
def agreement(conn, values: pd.DataFrame, ratings: pd.DataFrame) -> dict:
    """Compare every indicator value (relative 1e-9), colour and rating with the database."""
    stored = _frame(conn, "SELECT hospital_code, period, indicator, value, rating FROM indicator_value")
    merged = stored.merge(values, on=["hospital_code", "period", "indicator"], how="outer",
                          suffixes=("_db", "_pd"), indicator=True)
    both = merged["_merge"] == "both"
    a, b = merged["value_db"], merged["value_pd"]
    same_value = (a.isna() & b.isna()) | np.isclose(a, b, rtol=1e-9, atol=1e-12)
    same_colour = merged["rating_db"].fillna("") == merged["rating_pd"].fillna("")
    stored_ratings = _frame(conn, "SELECT hospital_code, period, rating, deficit, debt, wages, provisional FROM rating")
    r = stored_ratings.merge(ratings, on=["hospital_code", "period"], how="outer", suffixes=("_db", "_pd"),
                             indicator=True)
    same_rating = (r["_merge"] == "both")
    for col in ("rating", *scoring.DOMAINS, "provisional"):
        same_rating &= r[f"{col}_db"] == r[f"{col}_pd"]
    bad = merged[~(both & same_value & same_colour)]
    return {"checked_indicator_values": int(len(merged)),
            "value_or_colour_mismatches": int(len(bad)),
            "checked_ratings": int(len(r)), "rating_mismatches": int((~same_rating).sum()),
            "mismatch_examples": json.loads(bad.head(3).to_json(orient="records", force_ascii=False))}
