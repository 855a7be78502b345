"""``python -m streaming run|show|maintain|import-parquet``: stream Kafka into the lake's Iceberg tables.

``run`` streams continuously (micro-batches every ``--trigger-interval``) until Ctrl-C, or with
``--available-now`` drains what is in Kafka and stops. The same entry point works under
``spark-submit`` (see :mod:`streaming.submit`). ``show`` prints what landed; ``maintain`` runs one pass of
table maintenance (see :mod:`streaming.maintain`; a continuous job runs it on a schedule too);
``import-parquet`` imports a lake of the earlier Parquet layout once (see :mod:`streaming.importer`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.catalog import Catalog, load_catalog, project_root
from core.errors import ConfigError
from core.settings import env_str
from streaming.settings import STARTING_OFFSETS, StreamingSettings

__all__ = ["main", "parse_args", "settings_from_args"]


def _say(message: str) -> None:
    print(message, flush=True)  # noqa: T201 - this is a CLI


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m streaming",
        description="Stream the telemetry topics from Kafka into the lake's Iceberg tables, decoding each record "
        "with its writer schema; bad records go to the quarantine tables.",
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
    maintain = commands.add_parser(
        "maintain", help="rewrite small files, expire snapshots, remove orphan files, rewrite manifests"
    )
    importer = commands.add_parser(
        "import-parquet", help="import a lake of the earlier Parquet layout into the Iceberg tables, once"
    )
    for sub in (maintain, importer):
        sub.add_argument("--lake", help="lake root: a folder or s3://bucket/prefix (default TELEMETRY_LAKE)")
        sub.add_argument("--master", dest="spark_master", help="Spark master (default local[2])")
    maintain.add_argument("--tables", help="comma-separated tables (default: every table, quarantines included)")
    package = commands.add_parser("package", help="build the code archive for spark-submit --py-files")
    package.add_argument("--out", help="the zip to write (default <TELEMETRY_BUILD_DIR or build>/telemetry.zip)")
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> StreamingSettings:
    """The job's settings: environment, overridden by the flags given."""
    flags = {k: v for k, v in vars(args).items() if k not in ("command", "rows", "out", "tables")}
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
    settings = settings_from_args(args)
    catalog = load_catalog()
    if args.command == "maintain":
        return _maintain(settings, catalog, args.tables)
    if args.command == "import-parquet":
        from streaming.importer import import_lake

        for line in import_lake(settings, catalog):
            _say(line)
        return 0
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


def _maintain(settings: StreamingSettings, catalog: Catalog, tables: str | None) -> int:
    from core.iceberg_tables import ensure_tables
    from core.tables import lake_tables
    from streaming.maintain import MaintenanceSettings, maintain
    from streaming.session import get_spark

    iceberg = settings.iceberg()
    maintenance = MaintenanceSettings.from_env(iceberg)
    known = [t.name for t in lake_tables(catalog)]
    chosen = [t.strip() for t in tables.split(",") if t.strip()] if tables else known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        msg = f"unknown table(s) {', '.join(unknown)}; the lake's tables are {', '.join(known)}"
        raise ConfigError(msg)
    ensure_tables(iceberg, [t for t in lake_tables(catalog) if t.name in chosen])
    spark = get_spark(settings, app_name="telemetry-maintenance")
    try:
        maintain(spark, maintenance, [iceberg.table_id(t) for t in chosen], say=_say)
    finally:
        spark.stop()
    _say(f"maintained {len(chosen)} table(s) of {settings.lake}")
    return 0
