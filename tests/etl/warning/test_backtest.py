"""The backtest's arithmetic on a small constructed province, checked by hand, and the
early-warning list it scores."""
from decimal import Decimal

import pytest

from etl.common.errors import HemonError
from etl.reference.scope import Scope
from etl.warning import backtest, forecast, settings
from tests.factories import hospital_code, rated_history

A, B, C = hospital_code(1), hospital_code(2), hospital_code(3)
# Cash days 2026-01 … 2026-05 (colours: <60 yellow, <30 red):
#   A falls steadily   100 80 60 40 20   g g g y r
#   B is flat          100 …             g g g g g
#   C drops suddenly   100 100 100 100 20 g g g g r
SERIES = {A: [100, 80, 60, 40, 20], B: [100] * 5, C: [100, 100, 100, 100, 20]}


def rows(result):
    return {(r["horizon"], r["target"], r["method"]): (r["predicted"], r["actual"], r["hits"], r["precision"], r["recall"])
            for r in result["rows"]}


def test_backtest_by_hand(conn):
    rated_history(conn, SERIES)
    result = backtest.run(conn)
    assert (result["first"], result["last"], result["origins"], result["hospitals"]) == ("2026-01", "2026-05", 4, 3)
    assert result["cases"] == {1: 12, 2: 9, 3: 6}
    r = rows(result)
    # Horizon 1. Projections need 3 months, so from 2026-03: A 60 → 40 (yellow), A 40 → 20 (red);
    # B and C flat. Red at t+1: actually A and C in 2026-05; the model said A only.
    assert r[(1, "red", "seasonal")] == (1, 2, 1, 1.0, 0.5)
    assert r[(1, "red", "trend")] == (1, 2, 1, 1.0, 0.5)
    assert r[(1, "red", "naive")] == (0, 2, 0, None, 0.0)       # nobody was red a month before
    # Yellow or red at t+1: actually A 04, A 05, C 05; the model said A 04 (yellow), A 05 (red);
    # the naive forecast said A 05 (yellow in 04).
    assert r[(1, "yellow+", "seasonal")] == (2, 3, 2, 1.0, 0.6667)
    assert r[(1, "yellow+", "naive")] == (1, 3, 1, 1.0, 0.3333)
    # The list: named A 03 (g→y) and A 04 (y→r), both right; C 04→05 got worse unnamed.
    assert r[(1, "list", "seasonal")] == (2, 3, 2, 1.0, 0.6667)
    assert r[(1, "list", "naive")] == (0, 3, 0, None, 0.0)
    # Horizon 2 (origins 01–03): from 2026-03 A 60 → 20 red in 05 (right); C red in 05 missed;
    # A yellow in 04 from 02 missed (two months of history only).
    assert r[(2, "red", "seasonal")] == (1, 2, 1, 1.0, 0.5)
    assert r[(2, "list", "seasonal")] == (1, 3, 1, 1.0, 0.3333)


def test_a_wrong_warning_lowers_precision(conn):
    # D falls for three months, then recovers: the warning made in 2026-03 (red two months on) is wrong.
    D = hospital_code(4)
    rated_history(conn, {A: SERIES[A], D: [100, 80, 60, 90, 100]})
    r = rows(backtest.run(conn))
    # Named at h=1: A 03, A 04, D 03 (60 → 40 yellow; actually 90 green) → 2 of 3.
    assert r[(1, "list", "seasonal")] == (3, 2, 2, 0.6667, 1.0)


def test_the_list_of_a_month(conn):
    rated_history(conn, SERIES)
    found = forecast.warnings(conn, "2026-03", Scope.province())
    assert [(w["hospital"], w["domain"], w["now"], w["colour"], w["months_ahead"], w["target_period"]) for w in found] \
        == [(A, "debt", "green", "red", 2, "2026-05")]
    assert found[0]["reason"] == "现金可支付天数现为60.0天，近6个月平均每月下降20.0天，预计2个月后降至30.0天以下（红色）"
    assert forecast.warnings(conn, "2026-02", Scope.province()) == []       # two months: too short to say
    assert forecast.warnings(conn, "2026-03", Scope.hospital(B)) == []      # scoped in the query


def test_cached_result_follows_the_ratings(conn):
    rated_history(conn, SERIES)
    first = backtest.cached(conn)
    assert backtest.cached(conn) == first
    conn.execute("UPDATE rating SET debt = 'red', computed_at = now() + interval '1 second' "
                 "WHERE hospital_code = %s AND period = '2026-04'", (B,))
    assert rows(backtest.cached(conn)) != rows(first)


def test_gate(conn):
    rated_history(conn, {A: SERIES[A], hospital_code(4): [100, 80, 60, 90, 100]})   # list precision 2/3 at h=1
    assert settings.gate(conn)["open"] is False                 # off by default
    settings.save(conn, True, "66.67", "1", None)
    assert settings.gate(conn) == {"enabled": True, "horizon": 1, "min_precision": Decimal("0.6667"),
                                   "precision": Decimal("0.6667"), "open": True}
    settings.save(conn, True, "66.68", "1", None)
    assert settings.gate(conn)["open"] is False
    settings.save(conn, True, "10", "3", None)                  # at 3 months it named nobody: nothing to judge
    assert settings.gate(conn) | {"min_precision": None} == \
        {"enabled": True, "horizon": 3, "min_precision": None, "precision": None, "open": False}
    settings.save(conn, False, "10", "1", None)
    assert settings.gate(conn)["open"] is False


def test_bad_settings_change_nothing(conn):
    before = settings.current(conn)
    for percent, horizon in (("abc", "1"), ("101", "1"), ("-1", "1"), ("NaN", "1"), ("50", "4"), ("50", "")):
        with pytest.raises(HemonError):
            settings.save(conn, True, percent, horizon, None)
    assert settings.current(conn) == before
    assert conn.execute("SELECT count(*) AS n FROM audit_log").fetchone()["n"] == 0
