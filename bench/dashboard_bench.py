"""Dashboard query times over a lake of at least 1,000,000 vehicle rows: each chart, in DuckDB and through Superset.

The lake is the journey simulator's output appended to the lake's Iceberg tables (``tests/fleet_lake.py``):
one fleet's journey, copied with other vehicle ids and earlier times until the vehicle table holds
``--vehicle-rows`` rows, one commit per table and copy, in files of one micro-batch's size (as the job's
files are before maintenance rewrites them): layout A. Then B, every table rewritten as the job's maintenance pass
rewrites it, and C, B with a maintenance interval's micro-batch files on top. In each, every chart's query runs
``--runs`` times in DuckDB (the SQL of ``dashboards.checks``, on the same views Superset reads) and through
Superset's chart data API (``python -m dashboards up`` on a free port, cache off), after one untimed
warm-up run, as its dashboard asks for it at opening where a filter always holds a value (the journey's vehicle,
the first by name; :func:`chosen_values`). Target: every chart's p95 under 1 s. Then, in a headless browser
(``dashboard_browser.py``), each dashboard from opening to every chart drawn (target p95 under 3 s), and a new
position from its write into the lake to the open fleet dashboard (p50, p95). The tables go to stdout and to the
"## Dashboards" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import requests

from core.catalog import Catalog, load_catalog, project_root
from core.settings import local_dir
from core.sql import quote_literal
from dashboards.bundle import Bundle, build_bundle
from dashboards.charts import Chart
from dashboards.checks import check_connection, check_sql, dataset_source
from dashboards.dialects import DUCKDB
from dashboards.settings import DashboardSettings
from lakesql.settings import LakeSqlSettings
from producer.simulator import SimulationConfig

sys.path.insert(0, str(project_root()))  # the lake writer of the tests, run as a script from bench/
from dashboard_browser import browser_timings, write_position  # bench/ is the script's folder
from provenance import measured_commit, write_section

from core.iceberg_tables import TABLE_PROPERTIES
from core.tables import entity_lake_table
from tests.fleet_lake import fleet_rows
from tests.iceberg_lake import arrow_rows, iceberg_table

ROWS_PER_FILE = 2_000
TARGET_SIZE = "write.target-file-size-bytes"
COMMITS_PER_PASS = 60
"""Commits of each table between two maintenance passes: 10 minutes at a 10 s trigger."""


def build_lake(lake: Path, catalog: Catalog, vehicle_rows: int, vehicles: int) -> dict[str, int]:
    """One simulated journey of ``vehicles``, copied back in time with new vehicle ids up to ``vehicle_rows``."""
    shutil.rmtree(lake, ignore_errors=True)
    end = datetime.now(UTC).replace(microsecond=0)
    config = SimulationConfig(vehicles=vehicles, seed=7, start_time=end - timedelta(hours=3), step_seconds=5.0,
                              emergency_probability=0.002)  # fmt: skip
    journey = fleet_rows(config, catalog)
    span = max(r["event_time"] for r in journey["vehicle"]) - config.start_time + timedelta(minutes=5)
    totals: dict[str, int] = {}
    copy = 0
    while totals.get("vehicle", 0) < vehicle_rows:
        shift = span * copy
        moved = {
            name: [
                r
                | {
                    "vehicle_id": f"{r['vehicle_id'][:-4]}{copy:04d}",
                    "event_time": r["event_time"] - shift,
                    "kafka_timestamp": r["kafka_timestamp"] - shift,
                    "ingested_at": r["ingested_at"] - shift,
                }
                for r in rows
            ]
            for name, rows in journey.items()
        }
        for name, rows in moved.items():
            _append_in_small_files(lake, catalog, name, rows)
            totals[name] = totals.get(name, 0) + len(rows)
        copy += 1
    return totals


def _append_in_small_files(lake: Path, catalog: Catalog, name: str, rows: list[dict[str, Any]]) -> None:
    """One commit of ``rows``, in files of about :data:`ROWS_PER_FILE` rows (a small target file size for it)."""
    table = entity_lake_table(catalog.get(name))
    batch = arrow_rows(table, rows)
    target = iceberg_table(lake, table)
    small = max(1, batch.nbytes * ROWS_PER_FILE // max(1, batch.num_rows))
    with target.transaction() as tx:
        tx.set_properties({TARGET_SIZE: str(small)})
    target.append(pa.Table.from_batches(batch.to_batches(max_chunksize=ROWS_PER_FILE)))
    with target.transaction() as tx:
        tx.set_properties({TARGET_SIZE: TABLE_PROPERTIES[TARGET_SIZE]})


def data_files(lake: Path, catalog: Catalog) -> int:
    """The data files of every entity table's current snapshot."""
    return sum(len(iceberg_table(lake, entity_lake_table(s)).inspect.files()) for s in catalog.streams)


