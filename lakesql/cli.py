"""``python -m lakesql query``: SQL on the local lake with DuckDB (``make query``).

Examples::

    python -m lakesql query                          # every named query
    python -m lakesql query --name last-position     # the Athena text of docs/athena-queries.md
    python -m lakesql query --sql "SELECT count(*) FROM vehicle"
    python -m lakesql query --list
    python -m lakesql query --sql "SELECT count(*) FROM vehicle" --as-of "2025-06-01 08:30:00"
    python -m lakesql query --sql "SELECT count(*) FROM vehicle" --snapshot 4213412093134560012
    python -m lakesql snapshots vehicle              # the snapshots time travel can read
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from rich.console import Console

from core.catalog import load_catalog
from core.cli import run_cli
from core.errors import ConfigError
from core.tables import lake_tables
from lakesql.engine import QueryResult, connect, run_sql
from lakesql.output import print_result
from lakesql.queries import QUERIES, duckdb_sql, named_query
from lakesql.settings import LakeSqlSettings
from lakesql.snapshots import SNAPSHOT_COLUMNS, ReadAt, snapshot_rows

__all__ = ["main", "parse_args"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m lakesql", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    querying = commands.add_parser("query", help="SQL on the local lake with DuckDB")
    listing = commands.add_parser("snapshots", help="a table's snapshots (what --snapshot and --as-of can read)")
    listing.add_argument("table", help="a table: vehicle, gps, ..., vehicle_quarantine, ...")
    for command in (querying, listing):
        command.add_argument("--lake", help="the lake (default TELEMETRY_LAKE or .local/lake)")
        command.add_argument("--database", help="schema of the views (default TELEMETRY_GLUE_DATABASE or smartcity)")
    chosen = querying.add_mutually_exclusive_group()
    chosen.add_argument("--name", help=f"one named query: {', '.join(q.name for q in QUERIES)}")
    chosen.add_argument("--sql", help="your own SQL; tables are the entity names (vehicle, gps, ...)")
    chosen.add_argument(
        "--sql-from-env",
        action="store_true",
        help="your own SQL from TELEMETRY_QUERY_SQL (what `make query SQL=...` uses: no shell reads it)",
    )
    chosen.add_argument("--list", action="store_true", help="list the named queries")
    querying.add_argument("--limit", type=int, default=50, help="rows to print per query (default 50)")
    past = querying.add_mutually_exclusive_group()
    past.add_argument("--snapshot", help="read the table holding this snapshot id at it (the others as they are now)")
    past.add_argument(
        "--as-of", help="read every table as it was at this time (ISO 8601; UTC unless an offset is given)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = parse_args(argv)
    console = Console(soft_wrap=True)
    if args.command == "snapshots":
        settings = LakeSqlSettings.from_env(lake=args.lake, database=args.database)
        names = [t.name for t in lake_tables(load_catalog())]
        if args.table not in names:
            msg = f"no table named {args.table!r}; known: {', '.join(names)}"
            raise ConfigError(msg)
        rows = tuple(snapshot_rows(settings.iceberg, args.table))
        print_result(QueryResult(SNAPSHOT_COLUMNS, rows), f"snapshots of {settings.iceberg.table_id(args.table)}",
                     limit=len(rows) or 1)  # fmt: skip
        return 0
    if args.list:
        for query in QUERIES:
            console.print(f"{query.name:28} {query.title}", markup=False, highlight=False)
        return 0
    if args.sql_from_env:
        args.sql = os.environ.get("TELEMETRY_QUERY_SQL", "")
        if not args.sql.strip():
            msg = '--sql-from-env: TELEMETRY_QUERY_SQL is empty; give the SQL in it (make query SQL="...")'
            raise ConfigError(msg)
    at = ReadAt.parse(args.snapshot, args.as_of)
    settings = LakeSqlSettings.from_env(lake=args.lake, database=args.database)
    if settings.lake.is_local and not settings.lake.local_path.is_dir():
        console.print(f"note: the lake folder {settings.lake.path} does not exist yet (run `make stream`); "
                      "every table is empty", markup=False, highlight=False)  # fmt: skip
    con = connect(load_catalog(), settings, at)
    try:
        if args.sql:
            print_result(run_sql(con, args.sql), "your query", limit=args.limit)
            return 0
        chosen = [named_query(args.name)] if args.name else list(QUERIES)
        for query in chosen:
            print_result(run_sql(con, duckdb_sql(query, settings.database)), query.title, limit=args.limit)
    finally:
        con.close()
    return 0


def entry() -> None:
    """Console entry point: expected failures print one line and exit non-zero."""
    run_cli(main)
