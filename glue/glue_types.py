"""Lake column types to Glue/Hive type strings (``struct<latitude:double,longitude:double>``).

The input is the engine-neutral tree of :mod:`core.avro_lake`, which DuckDB's views read too.
"""

from __future__ import annotations

from core.lake_types import ArrayType, DecimalType, LakeType, MapType, PrimitiveType

__all__ = ["glue_type"]

_GLUE_PRIMITIVE = {
    "boolean": "boolean",
    "int": "int",
    "long": "bigint",
    "float": "float",
    "double": "double",
    "string": "string",
    "binary": "binary",
    "date": "date",
    "timestamp": "timestamp",
    "timestamp_ntz": "timestamp",
}


def glue_type(lake_type: LakeType) -> str:
    """The Glue/Hive type string of a lake type, e.g. ``struct<latitude:double,longitude:double>``."""
    if isinstance(lake_type, PrimitiveType):
        return _GLUE_PRIMITIVE[lake_type.name]
    if isinstance(lake_type, DecimalType):
        return f"decimal({lake_type.precision},{lake_type.scale})"
    if isinstance(lake_type, ArrayType):
        return f"array<{glue_type(lake_type.element)}>"
    if isinstance(lake_type, MapType):
        return f"map<string,{glue_type(lake_type.value)}>"
    return "struct<" + ",".join(f"{f.name}:{glue_type(f.type)}" for f in lake_type.fields) + ">"
