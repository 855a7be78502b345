"""What landed in the lake: rows per table and quarantine, and a few rows (``python -m streaming show``).

Reads each table's current snapshot through its Iceberg catalog with pyiceberg, as any reader of the lake
would, without starting Spark; works on a local lake and on S3 (the standard AWS variables apply).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa
from pyiceberg.catalog import Catalog as PyIcebergCatalog
from pyiceberg.exceptions import NoSuchTableError

from core.catalog import Catalog
from core.iceberg_tables import open_catalog
from streaming.settings import StreamingSettings

__all__ = ["format_value", "read_table", "report_lines", "table_counts", "table_names"]


def table_names(catalog: Catalog) -> list[str]:
    """Every table of the catalog's entities: each entity's, then its quarantine (``vehicle_quarantine``)."""
    return [table for name in catalog.names for table in (name, f"{name}_quarantine")]


def read_table(settings: StreamingSettings, table: str, client: PyIcebergCatalog | None = None) -> pa.Table | None:
    """All rows of ``table`` (``vehicle``, ``vehicle_quarantine``) in its current snapshot; None before its first.

    Files written before a schema version read in the current schema (a column added later is null).
    """
    iceberg = settings.iceberg()
    client = client or open_catalog(iceberg)
    try:
        loaded = client.load_table(iceberg.table_id(table))
    except NoSuchTableError:
        return None
    if loaded.current_snapshot() is None:
        return None
    return loaded.scan().to_arrow()


def table_counts(settings: StreamingSettings, catalog: Catalog) -> dict[str, int]:
    """Rows per table and per quarantine table of the catalog's entities (0 when absent)."""
    client = open_catalog(settings.iceberg())
    counts = {}
    for table in table_names(catalog):
        data = read_table(settings, table, client)
        counts[table] = data.num_rows if data is not None else 0
    return counts


def format_value(value: Any, width: int = 40) -> str:
    """A cell for the console: bytes as their size, times in ISO form, long text cut."""
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def report_lines(settings: StreamingSettings, catalog: Catalog, sample: int = 3) -> Iterator[str]:
    """The lines ``show`` prints: a count per table, then ``sample`` rows of each non-empty table."""
    iceberg = settings.iceberg()
    yield f"lake: {settings.lake} (Iceberg catalog: {iceberg.kind})"
    client = open_catalog(iceberg)
    tables = {table: read_table(settings, table, client) for table in table_names(catalog)}
    width = max(len(t) for t in tables)
    for table, data in tables.items():
        yield f"  {table:<{width}}  {data.num_rows if data is not None else 0:>10,} rows"
    for table, data in tables.items():
        if data is None or not data.num_rows:
            continue
        yield ""
        yield f"{table} (first {min(sample, data.num_rows)} of {data.num_rows:,}):"
        for row in data.slice(0, sample).to_pylist():
            yield "  " + ", ".join(f"{key}={format_value(value)}" for key, value in row.items())
