"""The sandbox: a child that dies, eats memory or loops costs only itself."""
from __future__ import annotations

import os
import time

import pytest

from etl.common import sandbox

SMALL = sandbox.Limits(memory_bytes=400 * sandbox.MIB, cpu_seconds=2, wall_seconds=4)


def _double(x):
    return [x, x]


def _abort():
    os.abort()          # what a Rust panic in a parser looks like from outside


def _eat():
    return bytearray(2 * 1024 ** 3)


def _spin():
    while True:
        pass


def _sleep():
    time.sleep(60)


def test_a_result_comes_back():
    assert sandbox.run(_double, {"a": 1}, limits=SMALL) == [{"a": 1}, {"a": 1}]


@pytest.mark.parametrize("func, words", [(_abort, "异常终止"), (_eat, "内存"), (_spin, "处理时间"),
                                         (_sleep, "处理时间超过 4 秒")])
def test_a_child_that_fails_is_a_chinese_reason(func, words):
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxFailed) as err:
        sandbox.run(func, limits=SMALL)
    assert words in err.value.reason
    assert time.monotonic() - started < 15
    assert sandbox.run(_double, 1, limits=SMALL) == [1, 1]     # and the caller carries on
