"""``python -m streaming run|show|compact``: stream Kafka into the lake, show what landed, compact it.

``run`` streams continuously (micro-batches every ``--trigger-interval``) until Ctrl-C, or with
``--available-now`` drains what is in Kafka and stops. The same entry point works under
``spark-submit`` (see :mod:`streaming.submit`). ``compact`` rewrites the small files of partitions
older than the lateness window into files of a target size (see :mod:`streaming.compact`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.catalog import load_catalog, project_root
from core.errors import ConfigError, TelemetryError
from core.settings import env_str
from streaming.settings import STARTING_OFFSETS, StreamingSettings

__all__ = ["main", "parse_args", "settings_from_args"]


def _say(message: str) -> None:
    print(message, flush=True)  # noqa: T201 - this is a CLI


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m streaming",
        description="Stream the telemetry topics from Kafka into the Parquet lake, decoding each record "
        "with its writer schema; bad records go to the quarantine.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the streaming job (Ctrl-C stops it cleanly)")
    run.add_argument("--available-now", action="store_true", help="drain what is in Kafka now, then stop")
    run.add_argument("--trigger-interval", default="10s", help="time between micro-batches (default 10s)")
    run.add_argument(
        "--starting-offsets",
        choices=STARTING_OFFSETS,
        default="earliest",
        help="where a new checkpoint starts reading (default earliest); an existing checkpoint resumes",
    )
    run.add_argument(
        "--max-offsets-per-trigger", type=int, help="at most this many records per micro-batch of each topic"
    )
    run.add_argument(
        "--registry-refresh",
        type=float,
        help="seconds between look-ups of each subject's versions (default 30); the cache carries registry outages",
    )
    run.add_argument("--entities", help="comma-separated entities to stream (default: all)")
    run.add_argument("--checkpoints", help="checkpoint root (default TELEMETRY_CHECKPOINTS or .local/checkpoints)")
    run.add_argument("--master", dest="spark_master", help="Spark master when not under spark-submit (local[2])")
    for sub in (run, commands.add_parser("show", help="rows per table and quarantine, and a few rows")):
        sub.add_argument("--lake", help="lake root: a folder or s3a://bucket/prefix (default TELEMETRY_LAKE)")
        sub.add_argument("--topic-prefix", help="prefix of topics and subjects (default TELEMETRY_TOPIC_PREFIX)")
        sub.add_argument("--bootstrap-servers", help="Kafka bootstrap servers (default TELEMETRY_BOOTSTRAP_SERVERS)")
        sub.add_argument("--registry-url", help="schema registry URL (default TELEMETRY_REGISTRY_URL)")
    show = commands.choices["show"]
    show.add_argument("--rows", type=int, default=3, help="rows to print per table (default 3)")
    compact = commands.add_parser(
        "compact", help="merge the small files of older partitions into files of a target size"
    )
    compact.add_argument("--lake", help="lake root: a folder or s3://bucket/prefix (default TELEMETRY_LAKE)")
    compact.add_argument(
        "--target-mb", type=int, help="size of the files to write (default TELEMETRY_COMPACT_TARGET_MB or 128)"
    )
    compact.add_argument(
        "--lateness-days",
        type=int,
        help="leave partitions dated within this many days before today (default TELEMETRY_COMPACT_LATENESS_DAYS or 1)",
    )
    compact.add_argument("--before", help="compact partitions dated before this day (YYYY-MM-DD) instead")
    compact.add_argument("--all", dest="every_partition", action="store_true", help="compact every partition")
    compact.add_argument("--tables", help="comma-separated tables (default: all, quarantines included)")
    package = commands.add_parser("package", help="build the code archive for spark-submit --py-files")
    package.add_argument("--out", help="the zip to write (default <TELEMETRY_BUILD_DIR or build>/telemetry.zip)")
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> StreamingSettings:
    """The job's settings: environment, overridden by the flags given."""
    flags = {k: v for k, v in vars(args).items() if k not in ("command", "rows", "out")}
    if flags.get("max_offsets_per_trigger") is not None and flags["max_offsets_per_trigger"] < 1:
        msg = f"--max-offsets-per-trigger must be at least 1, got {flags['max_offsets_per_trigger']}"
        raise ConfigError(msg)
    return StreamingSettings.from_env(**flags)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; expected failures raise TelemetryError (one line, via core.cli.run_cli)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "package":
        from streaming.package import build_archive

        default = Path(env_str(os.environ, "TELEMETRY_BUILD_DIR", str(project_root() / "build"))) / "telemetry.zip"
        _say(f"wrote {build_archive(Path(args.out) if args.out else default)}")
        return 0
    if args.command == "compact":
        return _compact(args)
    settings = settings_from_args(args)
    catalog = load_catalog()
    if args.command == "show":
        from streaming.show import report_lines

        for line in report_lines(settings, catalog, sample=args.rows):
            _say(line)
        return 0
    from streaming.job import run

    summary = run(settings, catalog=catalog)
    rows = ", ".join(f"{table} {n}" for table, n in sorted(summary.rows.items()) if n) or "no new rows"
    how = "stopped" if summary.stopped_by_user else "done"
    _say(f"{how}: {summary.batches} batch(es), {rows}; lake {settings.lake}")
    return 0


def _compact(args: argparse.Namespace) -> int:
    from streaming.compact import compact_lake
    from streaming.compact_settings import CompactSettings

    settings = CompactSettings.from_env(
        lake=args.lake,
        target_mb=args.target_mb,
        lateness_days=args.lateness_days,
        before=args.before,
        every_partition=args.every_partition,
        tables=args.tables,
    )
    try:
        reports = compact_lake(settings, load_catalog(), say=_say)
    except OSError as exc:  # pyarrow's I/O errors: a disk, S3 or a file gone under it
        msg = f"compaction stopped: {exc}; run it again: it finishes what it began, and no row is lost or doubled"
        raise TelemetryError(msg) from exc
    when = f"dated before {settings.before}" if settings.before else "of every day"
    for report in reports:
        if report.partitions or report.recovered:
            finished = f"; finished {report.recovered} interrupted swap(s)" if report.recovered else ""
            _say(f"{report.table}: {report.partitions} partition(s), {report.files_before:,} file(s) -> "
                 f"{report.files_after:,}{finished}")  # fmt: skip
    total = sum(r.partitions for r in reports)
    _say(f"compacted {total} partition(s) {when} in {settings.lake.catalog_uri()}")
    return 0
