"""Parquet files laid out and typed as the streaming job writes them, for tests of the catalog and the views.

Spark writes ``<lake>/<table path>/dt=YYYY-MM-DD/part-*.parquet`` with timestamps as INT64
TIMESTAMP_MICROS adjusted to UTC; the column types here are derived from the same definitions as
the catalog, so no test spells out a field list.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.lake import QUARANTINE_DIR
from core.lake_types import ArrayType, DecimalType, LakeType, MapType, PrimitiveType, StructType
from core.tables import LakeTable
from glue.tables import TableDefinition

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


def write(
    lake: Path,
    table: LakeTable | TableDefinition,
    rows: list[dict[str, Any]],
    *,
    drop: tuple[str, ...] = (),
    day_of: str | None = None,
) -> None:
    """One Parquet file per dt partition, columns as Spark writes them; ``drop`` leaves columns out (old files).

    ``day_of`` is the column that gives the partition: by default ``event_time``, ``ingested_at`` for a quarantine.
    """
    quarantine = table.path.startswith(f"{QUARANTINE_DIR}/")
    day_of = day_of or ("ingested_at" if quarantine else "event_time")
    columns = [c for c in table.columns if c.name not in drop]
    schema = pa.schema([pa.field(c.name, arrow_type(c.type), c.nullable) for c in columns])
    full = [{c.name: row.get(c.name, sample(c.type)) for c in columns} for row in rows]
    for day in sorted({r[day_of].date() for r in full}):
        folder = lake / table.path / f"dt={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        part = [r for r in full if r[day_of].date() == day]
        index = len(list(folder.glob("*.parquet")))
        pq.write_table(pa.Table.from_pylist(part, schema=schema), folder / f"part-{index:05d}.snappy.parquet")
