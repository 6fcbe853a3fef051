"""The projection on constructed histories: a steady fall reaches red in the month predicted,
a flat series flags nothing, a yearly season is foreseen (and not mistaken for a trend), the
reason sentence, and that nothing after the origin is read."""
from decimal import Decimal

from etl.warning import forecast, projection
from tests.factories import CASH_DAYS_SPEC

SPEC = CASH_DAYS_SPEC
ORIGIN = 2026 * 12 + 9          # 2026-10


def history(values: list, end: int = ORIGIN) -> dict[int, Decimal]:
    """Values of consecutive months ending at `end` (None: no value that month)."""
    start = end - len(values) + 1
    return {start + i: Decimal(str(v)) for i, v in enumerate(values) if v is not None}


def warn(values, model="seasonal", end=ORIGIN):
    h = history(values, end)
    p = projection.project("cash_days", h, end)
    now = projection.colour(float(h[end]), SPEC["cash_days"])
    steps = forecast.outlook("debt", {"cash_days": p}, {"cash_days": h[end]}, SPEC, model == "seasonal")
    return forecast.warning(now, steps), p


def test_a_steady_fall_reaches_red_in_the_month_predicted():
    found, p = warn([72, 66, 60, 54, 48, 42])
    assert p.slope == -6.0
    assert p.values == (36.0, 30.0, 24.0)          # 30 is not < 30: red only in month 3
    assert found == ("red", 3, "cash_days")
    text = projection.reason(p, 3, "red", SPEC["cash_days"])
    assert text == "现金可支付天数现为42.0天，近6个月平均每月下降6.0天，预计3个月后降至30.0天以下（红色）"


def test_a_green_hospital_warned_of_yellow_next_month():
    found, p = warn([90, 82, 74, 66])
    assert p.values == (58.0, 50.0, 42.0)            # yellow from next month, never below 30
    assert found == ("yellow", 1, "cash_days")


def test_flat_series_flag_nothing():
    assert warn([45, 45, 45, 45, 45, 45])[0] is None           # yellow and staying yellow
    assert warn([80, 81, 79, 80, 80, 80])[0] is None           # green with noise
    assert warn([120, 70, 70, 70, 70, 70])[0] is None          # one old outlier: Theil–Sen ignores it


def test_too_short_a_history_projects_nothing():
    assert projection.project("cash_days", history([50, 40]), ORIGIN) is None
    assert projection.project("cash_days", history([50, None, None, None, None, 40]), ORIGIN) is None
    assert projection.project("cash_days", history([50, 45, 40, None]), ORIGIN) is None   # no value now


def season(month: int) -> int:
    """Cash days of a hospital with no trend that runs short every December (pays year-end bills)."""
    return 25 if month == 12 else 70


def yearly(end: int, months: int = 24) -> list[int]:
    return [season((end - months + 1 + i) % 12 + 1) for i in range(months)]


def test_a_yearly_dip_is_foreseen_with_last_years_season():
    values = yearly(ORIGIN)                    # 2024-11 … 2026-10, Decembers at 25
    found, p = warn(values)
    assert p.seasonal and round(p.values[1]) == 25            # December, two months ahead
    assert found == ("red", 2, "cash_days")
    assert "按去年同期的季节变化另减少" not in projection.reason(p, 2, "red", SPEC["cash_days"])
    assert "按去年同期的季节变化另下降45.0天" in projection.reason(p, 2, "red", SPEC["cash_days"])
    assert warn(values, model="trend")[0] is None             # the trend alone sees nothing coming


def test_a_seasonal_fall_that_recovers_is_not_taken_for_a_trend():
    # Falling every summer to 40 in September and recovering from October: at 2026-09 the last six
    # months fall steadily, but last year the same months came back up.
    def month_value(m):
        return {4: 90, 5: 80, 6: 70, 7: 60, 8: 50, 9: 40}.get(m, 90)
    end = ORIGIN - 1
    values = [month_value((end - 23 + i) % 12 + 1) for i in range(24)]
    assert warn(values, model="trend", end=end)[0] is not None     # the trend extrapolates the fall
    assert warn(values, end=end)[0] is None                        # the season says it recovers


def test_months_after_the_origin_are_never_read():
    past = history([72, 66, 60, 54, 48, 42])
    future = past | {ORIGIN + 1: Decimal("500"), ORIGIN + 2: Decimal("-3"), ORIGIN + 3: Decimal("0")}
    assert projection.project("cash_days", future, ORIGIN) == projection.project("cash_days", past, ORIGIN)


def test_reason_words_by_unit():
    h = {ORIGIN - 2: Decimal("0.62"), ORIGIN - 1: Decimal("0.64"), ORIGIN: Decimal("0.66")}
    p = projection.project("debt_ratio", h, ORIGIN)
    spec = {"yellow": [">=", "0.50"], "red": [">=", "0.70"]}
    assert projection.reason(p, 2, "red", spec) == \
        "资产负债率现为66.0%，近6个月平均每月上升2.0个百分点，预计2个月后达到70.0%及以上（红色）"
    h = {ORIGIN - 2: Decimal("3"), ORIGIN - 1: Decimal("4"), ORIGIN: Decimal("5")}
    p = projection.project("deficit_months", h, ORIGIN)
    assert projection.reason(p, 1, "red", {"red": [">=", "6"]}) == \
        "连续亏损月数现为5个月，近6个月平均每月增加1.0个月，预计1个月后达到6个月及以上（红色）"


def test_year_to_date_indicators_trend_within_the_year():
    # 累计收支结余率 restarts each January: December's 2.0% and January's 0.5% are not a fall.
    january = 2026 * 12
    h = history([0.02, 0.02, 0.02, 0.02, 0.02, 0.005], end=january)
    assert "surplus_rate_ytd" in projection.YEAR_TO_DATE and "debt_ratio" not in projection.YEAR_TO_DATE
    assert projection.project("surplus_rate_ytd", h, january) is None
    assert projection.project("debt_ratio", h, january) is not None          # a balance: no restart
    march = history([0.02, 0.02, 0.02, 0.02, 0.005, 0.004, 0.003], end=january + 2)
    p = projection.project("surplus_rate_ytd", march, january + 2)
    assert (p.points, round(p.slope, 4)) == (3, -0.001)
