"""Batch import (`import-returns`): every file its own transaction, rescoring owed in the
database, folders scanned case-insensitively, a file that breaks anything a finding."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from etl.ratings import pending
from etl.ratings.rescoring import rescore
from etl.returns import batch
from tests.factories import draft, hospital_code, hospital_row, write_draft

ROOT = Path(__file__).resolve().parents[3]
PERIODS = [f"2026-{m:02d}" for m in range(1, 11)]


def _folder(path: Path, surplus: int) -> Path:
    """Both test hospitals' returns for 2026-01..10, named so they sort month by month."""
    path.mkdir()
    for period in PERIODS:
        for n in (1, 2):
            d = draft(hospital_code(n), period, hospital_row(n)["机构名称"], surplus=surplus)
            write_draft(path, d, f"{period}-{n}.xlsx")
    return path


def _ratings(conn) -> list[dict]:
    return conn.execute(
        """SELECT hospital_code, period, return_id, rating, deficit, debt, wages, provisional,
                  threshold_version_id FROM rating ORDER BY hospital_code, period""").fetchall()


def _stale(conn) -> int:
    """Ratings pointing at a return that is no longer the current version."""
    return conn.execute("""SELECT count(*) AS n FROM rating g JOIN return r ON r.id = g.return_id
                           WHERE NOT r.is_current""").fetchone()["n"]


def _import_process(app, tmp_path: Path, folder: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEMON_") and k != "DATABASE_URL"}
    env.update({"HEMON_ENV": "testing", "DATABASE_URL": app.config["DATABASE_URL"],
                "HEMON_INSTANCE_DIR": str(tmp_path / "instance"), "HEMON_SECRET_KEY": "test-import"})
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "import-returns", str(folder)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_import_killed_mid_batch_is_finished_by_the_next_run(app, conn, province, tmp_path, runner):
    """kill -9 a real `import-returns` after some files committed: ratings are owed in the
    database, and the next run leaves every rating on a current return, equal to a clean rescore."""
    first = batch.import_files(conn, batch.scan([_folder(tmp_path / "v1", 150_000)])[0], province)
    assert all(r.status == "accepted" for r in first) and _stale(conn) == 0
    second = _folder(tmp_path / "v2", -400_000)

    process = _import_process(app, tmp_path, second)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if conn.execute("SELECT count(*) AS n FROM return WHERE version = 2").fetchone()["n"] >= 3:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the import ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(30)
    loaded = conn.execute("SELECT count(*) AS n FROM return WHERE version = 2").fetchone()["n"]
    assert 3 <= loaded < len(PERIODS) * 2
    # Killed mid-batch: some ratings sit on superseded versions, and the database knows it owes them.
    assert _stale(conn) > 0
    assert pending.owed(conn)[0] == PERIODS[0]

    done = runner.invoke(args=["import-returns", str(second)])
    assert done.exit_code == 0, done.output
    assert pending.owed(conn) == []
    assert _stale(conn) == 0
    assert conn.execute("SELECT count(*) AS n FROM return WHERE version = 2").fetchone()["n"] == len(PERIODS) * 2
    after = _ratings(conn)
    assert {r["rating"] for r in after} != {"missing"}
    rescore(conn, province.thresholds_file)
    assert _ratings(conn) == after


def test_score_settles_an_interrupted_import(conn, province, tmp_path, runner):
    """What a killed import owed is paid by `score` as well."""
    path = write_draft(tmp_path, draft(hospital_code(1), "2026-09", hospital_row(1)["机构名称"]))
    from etl.returns.intake import ingest_file
    assert ingest_file(conn, path, province, rescore=False).status == "accepted"
    assert pending.owed(conn) == ["2026-09"] and not _ratings(conn)
    done = runner.invoke(args=["score", "--period", "2026-10"])
    assert done.exit_code == 0, done.output
    assert pending.owed(conn) == []
    assert any(r["period"] == "2026-09" and r["rating"] != "missing" for r in _ratings(conn))


def test_folder_scan_lists_skipped_files_and_fails(conn, province, tmp_path, runner):
    """Extensions match whatever their case; every other file is listed with its reason; exit 1."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_draft(folder, draft(hospital_code(1), "2026-10", hospital_row(1)["机构名称"]), "A.XLSX")
    (folder / "notes.txt").write_text("x")
    (folder / "~$A.xlsx").write_bytes(b"lock")
    (folder / "old.XLS").write_bytes(b"not really a workbook")
    files, skipped = batch.scan([folder])
    assert sorted(p.name for p in files) == ["A.XLSX", "old.XLS"]
    assert sorted(s.path.name for s in skipped) == ["notes.txt", "~$A.xlsx"]
    done = runner.invoke(args=["import-returns", str(folder)])
    assert done.exit_code == 1
    assert "接收 1，退回 1，跳过 2" in done.output
    assert "notes.txt：不是报表工作簿" in done.output and "old.XLS" in done.output
    assert "Traceback" not in done.output


def test_a_file_that_kills_its_reader_is_a_finding(conn, province, tmp_path, runner):
    """A reader child that fails its limits (here: 1 ms of wall clock) refuses that file in
    Chinese; the import carries on with the next one. (tests/etl/common/test_sandbox.py kills
    children by abort, memory and CPU.)"""
    import dataclasses

    from etl.common import sandbox
    folder = tmp_path / "in"
    folder.mkdir()
    for n in (1, 2):
        write_draft(folder, draft(hospital_code(n), "2026-10", hospital_row(n)["机构名称"]), f"{n}.xlsx")
    tight = dataclasses.replace(province, parse_limits=sandbox.Limits(wall_seconds=0.001))
    results = batch.import_files(conn, sorted((folder).iterdir()), tight)
    assert [r.status for r in results] == ["rejected", "rejected"]
    assert {r.findings[0].code for r in results} == {"FILE_UNSAFE"}
    assert results[0].findings[0].message.startswith("文件无法安全读取")
    assert conn.execute("SELECT count(*) AS n FROM return").fetchone()["n"] == 0
    assert [r.status for r in batch.import_files(conn, sorted(folder.iterdir()), province)] == ["accepted"] * 2
