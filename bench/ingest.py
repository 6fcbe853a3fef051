"""Ingest: one large return (the largest hospital's next month, 100,000 表5 rows) read,
validated, attributed and loaded into the bench province by etl.returns.intake.ingest_file,
against pandas.read_excel(engine="openpyxl") reading the same file's 表5 alone (what a user
would write) and python-calamine iterating the same rows (the floor: no reader is faster).

The intake runs inside transactions that are rolled back (a file already in is recognised
as a duplicate, so it could not be taken in twice, and the province stays as built): three
times as the batch import does (`hemon_ingest_s`: a month nobody has filed yet), once as the
month's first web upload (`hemon_ingest_with_rescore_new_period_s`: it opens the month and
rates every other hospital `missing` in it), then with the month already open, as on
deadline day, three times each without and with the rescoring a web upload triggers
(`hemon_ingest_open_period_s`, `hemon_ingest_with_rescore_s`; `rescore_overhead` is the
share the rescoring adds, the issue's "at most 20 %").
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import statistics

import psycopg

from bench import scale
from bench.common import ratio, timed
from etl.common.codes import shift_period

SHEET = scale.rf.SHEETS["表5"]


def write_file(province, period: str, hospital=None, folder=None):
    """`hospital`'s return (default the largest) for `period`, continuing its months in the
    database: (path, submitted_at, seconds to write). None when its story skips that month."""
    from etl.returns.drafts import write_return

    h = hospital or province.largest
    scale.install_stories([h])
    table = scale.Table5(province.catalogue, h.code, h.rows, province.seed)
    drafts = scale.demo_returns([h.registry], province.seed, province.periods[0], period)
    found = [x for x in drafts if x[0].period == period]
    if not found:
        return None
    draft, submitted_at = found[0]
    _, sheet_rows = table.items(draft, scale.UNIT_FACTORS[draft.unit], sheet=True)
    path = (folder or province.tmp) / f"{h.code}-{period}.xlsx"
    seconds, _ = timed(lambda: write_return(scale.workbook_draft(draft, sheet_rows), path))
    return path, submitted_at, seconds


def _median_ingest(conn, path, settings, submitted_at, rescore: bool, runs: int) -> float:
    """Median seconds of `runs` ingests of `path`, each in a savepoint rolled back."""
    from etl.returns import intake

    times = []
    for _ in range(runs):
        with conn.transaction() as tx:
            seconds, result = timed(lambda: intake.ingest_file(conn, path, settings, rescore=rescore,
                                                               submitted_at=submitted_at))
            assert result.status == "accepted" and not result.duplicate, result.as_dict()
            times.append(seconds)
            raise psycopg.Rollback(tx)
    return statistics.median(times)


def run(province, runs: int = 3) -> dict:
    import pandas as pd
    from python_calamine import CalamineWorkbook

    from etl.ratings.rescoring import rescore
    from etl.returns import intake
    from etl.returns.loader import ensure_period
    from etl.returns.reader import read_return

    period = shift_period(province.last, 1)
    path, submitted_at, write_s = write_file(province, period)
    out = {"hospital": province.largest.code, "period": period, "file_bytes": path.stat().st_size,
           "write_file_s": write_s}

    def calamine_rows():
        return sum(1 for _ in CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).iter_rows())

    calamine = [timed(calamine_rows) for _ in range(runs)]
    out["calamine_rows_s"] = statistics.median(t for t, _ in calamine)
    out["rows"] = calamine[0][1] - 1                     # without the header
    out["hemon_read_s"] = statistics.median(timed(lambda: read_return(path))[0] for _ in range(runs))
    out["pandas_calamine_s"], _ = timed(lambda: pd.read_excel(path, sheet_name=SHEET, engine="calamine"))
    out["pandas_openpyxl_s"], frame = timed(lambda: pd.read_excel(path, sheet_name=SHEET, engine="openpyxl"))
    assert len(frame) == out["rows"], (len(frame), out["rows"])

    settings = dataclasses.replace(intake.IntakeSettings.from_config(province.app.config),
                                   today=submitted_at.date() + dt.timedelta(days=1))
    times = []
    with province.connect() as conn:
        for _ in range(runs):
            with conn.transaction() as tx:
                seconds, result = timed(lambda: intake.ingest_file(conn, path, settings, rescore=False,
                                                                   submitted_at=submitted_at))
                assert result.status == "accepted" and not result.duplicate, result.as_dict()
                times.append(seconds)
                raise psycopg.Rollback(tx)
        out["hemon_ingest_s"] = statistics.median(times)
        out["hemon_ingest_runs_s"] = times
        out["findings"] = sorted({f.code for f in result.findings})
        # The first upload of a month also opens it and rates every other hospital `missing`
        # there: the old figure, kept under its own name.
        with conn.transaction() as tx:
            out["hemon_ingest_with_rescore_new_period_s"], result = timed(
                lambda: intake.ingest_file(conn, path, settings, submitted_at=submitted_at))
            assert result.status == "accepted" and not result.duplicate, result.as_dict()
            raise psycopg.Rollback(tx)
        # Deadline day: the month is open (someone uploaded first). The same upload into it,
        # without and with the rescoring a web upload triggers (its hospital, from its period on).
        with conn.transaction() as opened:
            ensure_period(conn, period, settings.deadline_day)
            rescore(conn, settings.thresholds_file, periods=[period])
            out["hemon_ingest_open_period_s"] = _median_ingest(conn, path, settings, submitted_at, False, runs)
            out["hemon_ingest_with_rescore_s"] = _median_ingest(conn, path, settings, submitted_at, True, runs)
            raise psycopg.Rollback(opened)
    out["rescore_overhead"] = ratio(out["hemon_ingest_with_rescore_s"] - out["hemon_ingest_open_period_s"],
                                    out["hemon_ingest_open_period_s"])
    out["ingest_rows_per_s"] = round(out["rows"] / out["hemon_ingest_s"])
    out["ratio_ingest_vs_pandas"] = ratio(out["pandas_openpyxl_s"], out["hemon_ingest_s"])
    out["ratio_ingest_vs_calamine_floor"] = ratio(out["hemon_ingest_s"], out["calamine_rows_s"])
    return out
