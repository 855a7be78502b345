"""What landed in the lake: rows per table and quarantine, and a few rows (``python -m streaming show``).

Reads the Parquet files with pyarrow, as any reader of the lake would (``<table>/dt=*/*.parquet``),
without starting Spark; works on a local lake and on ``s3a://`` (the standard AWS variables apply).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.dataset as ds
from pyarrow import fs as pafs

from core.catalog import Catalog
from core.lake import PARTITION_COLUMN, QUARANTINE_DIR
from streaming.settings import StreamingSettings

__all__ = ["format_value", "lake_filesystem", "read_table", "report_lines", "table_counts"]

_PARTITIONING = ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.string())]), flavor="hive")


def lake_filesystem(settings: StreamingSettings) -> tuple[pafs.FileSystem, str]:
    """A pyarrow file system for the lake and the lake's root path on it."""
    parsed = urlparse(settings.lake)
    if parsed.scheme == "s3a":
        endpoint = urlparse(settings.s3_endpoint) if settings.s3_endpoint else None
        s3 = pafs.S3FileSystem(
            region=settings.aws_region or "us-east-1",
            endpoint_override=endpoint.netloc if endpoint else None,
            scheme=endpoint.scheme if endpoint else "https",
        )
        return s3, f"{parsed.netloc}{parsed.path}".rstrip("/")
    if parsed.scheme == "file":
        return pafs.LocalFileSystem(), settings.lake.removeprefix("file://")  # unescaped, as Hadoop reads it
    filesystem, path = pafs.FileSystem.from_uri(settings.lake)  # hdfs://, gs://... as pyarrow knows them
    return filesystem, str(path).rstrip("/")


def read_table(settings: StreamingSettings, table: str) -> pa.Table | None:
    """All rows of ``table`` (an entity, or ``_quarantine/<entity>``), or None when it has no files yet."""
    filesystem, root = lake_filesystem(settings)
    path = f"{root}/{table}"
    if filesystem.get_file_info(path).type != pafs.FileType.Directory:
        return None
    dataset = ds.dataset(path, filesystem=filesystem, format="parquet", partitioning=_PARTITIONING)
    if not dataset.files:
        return None
    # Files written before and after a schema version differ in columns: read them all in one shape
    # (a column added later is null in older files), the latest files' column order first.
    physical = [fragment.physical_schema for fragment in dataset.get_fragments()]
    schema = pa.unify_schemas([*reversed(physical), dataset.schema])
    return ds.dataset(
        path, schema=schema, filesystem=filesystem, format="parquet", partitioning=_PARTITIONING
    ).to_table()


def table_counts(settings: StreamingSettings, catalog: Catalog) -> dict[str, int]:
    """Rows per table and per quarantine table of the catalog's entities (0 when absent)."""
    counts = {}
    for name in catalog.names:
        for table in (name, f"{QUARANTINE_DIR}/{name}"):
            data = read_table(settings, table)
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
    yield f"lake: {settings.lake}"
    tables: dict[str, pa.Table | None] = {}
    for name in catalog.names:
        for table in (name, f"{QUARANTINE_DIR}/{name}"):
            tables[table] = read_table(settings, table)
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
