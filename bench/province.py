"""The bench province: a fresh embedded PostgreSQL filled at scale through the platform's loader.

`Province.build(...)` migrates a new database, loads Sichuan's regions, synthetic county
boundaries (as an official file), the registry and the catalogue with the platform's own
functions, then loads every return with `etl.returns.loader.load_return` and attributes it, in
worker processes (one per core). No workbook is written for these returns: a workbook is
written only where a file is what is being measured (bench/ingest.py).
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from queue import Empty

from tqdm import tqdm

from bench import scale

# Production makes reviewers and admins log in with TOTP; the bench's accounts log in with a
# password alone (hospital accounts need no TOTP in production anyway).
BENCH_TOTP_ROLES = ()
SECRET_KEY = "bench-secret-key-not-for-production"
MANIFEST = "province.json"


@dataclasses.dataclass
class Province:
    tmp: Path
    app: object
    url: str
    hospitals: list
    periods: list
    catalogue: object
    seed: int
    summary: dict
    keep: bool = False

    @property
    def last(self) -> str:
        return self.periods[-1]

    @property
    def largest(self):
        return max(self.hospitals, key=lambda h: h.rows)

    def connect(self):
        """A connection of our own (autocommit, dict rows, no statement timeout)."""
        import psycopg
        from psycopg.rows import dict_row
        return psycopg.connect(self.url, autocommit=True, row_factory=dict_row,
                               options="-c statement_timeout=0 -c timezone=Asia/Shanghai")

    def close(self) -> None:
        self.app.extensions["hemon_db"].close()
        server = self.app.extensions["hemon_db"]._server
        if server is not None:
            server.cleanup()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, hospitals: int, months: int, seed: int = 2026, workers: int | None = None,
              largest_rows: int = scale.MAX_ROWS, keep: bool = False) -> "Province":
        from app import create_app
        from app.db import upgrade
        from bench.map_page import synthetic_counties
        from etl.attribution import mapping
        from etl.common.codes import periods_between, shift_period
        from etl.common.tabular import write_table
        from etl.reference import registry
        from etl.reference.province import initialise as init_province
        from etl.returns.loader import ensure_period

        tmp = Path(tempfile.mkdtemp(prefix="hemon-bench-"))
        app = create_app({"INSTANCE_DIR": str(tmp / "instance"), "SECRET_KEY": SECRET_KEY,
                          "TOTP_ROLES": BENCH_TOTP_ROLES}, env="production")
        url = app.extensions["hemon_db"].url           # starts the embedded server
        periods = periods_between(shift_period(scale.LAST, 1 - months), scale.LAST)
        summary, started = {}, time.perf_counter()
        province = cls(tmp, app, url, [], periods, None, seed, summary, keep)
        try:
            with province.connect() as conn:
                upgrade(conn)
                regions = scale.demo.load_regions()
                init_province(conn, scale.demo.PROVINCE)
                counties = synthetic_counties(regions, random.Random(seed))
                official = tmp / "counties.geojson"
                official.write_text(counties.to_json(), encoding="utf-8")
                from etl.reference import geography
                geography.load_official(conn, official.read_bytes(), official.name)
                province.hospitals = scale.hospitals(hospitals, counties, seed, largest_rows)
                registry.load_hospitals(conn, write_table(tmp / "registry.xlsx", registry.COLUMNS,
                                                          [h.registry for h in province.hospitals], "医疗机构"))
                province.catalogue = scale.Catalogue()
                mapping_file = tmp / "mapping.csv"
                with open(mapping_file, "w", encoding="utf-8", newline="") as fh:
                    writer = csv.DictWriter(fh, mapping.COLUMNS)
                    writer.writeheader()
                    writer.writerows(province.catalogue.rows)
                mapping.load_mapping(conn, mapping_file, scale.MAPPING_NAME, "2024-01")
                with conn.transaction():
                    ensure_period(conn, periods[0])
                    ensure_period(conn, periods[-1])
                summary["setup_s"] = time.perf_counter() - started
                province._load_returns(conn, workers or os.cpu_count() or 2)
        except BaseException:
            province.close()
            raise
        (tmp / MANIFEST).write_text(json.dumps({"hospitals": hospitals, "months": months, "seed": seed,
                                                "largest_rows": largest_rows, "summary": summary}))
        return province

    @classmethod
    def reuse(cls, folder: Path) -> "Province":
        """A province kept by an earlier run (--keep), for iterating on the benchmarks; its
        schema is brought up to date first (it may predate the code's migrations)."""
        from app import create_app
        from app.db import upgrade
        from bench.map_page import synthetic_counties
        from etl.common.codes import periods_between, shift_period

        folder = Path(folder).resolve()
        made = json.loads((folder / MANIFEST).read_text())
        app = create_app({"INSTANCE_DIR": str(folder / "instance"), "SECRET_KEY": SECRET_KEY,
                          "TOTP_ROLES": BENCH_TOTP_ROLES}, env="production")
        url = app.extensions["hemon_db"].url
        counties = synthetic_counties(scale.demo.load_regions(), random.Random(made["seed"]))
        province = cls(folder, app, url, scale.hospitals(made["hospitals"], counties, made["seed"], made["largest_rows"]),
                       periods_between(shift_period(scale.LAST, 1 - made["months"]), scale.LAST), scale.Catalogue(),
                       made["seed"], made["summary"], keep=True)
        with province.connect() as conn:
            upgrade(conn)
        return province

    def _load_returns(self, conn, workers: int) -> None:
        """Every hospital's returns through load_return + attribution, `workers` at a time;
        then the past months accepted (as reviewers would have) and statistics refreshed."""
        expected_rows = sum(h.rows for h in self.hospitals) * len(self.periods)
        conn.execute("ALTER SYSTEM SET max_wal_size = '8GB'")      # fewer checkpoints while loading
        conn.execute("SELECT pg_reload_conf()")
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        shares = [self.hospitals[k::workers] for k in range(workers)]
        procs = [ctx.Process(target=_worker, args=(self.url, share, self.periods, self.seed, queue))
                 for share in shares]
        started = time.perf_counter()
        for p in procs:
            p.start()
        done, totals = 0, [0, 0, 0.0, 0.0, 0.0]
        with tqdm(total=expected_rows, desc="bench province: 表5 rows", unit="row", unit_scale=True,
                  mininterval=2) as bar:
            while done < workers:
                try:
                    message = queue.get(timeout=5)
                except Empty:
                    if any(p.exitcode not in (None, 0) for p in procs):
                        raise RuntimeError("a bench loader process died") from None
                    continue
                if message is None:
                    done += 1
                    continue
                if isinstance(message, str):
                    raise RuntimeError(f"bench loader failed:\n{message}")
                totals = [a + b for a, b in zip(totals, message)]
                bar.update(message[1])
        for p in procs:
            p.join()
        self.summary.update(load_returns_s=time.perf_counter() - started, workers=workers,
                            worker_generate_s=totals[2], worker_load_return_s=totals[3],
                            worker_attribute_s=totals[4])
        conn.execute("ALTER SYSTEM RESET max_wal_size")
        conn.execute("SELECT pg_reload_conf()")
        with conn.transaction():
            conn.execute("""UPDATE return SET status = 'accepted', reviewed_at = submitted_at + interval '3 days'
                            WHERE period < %s""", (self.periods[-2] if len(self.periods) > 1 else "0000-00",))
        start = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        self.summary["vacuum_analyze_s"] = time.perf_counter() - start
        counts = conn.execute(
            """SELECT (SELECT count(*) FROM return) AS returns, (SELECT count(*) FROM return_item) AS item_rows,
                      (SELECT count(*) FROM return_value) AS value_rows,
                      (SELECT count(*) FROM attribution_total) AS attribution_rows,
                      pg_database_size(current_database()) AS database_bytes""").fetchone()
        self.summary.update(counts)
        self.summary["load_item_rows_per_s"] = round(counts["item_rows"] / self.summary["load_returns_s"])


def _worker(url: str, hospitals: list, periods: list[str], seed: int, queue) -> None:
    """Load these hospitals' returns, period by period (as they would arrive)."""
    import traceback
    try:
        _load(url, hospitals, periods, seed, queue)
        queue.put(None)
    except BaseException:
        queue.put(traceback.format_exc())
        queue.put(None)


def _load(url, hospitals, periods, seed, queue) -> None:
    import psycopg
    from psycopg.rows import dict_row

    from etl.attribution.categories import UNATTRIBUTED
    from etl.returns.loader import StoredFile, load_return

    scale.install_stories(hospitals)
    catalogue = scale.Catalogue()
    tables = {h.code: scale.Table5(catalogue, h.code, h.rows, seed) for h in hospitals}
    sql = attribution_sql()
    pending = [0, 0, 0.0, 0.0, 0.0]        # returns, rows, seconds: generating, loading, attributing
    batch: list[int] = []
    clock = time.perf_counter

    def attribute(conn):
        # In batches: each statement hashes the whole mapping version once (see attribution_sql).
        start = clock()
        with conn.transaction():
            conn.execute(sql, {"none": UNATTRIBUTED, "returns": batch})
        pending[4] += clock() - start
        queue.put(tuple(pending))
        pending[:] = [0, 0, 0.0, 0.0, 0.0]
        batch.clear()

    # Bulk loading only: no WAL flush wait at commit, no foreign-key triggers (every key is
    # right by construction).
    options = "-c statement_timeout=0 -c synchronous_commit=off -c session_replication_role=replica"
    with psycopg.connect(url, autocommit=True, row_factory=dict_row, options=options) as conn:
        t0 = clock()
        for draft, at in scale.demo_returns([h.registry for h in hospitals], seed, periods[0], periods[-1]):
            factor = scale.UNIT_FACTORS[draft.unit]
            items, _ = tables[draft.hospital_code].items(draft, factor)
            ret = scale.parsed(draft, items)
            name = f"{draft.hospital_code}-{draft.period}.xlsx"
            stored = StoredFile(name, hashlib.sha256(name.encode()).hexdigest(), 0, b"")
            t1 = clock()
            with conn.transaction():
                batch.append(load_return(conn, ret, [], stored, None, at)["id"])
            pending[0] += 1
            pending[1] += len(items)
            pending[2] += t1 - t0
            pending[3] += clock() - t1
            if pending[1] >= 200_000 or pending[0] >= 200:
                attribute(conn)
            t0 = clock()
        if batch:
            attribute(conn)


def attribution_sql() -> str:
    """The platform's attribution statement (etl.attribution.rollup.ATTRIBUTE_SQL) with its `target`
    CTE materialised, so that mapping_version_for() runs once per return rather than once
    per 表5 row: the same rows, several times faster (see docs/performance.md). If the
    statement has changed shape, it is used exactly as shipped. Either way each statement
    builds a hash of the whole mapping version (50,104 rows here, ~35 ms), so the loader
    attributes returns in batches of about 200,000 rows."""
    from etl.attribution.rollup import ATTRIBUTE_SQL
    shipped = "WITH target AS ("
    return ATTRIBUTE_SQL.replace(shipped, "WITH target AS MATERIALIZED (", 1) if shipped in ATTRIBUTE_SQL \
        else ATTRIBUTE_SQL
