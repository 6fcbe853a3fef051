"""`flask --app wsgi import-returns` and `flask --app wsgi score --all` as concurrent OS
processes on one database: every one exits 0 (no deadlock, no unique violation), and the
ratings they leave are those of one clean rescore."""
import os
import subprocess
import sys
import time
from pathlib import Path

from etl.ratings import scoring
from etl.ratings.rescoring import rescore
from etl.reference import registry
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)

ROOT = Path(__file__).resolve().parents[2]
HOSPITALS = range(1, 7)


def _flask(app, tmp_path: Path, name: str, *args: str) -> tuple[subprocess.Popen, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEMON_") and k != "DATABASE_URL"}
    env.update({"HEMON_ENV": "testing", "DATABASE_URL": app.config["DATABASE_URL"],
                "HEMON_INSTANCE_DIR": str(tmp_path / name), "HEMON_SECRET_KEY": "test-cli"})
    log = tmp_path / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    return process, log


def _ratings(conn) -> list:
    return conn.execute("""SELECT hospital_code, period, return_id, rating, deficit, debt, wages, provisional
                           FROM rating ORDER BY hospital_code, period""").fetchall()


def test_import_returns_and_score_all_processes_at_once_all_exit_0(app, conn, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(n) for n in HOSPITALS]))
    settings = intake.IntakeSettings.from_config(app.config)
    for n in HOSPITALS:
        for period in ("2026-07", "2026-08"):
            d = draft(hospital_code(n), period, surplus=-50_000 if n % 2 else 150_000)
            assert intake.ingest_file(conn, write_draft(tmp_path, d, f"{n}-{period}.xlsx"), settings).status == "accepted"
    # Three imports, two hospitals each, of the same two new months (both opened concurrently).
    batches = []
    for k in range(3):
        folder = tmp_path / f"batch{k}"
        folder.mkdir()
        for n in (2 * k + 1, 2 * k + 2):
            for period in ("2026-09", "2026-10"):
                write_draft(folder, draft(hospital_code(n), period, surplus=-80_000 if n % 3 else 90_000),
                            f"{period}-{n}.xlsx")
        batches.append(folder)
    started = []
    # Hold the province's scoring lock until all six processes queue to score, then let them go at once.
    with app.extensions["hemon_db"].connect() as gate:
        with gate.transaction():
            scoring.lock(gate, None)
            for k, folder in enumerate(batches):
                started.append(_flask(app, tmp_path, f"import{k}", "import-returns", str(folder)))
                started.append(_flask(app, tmp_path, f"score{k}", "score", "--all"))
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and all(p.poll() is None for p, _ in started):
                gate.execute("SELECT pg_stat_clear_snapshot()")   # else one snapshot per transaction
                waiting = gate.execute("""SELECT count(*) AS n FROM pg_stat_activity
                                          WHERE datname = current_database() AND wait_event = 'advisory'""")
                if waiting.fetchone()["n"] >= len(started):
                    break
                time.sleep(0.2)
    codes = {}
    for process, log in started:
        codes[log.name] = process.wait(timeout=300)
    assert codes == {log.name: 0 for _, log in started}, \
        "\n".join(log.read_text(encoding="utf-8")[-800:] for _, log in started)
    assert conn.execute("SELECT count(*) AS n FROM return WHERE is_current").fetchone()["n"] == 24
    left = _ratings(conn)
    assert len(left) == 24 and all(r["rating"] != "missing" for r in left)
    rescore(conn, settings.thresholds_file)
    assert left == _ratings(conn)
