"""The lake's Iceberg tables written with pyiceberg, typed as the streaming job writes them, for tests and benchmarks.

The tables are created and evolved by :func:`core.iceberg_tables.ensure_tables` (as the job does before
its first batch), in the lake's own catalog (``<lake>/_catalog/iceberg.db``); each :func:`append` is one
commit, as each micro-batch of the job is. Spark writes timestamps as INT64 TIMESTAMP_MICROS adjusted to
UTC; the Arrow types here are derived from the same definitions as the catalog, so no test spells out a
field list, and pyiceberg maps them to the table's Iceberg types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyiceberg.table import Table

from core.iceberg import IcebergCatalog
from core.iceberg_tables import ensure_tables, open_catalog
from core.lake import LakeLocation
from core.lake_types import ArrayType, DecimalType, LakeType, MapType, PrimitiveType, StructType
from core.settings import DEFAULT_DATABASE
from core.tables import LakeTable

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
ARROW = {
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "string": pa.string(),
    "binary": pa.binary(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),  # Spark: INT64 TIMESTAMP_MICROS, UTC-adjusted
    "timestamp_ntz": pa.timestamp("us"),
}
SAMPLE = {
    "boolean": True,
    "int": 1,
    "long": 1,
    "float": 1.0,
    "double": 1.0,
    "string": "x",
    "binary": b"\x89PNG",
    "date": date(2025, 6, 1),
    "timestamp": T0,
    "timestamp_ntz": T0.replace(tzinfo=None),
}


def arrow_type(lake_type: LakeType) -> pa.DataType:
    if isinstance(lake_type, PrimitiveType):
        return ARROW[lake_type.name]
    if isinstance(lake_type, DecimalType):
        return pa.decimal128(lake_type.precision, lake_type.scale)
    if isinstance(lake_type, ArrayType):
        return pa.list_(arrow_type(lake_type.element))
    if isinstance(lake_type, MapType):
        return pa.map_(pa.string(), arrow_type(lake_type.value))
    assert isinstance(lake_type, StructType)
    return pa.struct([pa.field(f.name, arrow_type(f.type), f.nullable) for f in lake_type.fields])


def sample(lake_type: LakeType) -> Any:
    if isinstance(lake_type, PrimitiveType):
        return SAMPLE[lake_type.name]
    if isinstance(lake_type, DecimalType):
        return Decimal(0)
    if isinstance(lake_type, ArrayType | MapType):
        return []
    return {f.name: sample(f.type) for f in lake_type.fields}


def lake_catalog(lake: Path, database: str = DEFAULT_DATABASE) -> IcebergCatalog:
    """The Iceberg catalog of a local lake folder, as every reader and writer finds it (no setting overrides it)."""
    return IcebergCatalog.from_env(LakeLocation.parse(str(lake)), database, {})


def arrow_rows(table: LakeTable, rows: Sequence[dict[str, Any]], *, drop: tuple[str, ...] = ()) -> pa.Table:
    """``rows`` with the table's Arrow types; a column a row lacks gets a sample value, ``drop`` leaves columns out."""
    columns = [c for c in table.columns if c.name not in drop]
    schema = pa.schema([pa.field(c.name, arrow_type(c.type), c.nullable) for c in columns])
    return pa.Table.from_pylist([{c.name: row.get(c.name, sample(c.type)) for c in columns} for row in rows], schema)


def iceberg_table(lake: Path, table: LakeTable, *, drop: tuple[str, ...] = ()) -> Table:
    """The table in ``lake``'s catalog, created or evolved to ``table``'s columns (those in ``drop`` left out if new).

    Leaving columns out of a new table gives a table of an older schema version; a later call without
    ``drop`` evolves it, as the job does when a new schema version is registered.
    """
    catalog = lake_catalog(lake)
    ensure_tables(catalog, [replace(table, columns=tuple(c for c in table.columns if c.name not in drop))])
    return open_catalog(catalog).load_table(catalog.table_id(table.name))


def append(lake: Path, table: LakeTable, batches: Sequence[pa.Table], *, drop: tuple[str, ...] = ()) -> Table:
    """Append each of ``batches`` as its own commit (one micro-batch each); returns the table after the last."""
    target = iceberg_table(lake, table, drop=drop)
    for batch in batches:
        target.append(batch)
    return target


def write(lake: Path, table: LakeTable, rows: Sequence[dict[str, Any]], *, drop: tuple[str, ...] = ()) -> Table:
    """One micro-batch of ``rows`` committed to the table (a snapshot); ``drop`` leaves columns out (older version).

    The table's partition spec (the UTC day of ``event_time``, or of ``ingested_at`` for a quarantine) places
    the rows in their days' files.
    """
    return append(lake, table, [arrow_rows(table, rows, drop=drop)], drop=drop)
