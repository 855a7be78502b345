"""A DuckDB over the lake's Iceberg tables: the local stand-in for Athena.

:func:`connect` opens an in-memory DuckDB (extensions from their packages, never downloaded: see
:mod:`lakesql.extensions`) with one view per lake table in a schema named like the Glue database (also
on the search path, so ``FROM vehicle`` works too). Each view reads its table's current snapshot as the
catalog has it when the views are made, or the snapshot chosen by ``at`` (time travel). A lake on S3 is
read through httpfs with the default AWS credential chain and ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
import duckdb

from core.catalog import Catalog
from core.errors import CatalogError, ConfigError
from core.sql import quote_identifier, quote_literal
from core.tables import lake_tables
from lakesql.extensions import lake_duckdb
from lakesql.settings import LakeSqlSettings
from lakesql.snapshots import MetadataCache, ReadAt, TableSource, table_sources
from lakesql.views import view_sql

__all__ = ["QueryResult", "connect", "position_counts", "run_sql", "table_counts", "view_columns", "views_sql"]


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of a query."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def views_sql(
    catalog: Catalog,
    settings: LakeSqlSettings,
    at: ReadAt | None = None,
    *,
    cache: MetadataCache | None = None,
    sources: Mapping[str, TableSource] | None = None,
) -> list[str]:
    """The statements that make the schema and one view per table over the lake's tables as they are now.

    Args:
        catalog: the schema catalog.
        settings: the lake, its Iceberg catalog and the schema of the views.
        at: a snapshot id or a time to read instead of the current snapshots.
        cache: metadata already read (a watcher keeps one across turns).
        sources: what each table's view reads, when the caller resolved it already.

    Raises:
        CatalogError: the catalog or a table's metadata cannot be read, or no table has the snapshot asked for.
    """
    tables = lake_tables(catalog)
    if sources is None:
        sources = table_sources(settings.iceberg, [t.name for t in tables], at, cache)
    statements = [f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(settings.database)}"]
    statements += [view_sql(settings.database, table, sources.get(table.name)) for table in tables]
    return statements


def _s3_secret(con: duckdb.DuckDBPyConnection) -> None:
    """Let httpfs read S3 with the default AWS credential chain and the endpoint boto3 would use."""
    session = boto3.Session()
    credentials = session.get_credentials()
    options = {"TYPE": "s3", "REGION": session.region_name or "us-east-1"}
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        options |= {"KEY_ID": frozen.access_key, "SECRET": frozen.secret_key}
        if frozen.token:
            options["SESSION_TOKEN"] = frozen.token
    endpoint = session.client("s3").meta.endpoint_url
    parsed = urlparse(endpoint)
    if parsed.hostname and not parsed.hostname.endswith("amazonaws.com"):  # moto, MinIO: path-style, maybe plain HTTP
        options |= {"ENDPOINT": parsed.netloc, "URL_STYLE": "path", "USE_SSL": str(parsed.scheme == "https").lower()}
    body = ", ".join(f"{k} {v if k in ('TYPE', 'USE_SSL') else quote_literal(v)}" for k, v in options.items())
    con.execute(f"CREATE OR REPLACE SECRET lake_s3 ({body})")


def connect(catalog: Catalog, settings: LakeSqlSettings, at: ReadAt | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per table, in schema ``settings.database``.

    Args:
        catalog: the schema catalog.
        settings: the lake, its Iceberg catalog and the schema of the views.
        at: a snapshot id or a time to read instead of the current snapshots.

    Raises:
        ConfigError: an extension does not load.
        CatalogError: the catalog or a table cannot be read, or does not fit the schemas.
    """
    con = lake_duckdb(s3=not settings.lake.is_local)
    try:
        if not settings.lake.is_local:
            _s3_secret(con)
        for statement in views_sql(catalog, settings, at):
            try:
                con.execute(statement)
            except duckdb.Error as exc:
                first = str(exc).strip().splitlines()[0]
                msg = f"the lake's tables in {settings.lake.catalog_uri()} cannot be read as the schemas say: {first}"
                raise CatalogError(msg) from exc
        con.execute(f"SET search_path = {quote_literal(settings.database + ',main')}")
    except (CatalogError, ConfigError):
        con.close()
        raise
    return con


def view_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    """``(name, DuckDB type)`` of a view's columns, in order."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]


def table_counts(catalog: Catalog, settings: LakeSqlSettings) -> dict[str, int]:
    """Rows of every table at its current snapshot, through the views (each count reads one snapshot).

    For tests and checks that compare the lake with what was produced, e.g. while maintenance rewrites it.

    Raises:
        CatalogError: the lake cannot be read.
    """
    return {name: rows for name, (rows, _) in position_counts(catalog, settings).items()}


def position_counts(catalog: Catalog, settings: LakeSqlSettings) -> dict[str, tuple[int, int]]:
    """Rows and distinct Kafka records (topic, partition, offset) of every table at its current snapshot.

    Equal figures mean no record is in a table twice: what a test running beside the job and maintenance asks
    of every count, with the rows equal to what was produced.

    Raises:
        CatalogError: the lake cannot be read.
    """
    con = connect(catalog, settings)
    try:
        counts = {}
        for table in lake_tables(catalog):
            name = f"{quote_identifier(settings.database)}.{quote_identifier(table.name)}"  # quoted: no injection
            sql = f"SELECT count(*), count(DISTINCT (kafka_topic, kafka_partition, kafka_offset)) FROM {name}"  # noqa: S608
            rows, distinct = run_sql(con, sql).rows[0]
            counts[table.name] = (int(rows), int(distinct))
        return counts
    finally:
        con.close()


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
