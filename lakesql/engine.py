"""A DuckDB over the local lake: the local stand-in for Athena.

:func:`connect` opens an in-memory DuckDB with one view per lake table in a schema named like the
Glue database (also on the search path, so ``FROM vehicle`` works too). Use Athena for a lake on S3;
this reads local folders only.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from core.catalog import Catalog
from core.errors import CatalogError
from core.sql import quote_identifier, quote_literal
from core.tables import LakeTable, lake_tables
from lakesql.settings import LakeSqlSettings
from lakesql.views import files_glob, view_sql

__all__ = ["ColumnsOf", "QueryResult", "connect", "run_sql", "view_columns", "views_sql"]


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of a query."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def _present_columns(con: duckdb.DuckDBPyConnection, lake: Path, table: LakeTable) -> list[str] | None:
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


ColumnsOf = Callable[[LakeTable], Collection[str] | None]
"""The columns a table's files have (as ``union_by_name`` reads them), or None when it has no file yet."""


def views_sql(catalog: Catalog, settings: LakeSqlSettings, columns_of: ColumnsOf | None = None) -> list[str]:
    """The statements that make the schema and one view per table over the lake as it is now.

    Args:
        catalog: the schema catalog.
        settings: the lake and the schema of the views.
        columns_of: what each table's files hold; by default DuckDB reads every file's footer.

    Raises:
        ConfigError: the lake is not a local folder.
        CatalogError: a table's files cannot be read.
    """
    lake = settings.lake.local_path
    if columns_of is None:
        probe = duckdb.connect(":memory:")
        columns_of = partial(_present_columns, probe, lake)
    statements = [f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(settings.database)}"]
    statements += [view_sql(settings.database, table, lake, columns_of(table)) for table in lake_tables(catalog)]
    return statements


def connect(catalog: Catalog, settings: LakeSqlSettings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per table, in schema ``settings.database``.

    Raises:
        ConfigError: the lake is not a local folder.
        CatalogError: its files cannot be read or do not fit the schemas.
    """
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")  # event times are UTC; show them so
    for statement in views_sql(catalog, settings, partial(_present_columns, con, settings.lake.local_path)):
        try:
            con.execute(statement)
        except duckdb.Error as exc:
            msg = f"the lake's files under {settings.lake.local_path} do not fit the schemas: {exc}"
            raise CatalogError(msg) from exc
    con.execute(f"SET search_path = {quote_literal(settings.database + ',main')}")
    return con


def view_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    """``(name, DuckDB type)`` of a view's columns, in order (the partition column ``dt`` last)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]


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
