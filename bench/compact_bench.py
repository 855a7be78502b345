"""Files per partition and the day's query times, before and after ``python -m streaming compact``.

One simulated day of the streaming job's output (``tests/batch_lake.py``): ``--batches`` micro-batches
(8,640 is a day at the default 10 s trigger), each one file per table, with ``--per-batch`` vehicle
rows (gps and weather as many, traffic and emergency in the simulator's proportion), written straight
with pyarrow as the job lays them out, with the job's claims and commit logs. Then, before and after
compaction: the files per table and day, the time to open the DuckDB views (``lakesql.engine.connect``,
which reads the files' footers) and each named query of ``core/queries.py`` (the best of ``--runs``,
after one warm-up). Compaction runs as users run it (``python -m streaming compact --all``). Targets: at
most 100 files per table and day, and each of the day's queries under 2 s. The table goes to stdout
and to the "## Compaction" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from core.catalog import load_catalog, project_root
from core.queries import QUERIES
from core.settings import local_dir
from core.tables import lake_tables
from lakesql.engine import connect
from lakesql.queries import duckdb_sql
from lakesql.settings import LakeSqlSettings

sys.path.insert(0, str(project_root()))  # the lake writer of the tests, run as a script from bench/
from produce_bench import write_section  # bench/ is the script's folder

from tests.batch_lake import journey, write_day

DAY = date(2025, 3, 1)


def best(call: Callable[[], object], runs: int) -> float:
    """The best of ``runs`` timed calls, after one untimed warm-up."""
    call()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return min(times)


def measure(lake: Path, runs: int) -> tuple[dict[str, int], float, dict[str, float]]:
    """Files per table (one day), seconds to open the views, and each named query's best seconds."""
    catalog = load_catalog()
    counts = {t.name: len(list((lake / t.path).glob("dt=*/*.parquet"))) for t in lake_tables(catalog)}
    settings = LakeSqlSettings.from_env({}, lake=str(lake))
    began = time.perf_counter()
    con = connect(catalog, settings)
    opened = time.perf_counter() - began
    timings = {}
    for query in QUERIES:
        sql = duckdb_sql(query, settings.database)
        timings[query.name] = best(lambda sql=sql: con.execute(sql).fetchall(), runs)
        print(f"  {query.name:<28} {timings[query.name]:.3f} s")
    con.close()
    return {k: v for k, v in counts.items() if v}, opened, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=8_640, help="micro-batches in the day (8,640: 10 s each)")
    parser.add_argument("--per-batch", type=int, default=100, help="vehicle rows per micro-batch")
    parser.add_argument("--target-mb", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    catalog = load_catalog()
    root = local_dir() / "bench" / "compact"
    shutil.rmtree(root, ignore_errors=True)
    lake = root / "lake"
    began = time.perf_counter()
    rows = write_day(lake, root / "checkpoints", catalog, journey(catalog, vehicles=20, steps=240), day=DAY,
                     batches=args.batches, per_batch=args.per_batch)  # fmt: skip
    print(f"wrote {args.batches:,} batches in {time.perf_counter() - began:.0f} s: {rows}")
    print("before")
    before = measure(lake, args.runs)
    command = [sys.executable, "-m", "streaming", "compact", "--lake", str(lake), "--all",
               "--target-mb", str(args.target_mb)]  # fmt: skip
    began = time.perf_counter()
    subprocess.run(command, check=True, cwd=project_root(), env={**os.environ, "TELEMETRY_LOG_LEVEL": "WARNING"})
    took = time.perf_counter() - began
    print(f"compacted in {took:.1f} s\nafter")
    after = measure(lake, args.runs)
    size = sum(p.stat().st_size for p in lake.rglob("*.parquet")) / 1024 / 1024
    lines = [
        "## Compaction",
        "",
        f"Command: `.venv/bin/python bench/compact_bench.py --batches {args.batches} --per-batch {args.per_batch}` "
        f"({datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, shared with other work). "
        f"One simulated day ({DAY}) of the job's output: {args.batches:,} micro-batches, one file per table and "
        f"batch, {', '.join(f'{k} {v:,}' for k, v in rows.items())} rows ({size:.0f} MB once compacted), written "
        "with pyarrow in the job's layout (`tests/batch_lake.py`). Then `python -m streaming compact --all "
        f"--target-mb {args.target_mb}`, which took {took:.1f} s. Query times are DuckDB's, on the views of "
        f"`python -m lakesql` (best of {args.runs} after a warm-up); opening the views reads every file's footer.",
        "",
        "| | files per table and day | open the views (s) | " + " | ".join(f"`{q.name}` (s)" for q in QUERIES) + " |",
        "|---|---|---:|" + "---:|" * len(QUERIES),
    ]
    for label, (counts, opened, timings) in (("before", before), ("after", after)):
        spread = f"{min(counts.values()):,} to {max(counts.values()):,}"
        cells = " | ".join(f"{timings[q.name]:.3f}" for q in QUERIES)
        lines.append(f"| {label} | {spread} | {opened:.2f} | {cells} |")
    slowest = max(after[2].values())
    lines += [
        "",
        f"After compaction: at most {max(after[0].values())} file(s) per table and day (target: 100), and the "
        f"slowest of the day's queries took {slowest:.3f} s (target: under 2 s).",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section(section, project_root() / "docs" / "benchmarks.md")


if __name__ == "__main__":
    main()
