"""What every benchmark shares: timing, rounding and the machine's description."""
from __future__ import annotations

import os
import platform
import statistics
import time
from contextlib import contextmanager


def timed(fn):
    """(seconds, value) of one call."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def best_of(fn, runs: int) -> tuple[float, list[float]]:
    """Median seconds of `runs` calls, and every timing (the machine is shared: medians)."""
    times = [timed(fn)[0] for _ in range(runs)]
    return statistics.median(times), times


@contextmanager
def stopwatch(into: dict, key: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        into[key] = time.perf_counter() - start


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def rounded(value):
    """Seconds to the millisecond, other floats to 4 significant figures, recursively."""
    if isinstance(value, dict):
        return {k: (round(v, 3) if k.endswith("_s") and isinstance(v, float) else rounded(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value


def machine() -> dict:
    """Enough to tell two machines apart and to read a figure in context."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    memory = None
    try:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None}
