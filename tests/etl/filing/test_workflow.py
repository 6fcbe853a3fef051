"""The review state machine, every (levels, level, action, status) combination: which move
where and which are refused (etl/filing/workflow.decide)."""
import datetime as dt
import itertools

import pytest

from etl.common.errors import HemonError
from etl.filing import workflow

PERIOD = "2026-10"
BEFORE = dt.date(2026, 11, 15)     # the prefecture's deadline day (15th of the next month)
AFTER = dt.date(2026, 11, 16)
ONE, TWO = workflow.ReviewSettings(levels=1), workflow.ReviewSettings(levels=2)
STATUSES = tuple(workflow.STATUS_NAMES)
ACTIONS = ("accept", "return", "recheck")
LEVELS = ("prefecture", "province", "hospital", None)

# Every allowed move: (settings, level, action, status, prefecture past its deadline) -> new status.
ALLOWED = {
    # one level: the province decides whatever is not yet decided (also states left from two levels)
    **{(1, "province", "accept", s, late): "accepted" for s in workflow.OPEN for late in (False, True)},
    **{(1, "province", "return", s, late): "returned" for s in workflow.OPEN for late in (False, True)},
    # two levels: the prefecture first ...
    **{(2, "prefecture", "accept", s, late): "prefecture_accepted" for s in workflow.AT_PREFECTURE
       for late in (False, True)},
    **{(2, "prefecture", "return", s, late): "returned" for s in workflow.AT_PREFECTURE for late in (False, True)},
    # ... then the province, which may also send back to the prefecture
    **{(2, "province", "accept", "prefecture_accepted", late): "accepted" for late in (False, True)},
    **{(2, "province", "return", "prefecture_accepted", late): "returned" for late in (False, True)},
    **{(2, "province", "recheck", "prefecture_accepted", late): "rechecking" for late in (False, True)},
    # ... and what the prefecture left past its deadline (市州逾期未审)
    **{(2, "province", "accept", s, True): "accepted" for s in workflow.AT_PREFECTURE},
    **{(2, "province", "return", s, True): "returned" for s in workflow.AT_PREFECTURE},
}


@pytest.mark.parametrize("levels,level,action,status,late", list(itertools.product(
    (1, 2), LEVELS, ACTIONS, STATUSES, (False, True))))
def test_every_transition_and_every_refusal(levels, level, action, status, late):
    cfg = ONE if levels == 1 else TWO
    key = (levels, level, action, status, late)
    today = AFTER if late else BEFORE
    if key in ALLOWED:
        assert workflow.decide(cfg, level, action, status, period=PERIOD, today=today) == ALLOWED[key]
    else:
        with pytest.raises(HemonError) as refused:
            workflow.decide(cfg, level, action, status, period=PERIOD, today=today)
        assert any("\u4e00" <= c <= "\u9fff" for c in str(refused.value))


def test_a_hospital_without_prefecture_goes_straight_to_the_province():
    assert workflow.decide(TWO, "province", "accept", "submitted", period=PERIOD, today=BEFORE,
                           has_prefecture=False) == "accepted"
    assert workflow.prefecture_overdue(TWO, "submitted", PERIOD, BEFORE, has_prefecture=False)


def test_accepted_is_locked_with_the_way_out_named():
    for cfg, level in ((ONE, "province"), (TWO, "province"), (TWO, "prefecture")):
        with pytest.raises(HemonError, match="申请重新打开"):
            workflow.decide(cfg, level, "accept", "accepted", period=PERIOD, today=AFTER)


def test_deadlines_follow_the_settings():
    cfg = workflow.ReviewSettings(levels=2, prefecture_day=12, province_day=20)
    assert cfg.prefecture_deadline("2026-12") == dt.date(2027, 1, 12)
    assert cfg.province_deadline("2026-12") == dt.date(2027, 1, 20)
    assert not workflow.prefecture_overdue(cfg, "submitted", "2026-12", dt.date(2027, 1, 12))
    assert workflow.prefecture_overdue(cfg, "rechecking", "2026-12", dt.date(2027, 1, 13))
    assert not workflow.prefecture_overdue(cfg, "prefecture_accepted", "2026-12", dt.date(2027, 1, 13))
    assert not workflow.prefecture_overdue(ONE, "submitted", "2026-12", dt.date(2027, 3, 1))


def test_awaiting_says_whose_turn_it_is():
    assert workflow.awaiting(TWO, "prefecture", "submitted", PERIOD, BEFORE)
    assert not workflow.awaiting(TWO, "province", "submitted", PERIOD, BEFORE)
    assert workflow.awaiting(TWO, "province", "submitted", PERIOD, AFTER)
    assert workflow.awaiting(TWO, "province", "prefecture_accepted", PERIOD, BEFORE)
    assert not workflow.awaiting(TWO, "prefecture", "prefecture_accepted", PERIOD, BEFORE)
    assert workflow.awaiting(ONE, "province", "submitted", PERIOD, BEFORE)
    assert not workflow.awaiting(ONE, "prefecture", "submitted", PERIOD, BEFORE)
    assert not workflow.awaiting(ONE, None, "submitted", PERIOD, BEFORE)
