"""Read back what a Parquet file really holds, in Glue and DuckDB terms, to hold the catalog to the data.

For the contract test: the streaming job's Parquet schema, translated independently of the Avro
mapping, must equal :func:`glue.tables.glue_columns` and the DuckDB view's columns.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import CatalogError

__all__ = ["hive_type_of_arrow", "parquet_duckdb_columns", "parquet_glue_columns"]

_SIMPLE = {
    pa.bool_(): "boolean",
    pa.int8(): "tinyint",
    pa.int16(): "smallint",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.float32(): "float",
    pa.float64(): "double",
    pa.string(): "string",
    pa.large_string(): "string",
    pa.binary(): "binary",
    pa.large_binary(): "binary",
    pa.date32(): "date",
}


def hive_type_of_arrow(arrow_type: pa.DataType) -> str:
    """The Hive/Glue type string of an Arrow type as read from Parquet (``struct<a:int>``...).

    Raises:
        CatalogError: a type that the catalog never declares (e.g. unsigned integers).
    """
    if arrow_type in _SIMPLE:
        return _SIMPLE[arrow_type]
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_fixed_size_binary(arrow_type):
        return "binary"
    if pa.types.is_map(arrow_type):
        return f"map<{hive_type_of_arrow(arrow_type.key_type)},{hive_type_of_arrow(arrow_type.item_type)}>"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"array<{hive_type_of_arrow(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        fields = (arrow_type.field(i) for i in range(arrow_type.num_fields))
        return "struct<" + ",".join(f"{f.name}:{hive_type_of_arrow(f.type)}" for f in fields) + ">"
    msg = f"Parquet type {arrow_type} has no Glue equivalent the catalog would declare"
    raise CatalogError(msg)


def parquet_glue_columns(path: Path) -> list[tuple[str, str]]:
    """``(name, Glue type)`` of every column stored in one Parquet file (partition columns are in the path)."""
    schema = pq.read_schema(path)
    return [(field.name, hive_type_of_arrow(field.type)) for field in schema]


def parquet_duckdb_columns(path: Path) -> list[tuple[str, str]]:
    """``(name, DuckDB type)`` of every column stored in one Parquet file, as DuckDB reads it."""
    with duckdb.connect(":memory:") as con:
        rows = con.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = false))",
            [str(path)],
        ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]
