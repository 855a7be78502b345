"""A simulated day of the job's commits with its maintenance schedule: files per table and day, and snapshots.

The job commits a file per table, day and micro-batch (after a small batch, one task writes it). This replays
that for ``--hours`` of simulated time at a ``--trigger`` (10 s): every trigger appends a few rows of the
vehicle table, two days of event time (today's and a late event of yesterday), in one commit through the job's
own commit path (:class:`streaming.commit.TableCommitter`: a Spark append recording a query id and batch id);
every ``--interval-minutes`` (10) of simulated time it
runs the job's maintenance pass (:func:`streaming.maintain.maintain_table`, manifests and orphans every
sixth pass) with a local Spark. Snapshot retention runs on the simulated clock: the cut-off is the real time
of the commit made ``retention`` simulated hours earlier. At the end it counts the files each day's partition
has in the current snapshot (what a query opens), the data files on disk, and the snapshots kept. The table goes
to stdout and to the "## Files per table and day" section of docs/benchmarks.md.

A day of commits one at a time takes long (a Spark append of two rows costs 0.3-0.6 s on a 2-core machine,
and every commit writes the table's metadata again, which lists every snapshot kept). ``--fast-forward-hours H``
appends the first H simulated hours a maintenance interval per commit (the same rows, the same passes): at most
``--hours`` minus the retention minus one interval, so every snapshot kept at the end, and every small file a
query opens then, comes from commits at the trigger.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from core.catalog import load_catalog, project_root
from core.iceberg_tables import ensure_tables, open_catalog
from core.tables import lake_tables
from streaming.commit import TableCommitter
from streaming.maintain import FULL_EVERY, MaintenanceSettings, maintain_table
from streaming.session import get_spark
from streaming.settings import StreamingSettings

sys.path.insert(0, str(project_root()))
from provenance import measured_commit, write_section  # bench/ is the script's folder


def _batch(schema: pa.Schema, batch: int, now: datetime) -> pa.Table:
    """Two rows: one of the simulated moment, one late event of the day before."""
    times = [now, now - timedelta(days=1)]
    columns = {f.name: pa.nulls(2, f.type) for f in schema}
    columns["id"] = pa.array([f"{batch}-0", f"{batch}-1"], pa.string())
    columns["event_time"] = pa.array(times, schema.field("event_time").type)
    columns["kafka_offset"] = pa.array([2 * batch, 2 * batch + 1], pa.int64())
    return pa.table(columns, schema=schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default a day)")
    parser.add_argument("--trigger", type=float, default=10.0, help="seconds between the job's batches")
    parser.add_argument("--interval-minutes", type=float, default=10.0, help="minutes between maintenance passes")
    parser.add_argument("--retention-hours", type=float, default=6.0, help="snapshot retention")
    parser.add_argument(
        "--fast-forward-hours",
        type=float,
        default=0.0,
        help="append the first H simulated hours one maintenance interval per commit (faster; keep H at most "
        "--hours minus the retention minus an interval, so every snapshot and file counted at the end comes "
        "from commits at the trigger)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    if args.fast_forward_hours > max(0.0, args.hours - args.retention_hours - args.interval_minutes / 60):
        parser.error("--fast-forward-hours must leave the retention and one interval at the trigger")
    catalog = load_catalog()
    root = project_root()
    with tempfile.TemporaryDirectory(prefix="maintenance-bench-") as base:
        settings = StreamingSettings.from_env({"TELEMETRY_HOME": base}, lake=str(Path(base) / "lake"))
        iceberg = settings.iceberg()
        ensure_tables(iceberg, [t for t in lake_tables(catalog) if t.name == "vehicle"])
        identifier = iceberg.table_id("vehicle")
        table = open_catalog(iceberg).load_table(identifier)
        schema = table.schema().as_arrow()
        spark = get_spark(settings, app_name="maintenance-bench")
        committer = TableCommitter(open_catalog(iceberg), {identifier: iceberg.spark_table("vehicle")}, "bench")
        maintenance = MaintenanceSettings(iceberg, retention=timedelta(hours=args.retention_hours))
        start = datetime(2025, 3, 1, tzinfo=UTC)
        batches = int(args.hours * 3600 / args.trigger)
        per_pass = max(1, int(args.interval_minutes * 60 / args.trigger))
        kept = int(args.retention_hours * 3600 / args.trigger)
        committed_at: list[datetime] = []
        passes = 0
        began = time.monotonic()
        # Batches before ``fast`` are appended a maintenance interval at a time (the same rows, one commit).
        fast = min(batches, int(args.fast_forward_hours * 3600 / args.trigger) // per_pass * per_pass)
        for batch in range(batches):
            if batch >= fast or (batch + 1) % per_pass == 0:
                first = batch if batch >= fast else batch + 1 - per_pass
                rows = pa.concat_tables(
                    _batch(schema, n, start + timedelta(seconds=n * args.trigger)) for n in range(first, batch + 1)
                )
                committer.append(spark.createDataFrame(rows), identifier, batch)
            committed_at.append(datetime.now(UTC))
            if (batch + 1) % per_pass == 0:
                passes += 1
                cutoff = committed_at[max(0, batch - kept)]
                maintain_table(spark, maintenance, identifier, now=cutoff + maintenance.retention,
                               full=passes % FULL_EVERY == 0)  # fmt: skip
                hours = (batch + 1) * args.trigger / 3600
                print(f"{hours:5.2f} h simulated, pass {passes}, {time.monotonic() - began:.0f} s", flush=True)
        elapsed = time.monotonic() - began
        table = table.refresh()
        live = Counter(str(p["event_time_day"]) for p in table.inspect.files().column("partition").to_pylist())
        on_disk = sum(1 for _ in (Path(base) / "lake" / "smartcity" / "vehicle" / "data").rglob("*.parquet"))
        snapshots = len(table.snapshots())
        spark.stop()
    lines = [
        "## Files per table and day",
        "",
        f"Command: `{' '.join(['.venv/bin/python bench/maintenance_bench.py', *sys.argv[1:]])}` "
        f"({datetime.now(UTC):%Y-%m-%d}, {measured_commit()}, "
        f"{platform.machine()}, "
        f"{os.cpu_count()} cores, {elapsed:.0f} s). {batches:,} commits of the vehicle table ({args.hours:g} h at a "
        f"{args.trigger:g} s trigger, each a file for today and one late file for yesterday), a maintenance pass every "
        f"{args.interval_minutes:g} min ({passes} passes), snapshots kept {args.retention_hours:g} h."
        + (
            f" The first {args.fast_forward_hours:g} h were appended an interval per commit (`--fast-forward-hours`),"
            " the rest a commit per trigger."
            if fast
            else ""
        ),
        "",
        "| day partition | files in the current snapshot |",
        "|---|---:|",
        *(f"| {day} | {n} |" for day, n in sorted(live.items())),
        "",
        f"Data files on disk (kept for time travel until their snapshots expire): {on_disk:,}. "
        f"Snapshots kept: {snapshots:,}.",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section(section, root / "docs" / "benchmarks.md")
        print("written to docs/benchmarks.md")


if __name__ == "__main__":
    main()
