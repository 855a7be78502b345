"""Lake column types to DuckDB types, for the local views over the lake.

The input is the engine-neutral tree of :mod:`core.avro_lake`, so DuckDB and Glue read the same
definition. The strings are valid in ``CAST(... AS <type>)``; struct field names are quoted there.
Instants (Avro ``timestamp-*``, Parquet ``isAdjustedToUTC=true``) are ``TIMESTAMP WITH TIME ZONE``,
exactly what DuckDB's Parquet reader yields for them; local date-times are plain ``TIMESTAMP``.
"""

from __future__ import annotations

from core.lake_types import ArrayType, DecimalType, LakeType, MapType, PrimitiveType
from core.sql import quote_identifier

__all__ = ["duckdb_type"]

_DUCKDB_PRIMITIVE = {
    "boolean": "BOOLEAN",
    "int": "INTEGER",
    "long": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "binary": "BLOB",
    "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "timestamp_ntz": "TIMESTAMP",
}


def duckdb_type(lake_type: LakeType) -> str:
    """The DuckDB type of a lake type, e.g. ``STRUCT("latitude" DOUBLE, "longitude" DOUBLE)``."""
    if isinstance(lake_type, PrimitiveType):
        return _DUCKDB_PRIMITIVE[lake_type.name]
    if isinstance(lake_type, DecimalType):
        return f"DECIMAL({lake_type.precision},{lake_type.scale})"
    if isinstance(lake_type, ArrayType):
        return f"{duckdb_type(lake_type.element)}[]"
    if isinstance(lake_type, MapType):
        return f"MAP(VARCHAR, {duckdb_type(lake_type.value)})"
    fields = ", ".join(f"{quote_identifier(f.name)} {duckdb_type(f.type)}" for f in lake_type.fields)
    return f"STRUCT({fields})"
