"""Run work on untrusted input in a child process under memory, CPU and wall-clock limits.

A parser bug (a Rust panic in python-calamine, openpyxl allocating gigabytes, a loop that
never ends) then costs one child process, never the web worker or the command line that
asked. Children are forked from a forkserver started once per process (a clean,
single-threaded Python, so forking it is safe even from a threaded web server and costs a
few milliseconds); the modules named in `preload` are imported there once, not per child.

`run` returns what the function returned (it must be picklable, as must the arguments), or
raises `SandboxFailed` with a Chinese reason when the child died, exceeded a limit or raised.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one child may use: address space (bytes), CPU seconds, wall-clock seconds."""
    memory_bytes: int = 2048 * MIB
    cpu_seconds: int = 60
    wall_seconds: float = 90.0


class SandboxFailed(Exception):
    """The child did not return a result; `reason` says why in Chinese."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


_preload: list[str] = [__name__]


def _main_imports() -> list[str]:
    """The modules a console script's main module (flask, gunicorn) imported.

    Each child re-runs that script as __mp_main__ (Python 3.11's forkserver cannot preload it);
    with its imports already in the server, that costs microseconds instead of 0.3-0.9 s."""
    import sys
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None or not getattr(main, "__file__", None):
        return []      # `python -m …` and `-c` are not re-run in children
    names = set()
    for value in vars(main).values():
        name = value.__name__ if isinstance(value, type(sys)) else getattr(value, "__module__", None)
        if isinstance(name, str) and name not in ("__main__", "builtins"):
            names.add(name)
    return sorted(names)


def _get_context(preload: tuple[str, ...]):
    """The forkserver context; `preload` modules are imported once in the server if it has not
    started yet (later, children import them themselves: slower, still correct)."""
    ctx = multiprocessing.get_context("forkserver")
    wanted = [*preload, *_main_imports()]
    if any(m not in _preload for m in wanted):
        _preload.extend(m for m in wanted if m not in _preload)
        # Python 3.11's forkserver ignores the parent's sys.path: without the project on
        # PYTHONPATH a server started outside the project root would preload nothing.
        root = str(Path(__file__).resolve().parents[2])
        if root not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
            os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        ctx.set_forkserver_preload(list(_preload))
    return ctx


def _child(pipe, limits: Limits, func, args) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    # The soft limit sends SIGXCPU (which ends the process); the hard one SIGKILL a little later.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    try:
        outcome = ("ok", func(*args))
    except MemoryError:
        outcome = ("memory", "MemoryError")
    except BaseException as exc:  # anything else the parser raises is reported, not re-raised
        outcome = ("raised", f"{exc.__class__.__name__}: {str(exc)[:300]}")
    try:
        pipe.send(outcome)
    except MemoryError:
        pipe.send(("memory", "MemoryError while sending the result"))
    finally:
        pipe.close()
        # Skip interpreter shutdown: tearing down openpyxl and friends takes 0.2-0.4 s, and
        # the parent waits for the exit. Nothing here needs flushing.
        os._exit(0)


def run(func, *args, limits: Limits = Limits(), preload: tuple[str, ...] = ()):
    """Return func(*args) computed in a limited child process (raises SandboxFailed)."""
    ctx = _get_context(preload)
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(sender, limits, func, args), name="hemon-sandbox")
    started = time.monotonic()
    child.start()
    sender.close()
    try:
        if not receiver.poll(limits.wall_seconds):
            raise SandboxFailed(f"处理时间超过 {limits.wall_seconds:g} 秒", "wall-clock timeout")
        try:
            status, payload = receiver.recv()
        except (EOFError, OSError):
            child.join(5)
            raise SandboxFailed(_death(child.exitcode, limits), f"exit code {child.exitcode}") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    logger.debug("sandbox %s: %.3f s", getattr(func, "__name__", func), time.monotonic() - started)
    if status == "ok":
        return payload
    if status == "memory":
        raise SandboxFailed(f"所需内存超过 {limits.memory_bytes // MIB} MB", payload)
    raise SandboxFailed("解析程序出错", payload)


def _death(exitcode: int | None, limits: Limits) -> str:
    """Say in Chinese why a child that sent nothing ended."""
    if exitcode == -signal.SIGXCPU or exitcode == -signal.SIGKILL:
        return f"处理时间超过 {limits.cpu_seconds} 秒（CPU）或内存超限"
    if exitcode == -signal.SIGABRT:
        return "解析程序异常终止（内存不足或文件内容异常）"
    return f"解析进程意外退出（退出码 {exitcode}）"