def compact(lake: Path, catalog: Catalog) -> int:
    """Rewrite every entity table's files in one commit each (files of the target size), as maintenance would."""
    for stream in catalog.streams:
        table = iceberg_table(lake, entity_lake_table(stream))
        table.overwrite(table.scan().to_arrow())
    return data_files(lake, catalog)


def before_next_pass(lake: Path, catalog: Catalog, commits: int = COMMITS_PER_PASS) -> int:
    """The files a dashboard reads just before the job's next maintenance pass: the rewritten ones, and the micro-batch
    files committed since (``commits``: 10 minutes at a 10 s trigger), made of each table's first rows again."""
    for stream in catalog.streams:
        table = iceberg_table(lake, entity_lake_table(stream))
        rows = table.scan(limit=commits * ROWS_PER_FILE).to_arrow()
        for start in range(0, rows.num_rows, ROWS_PER_FILE):
            table.append(rows.slice(start, ROWS_PER_FILE))
    return data_files(lake, catalog)


def timings(run: Callable[[], Any], runs: int) -> tuple[float, float]:
    """p50 and p95 in seconds of ``runs`` timed calls after one warm-up call."""
    run()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    ordered = sorted(seconds)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def chosen_values(con: Any, bundle: Bundle) -> dict[str, tuple[str, str]]:
    """Chart key -> (column, value) a dashboard's one-value filter holds when the dashboard opens: its first value.

    A dashboard sends its charts' queries with its filters' values; a one-value filter (the journey's vehicle)
    always holds one, the first by name at opening. Time filters' defaults are not applied here: their charts are
    timed over every row, more than the dashboards read.
    """
    chosen = {}
    for board in bundle.dashboards:
        for f in board.filters:
            if f.single and f.column and f.dataset is not None:
                source = f"{dataset_source(f.dataset, DUCKDB)} AS t"
                (first,) = con.execute(f"SELECT min({DUCKDB.column(f.column)}) FROM {source}").fetchone()  # noqa: S608
                chosen |= {c.key: (f.column, first) for c in board.charts if c.key not in f.excluded}
    return chosen


def _with_value(chart: Chart, picked: tuple[str, str] | None) -> Chart:
    if picked is None:
        return chart
    where = f"{DUCKDB.column(picked[0])} = {quote_literal(picked[1])}"
    if picked[0] in chart.dataset.filtered_inside:  # a map keeps its basemap under the filter (superset_sql)
        where = f"({where} OR {DUCKDB.column(picked[0])} IS NULL)"
    return dataclasses.replace(chart, where=f"({chart.where}) AND {where}" if chart.where else where)


