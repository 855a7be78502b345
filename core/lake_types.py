"""The engine-neutral column types of the lake: what Spark's ``from_avro`` writes into Parquet.

:mod:`core.avro_lake` builds these from Avro schemas; Glue and DuckDB type strings are rendered
from them, so every engine reads one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ArrayType", "Column", "DecimalType", "LakeType", "MapType", "PrimitiveType", "StructType"]


@dataclass(frozen=True)
class PrimitiveType:
    """A scalar column type: boolean, int, long, float, double, string, binary, date, timestamp, timestamp_ntz.

    ``timestamp`` is an instant (UTC-adjusted in Parquet); ``timestamp_ntz`` is a local date-time.
    """

    name: str


@dataclass(frozen=True)
class DecimalType:
    """A fixed-point number with ``precision`` digits, ``scale`` of them after the point."""

    precision: int
    scale: int


@dataclass(frozen=True)
class Column:
    """A named, possibly nullable, typed column or struct field, with its Avro doc."""

    name: str
    type: LakeType
    nullable: bool
    doc: str


@dataclass(frozen=True)
class StructType:
    """An Avro record: its fields, in order."""

    fields: tuple[Column, ...]


@dataclass(frozen=True)
class ArrayType:
    """An Avro array."""

    element: LakeType
    contains_null: bool


@dataclass(frozen=True)
class MapType:
    """An Avro map; keys are always strings."""

    value: LakeType
    value_nullable: bool


LakeType = PrimitiveType | DecimalType | StructType | ArrayType | MapType
"""What a column holds once Spark has written it to Parquet."""
