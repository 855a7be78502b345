"""SQL on the local lake with DuckDB: the local stand-in for Athena.

:func:`connect` opens an in-memory DuckDB with one view per generated table in a schema named like
the Glue database (also on the search path, so ``FROM vehicle`` works too). Use Athena for a lake
on S3; this reads local folders only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import duckdb

from core.catalog import Catalog
from core.errors import CatalogError
from glue.duckdb_types import quote_identifier
from glue.settings import GlueSettings
from glue.tables import TableDefinition, table_definitions
from glue.views import files_glob, view_sql

__all__ = ["QueryResult", "connect", "format_result", "local_lake", "print_result", "run_sql", "view_columns"]


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of a query."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def local_lake(settings: GlueSettings) -> Path:
    """The lake folder; refuses an S3 lake (query it with Athena)."""
    if settings.lake_s3 is not None:
        msg = (
            f"the local query engine reads a lake folder, but TELEMETRY_LAKE is {settings.lake}; query an S3 lake "
            "with Athena (docs/athena-queries.md)"
        )
        raise CatalogError(msg)
    lake = settings.lake.removeprefix("file://")
    return Path(lake).expanduser().resolve()


def _present_columns(con: duckdb.DuckDBPyConnection, lake: Path, table: TableDefinition) -> list[str] | None:
    glob = files_glob(lake, table)
    if not any(Path(lake / table.path).glob("dt=*/*.parquet")):
        return None
    try:
        described = con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = true, union_by_name = true)", [glob]
        ).fetchall()
    except duckdb.Error as exc:
        msg = f"cannot read the Parquet files of table {table.name} ({glob}): {exc}"
        raise CatalogError(msg) from exc
    return [str(row[0]) for row in described]


def connect(catalog: Catalog, settings: GlueSettings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per table, in schema ``settings.database``.

    Raises:
        CatalogError: the lake is on S3, or its files cannot be read.
    """
    lake = local_lake(settings)
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")  # event times are UTC; show them so
    schema = quote_identifier(settings.database)
    con.execute(f"CREATE SCHEMA {schema}")
    for table in table_definitions(catalog, settings):
        try:
            con.execute(view_sql(settings.database, table, lake, _present_columns(con, lake, table)))
        except duckdb.Error as exc:
            msg = f"the files of table {table.name} under {lake / table.path} do not fit its schema: {exc}"
            raise CatalogError(msg) from exc
    con.execute(f"SET search_path = {_sql_string(settings.database + ',main')}")
    return con


def view_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    """``(name, DuckDB type)`` of a view's columns, in order (the partition column ``dt`` last)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run_sql(con: duckdb.DuckDBPyConnection, sql: str) -> QueryResult:
    """Run one statement; a SQL error becomes a one-line CatalogError."""
    try:
        cursor = con.execute(sql)
        columns = tuple(d[0] for d in cursor.description or ())
        rows = tuple(tuple(row) for row in cursor.fetchall()) if columns else ()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"query failed: {first}"
        raise CatalogError(msg) from exc
    return QueryResult(columns, rows)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def format_result(result: QueryResult, title: str, *, limit: int = 50, max_width: int = 40) -> str:
    """A result as an aligned text table under its title, at most ``limit`` rows, with the row count."""
    shown = [[_clip(_cell(v), max_width) for v in row] for row in result.rows[:limit]]
    header = list(result.columns)
    widths = [max([len(h), *(len(r[i]) for r in shown)]) for i, h in enumerate(header)]
    numeric = [bool(shown) and all(_is_number(r[i]) for r in shown) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = (c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    count = len(result.rows)
    more = f", showing the first {limit}" if count > limit else ""
    lines = [title, rule, line(header), rule, *(line(r) for r in shown), rule]
    lines.append(f"{count} row{'s' if count != 1 else ''}{more}")
    return "\n".join(lines) + "\n"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == "NULL"
    return True


def print_result(result: QueryResult, title: str, *, limit: int = 50, out: TextIO | None = None) -> None:
    """Print :func:`format_result` to ``out`` (standard output by default), then a blank line."""
    stream = out or sys.stdout
    stream.write(format_result(result, title, limit=limit) + "\n")
    stream.flush()