def chart_request(
    api: requests.Session, settings: DashboardSettings, chart_id: int, picked: tuple[str, str] | None
) -> Callable[[], requests.Response]:
    """A call asking Superset for the chart's data as its dashboard does at opening (``picked``: a filter's value)."""
    if picked is None:
        url = f"{settings.url}/api/v1/chart/{chart_id}/data/?force=true"
        return lambda: api.get(url, timeout=120)
    saved = api.get(f"{settings.url}/api/v1/chart/{chart_id}", timeout=30).json()["result"]["query_context"]
    context = json.loads(saved) | {"force": True}
    for query in context["queries"]:
        query["filters"] = [*query.get("filters", []), {"col": picked[0], "op": "IN", "val": [picked[1]]}]
    return lambda: api.post(f"{settings.url}/api/v1/chart/data", json=context, timeout=120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def superset_api(env: dict[str, str]) -> tuple[requests.Session, DashboardSettings]:
    """Start Superset over the bench lake and log in to its API."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "dashboards", "up"], env={**os.environ, **env}, check=True,
                   cwd=project_root(), stdout=subprocess.DEVNULL)  # fmt: skip
    print(f"Superset up in {time.monotonic() - started:.0f}s")
    settings = DashboardSettings.from_env({**os.environ, **env})
    api = requests.Session()
    login = {"username": "admin", "password": (settings.home / "admin-password").read_text().strip(), "provider": "db"}
    api.headers["Authorization"] = "Bearer " + api.post(f"{settings.url}/api/v1/security/login", json=login,
                                                        timeout=30).json()["access_token"]  # fmt: skip
    return api, settings


def superset_rss_mb(settings: DashboardSettings) -> float:
    """Resident memory of Superset's gunicorn processes, MB."""
    pid = int((settings.home / "superset.pid").read_text().split()[0])
    ps = ["/usr/bin/ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)]
    out = subprocess.run(ps, capture_output=True, text=True, check=False).stdout
    return sum(int(x) for x in out.split()) / 1024


def _new_position(lake: Path, catalog: Catalog, n: int) -> str:
    """Write the n-th new vehicle's position; the fleet table names it by make, model and short id."""
    vehicle_id = f"b{n:05d}-live"
    write_position(lake, catalog, vehicle_id, "Bench", "Live")
    return f"Bench Live {vehicle_id[:6].upper()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicle-rows", type=int, default=1_000_000)
    parser.add_argument("--vehicles", type=int, default=100, help="vehicles of the simulated journey that is copied")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per chart and path")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    catalog = load_catalog()
    home = local_dir() / "bench-dashboards"
    lake = home / "lake"
    started = time.monotonic()
    totals = build_lake(lake, catalog, args.vehicle_rows, args.vehicles)
    files = data_files(lake, catalog)
    print(f"lake: {totals} in {files} files, written in {time.monotonic() - started:.0f}s")
    env = {"TELEMETRY_HOME": str(home), "TELEMETRY_LAKE": str(lake), "TELEMETRY_SUPERSET_PORT": str(_free_port())}
    api, settings = superset_api(env)
    bundle = build_bundle(catalog, settings.database, DUCKDB, settings.sqlalchemy_uri)
    listed = api.get(f"{settings.url}/api/v1/chart/", params={"q": "(columns:!(id,uuid),page_size:100)"}, timeout=30)
    ids = {c["uuid"]: c["id"] for c in listed.json()["result"]}
    con = check_connection(catalog, LakeSqlSettings.from_env({}, lake=str(lake)))
    layouts = [f"{files:,} files of at most {ROWS_PER_FILE:,} rows (the job's micro-batches)"]
    results: dict[str, list[tuple[float, float, float, float]]] = {}
    charts = [(board.title, chart) for board in bundle.dashboards for chart in board.charts]
    try:
        for layout in range(3):
            if layout == 1:
                layouts.append(f"{compact(lake, catalog):,} files, one per table and day (rewritten)")
            elif layout == 2:
                layouts.append(f"{before_next_pass(lake, catalog):,} files: B and, per table, up to "
                               f"{COMMITS_PER_PASS} files of {ROWS_PER_FILE:,} rows (the table's first rows again, "
                               "one commit each), as a 10 s trigger leaves them just before the next maintenance "
                               "pass")  # fmt: skip
            if layout:
                time.sleep(6)  # the view watcher's turn, although the views need no change
            con = check_connection(catalog, LakeSqlSettings.from_env({}, lake=str(lake)))
            chosen = chosen_values(con, bundle)
            for title, chart in charts:
                picked = chosen.get(chart.key)
                sql = check_sql(_with_value(chart, picked), DUCKDB)
                duck = timings(lambda sql=sql, con=con: con.execute(sql).fetchall(), args.runs)
                ask = chart_request(api, settings, ids[chart.uuid], picked)
                sup = timings(lambda ask=ask: ask().raise_for_status(), args.runs)
                results.setdefault(chart.key, []).append((*duck, *sup))
                print(f"{layout} {title:<16} {chart.title:<50} duckdb p50 {duck[0]:.3f}s p95 {duck[1]:.3f}s  "
                      f"superset p50 {sup[0]:.3f}s p95 {sup[1]:.3f}s")  # fmt: skip
            con.close()
        seen = browser_timings(settings, [b.key for b in bundle.dashboards], args.runs,
                               lambda n: _new_position(lake, catalog, n))  # fmt: skip
        memory = superset_rss_mb(settings)
    finally:
        subprocess.run([sys.executable, "-m", "dashboards", "down"], env={**os.environ, **env}, check=False,
                       cwd=project_root(), stdout=subprocess.DEVNULL)  # fmt: skip
    rows = [(title, chart.title, results[chart.key]) for title, chart in charts]
    worst = [max(r[2][i][3] for r in rows) for i in range(3)]
    others = ", ".join(f"{k} {v:,}" for k, v in totals.items() if k != "vehicle")
    lines = [
        "## Dashboards",
        "",
        f"Command: `.venv/bin/python bench/dashboard_bench.py` ({datetime.now(UTC):%Y-%m-%d}, {measured_commit()}, "
        f"{platform.machine()}, "
        f"{os.cpu_count()} cores). Lake: {totals['vehicle']:,} vehicle rows ({others}), timed in three layouts: "
        f"A, {layouts[0]}, which only a lake with maintenance off keeps; B, {layouts[1]}, as the job's maintenance "
        f"pass leaves them; C, {layouts[2]}. Each chart's query ran {args.runs} times after one warm-up, in DuckDB "
        "(the chart's SQL from `dashboards/checks.py`, on the views Superset reads) and through Superset's chart "
        "data API (`force=true`; the data cache is off anyway), as its dashboard asks at opening for a filter that "
        "always holds a value (the journey's vehicle: the first by name); time filters' defaults are not applied "
        f"(every row is read). Superset's memory after the run: {memory:.0f} MB "
        "(gunicorn, one worker, eight threads). Seconds:",
        "",
        "| dashboard | chart | "
        + " | ".join(f"{x}: DuckDB p95 | {x}: Superset p50 | {x}: Superset p95" for x in "ABC")
        + " |",
        "|---|---|" + "---:|" * 9,
        *(
            f"| {b} | {c} | " + " | ".join(f"{t[1]:.3f} | {t[2]:.3f} | {t[3]:.3f}" for t in ts) + " |"
            for b, c, ts in rows
        ),
        "",
        f"Slowest chart through Superset, p95: {worst[0]:.3f} s in layout A, {worst[1]:.3f} s in layout B, "
        f"{worst[2]:.3f} s in layout C (target: under 1 s for every chart).",
        "",
        f"In a headless Chromium on layout C, from opening each dashboard to every chart drawn ({args.runs} opens "
        "after one untimed), seconds (target: p95 under 3 s):",
        "",
        "| dashboard | p50 | p95 |",
        "|---|---:|---:|",
        *(f"| {slug} | {p50:.2f} | {p95:.2f} |" for slug, (p50, p95) in seen["drawn"].items()),
        "",
        f"A new position on the open fleet dashboard, from its write into the lake (at a random moment of the "
        "dashboard's refresh cycle) to its name on the page: p50 "
        f"{seen['live'][0]:.1f} s, p95 {seen['live'][1]:.1f} s ({args.runs} positions; add the streaming job's "
        "trigger interval for the delay from a send; target with the job: p50 5 s, p95 10 s).",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section(section, project_root() / "docs" / "benchmarks.md")
        print("written to docs/benchmarks.md")


if __name__ == "__main__":
    main()
