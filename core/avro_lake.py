"""Avro schemas to lake column types: what Spark's ``from_avro`` writes into Parquet for each field.

A schema is read through :mod:`core.avro_model` (parsed once, named types resolved); each type is
resolved into a small engine-neutral tree (:data:`~core.lake_types.LakeType`);
:func:`glue.glue_types.glue_type` and :func:`lakesql.duckdb_types.duckdb_type` render that tree for
each engine, so both agree by construction. Resolution is strict: an Avro type that Spark would
write as something that does not mean the same thing (a union of two non-null types,
timestamp-nanos, duration, a misspelled logical type, a recursive record) is a
:class:`~core.errors.CatalogError` naming the field path, never a silent string.

Decisions beyond the obvious ones (they equal Spark 4.1's SchemaConverters):

* ``time-millis`` is ``int`` (milliseconds after midnight) and ``time-micros`` is ``bigint``
  (microseconds after midnight): neither Hive nor Athena has a time-of-day column type.
* ``local-timestamp-*`` is ``timestamp`` like ``timestamp-*`` (Hive's timestamp has no zone); the
  Parquet files tell them apart (``isAdjustedToUTC``), and DuckDB shows the difference.
* ``uuid`` on ``string`` is ``string``; ``uuid`` on ``fixed(16)`` is ``binary`` (the raw 16 bytes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from core.avro_model import (
    NODE_TYPES,
    Array,
    AvroSchema,
    AvroType,
    Enum,
    Field,
    Fixed,
    Map,
    Record,
    Union,
    non_null,
    parse_schema,
)
from core.errors import CatalogError, SchemaError
from core.lake_types import ArrayType, Column, DecimalType, LakeType, MapType, PrimitiveType, StructType

__all__ = [
    "ArrayType",
    "Column",
    "DecimalType",
    "LakeType",
    "MapType",
    "PrimitiveType",
    "StructType",
    "record_columns",
    "resolve_type",
]

MAX_DECIMAL_PRECISION = 38
"""The largest precision Hive, Athena, Spark and DuckDB all accept."""

_PRIMITIVES = {
    "boolean": "boolean",
    "int": "int",
    "long": "long",
    "float": "float",
    "double": "double",
    "string": "string",
    "bytes": "binary",
}
_LOGICAL = {
    ("int", "date"): "date",
    ("int", "time-millis"): "int",
    ("long", "time-micros"): "long",
    ("long", "timestamp-millis"): "timestamp",
    ("long", "timestamp-micros"): "timestamp",
    ("long", "local-timestamp-millis"): "timestamp_ntz",
    ("long", "local-timestamp-micros"): "timestamp_ntz",
    ("string", "uuid"): "string",
    ("fixed", "uuid"): "binary",
}
_UNSAFE_LOGICAL = {
    "timestamp-nanos": "Spark writes it as a plain bigint of nanoseconds; use timestamp-micros",
    "local-timestamp-nanos": "Spark writes it as a plain bigint of nanoseconds; use local-timestamp-micros",
    "duration": "no engine reads Avro's 12-byte duration; use a long of milliseconds",
}


def _fail(path: str, problem: str) -> CatalogError:
    return CatalogError(f"field {path}: {problem}")


class _Resolver:
    """Maps one parsed schema's nodes, remembering the records being expanded (a record may not hold itself)."""

    def __init__(self) -> None:
        self.expanding: set[str] = set()

    def resolve(self, node: AvroType, path: str) -> tuple[LakeType, bool]:
        if isinstance(node, Union):
            return self.union(node, path)
        if node.logical_type is not None:
            return self.logical(node, path), False
        if isinstance(node, Record):
            return self.record(node, path), False
        if isinstance(node, Enum):
            return PrimitiveType("string"), False
        if isinstance(node, Fixed):
            return PrimitiveType("binary"), False
        if isinstance(node, Array):
            element, nullable = self.resolve(node.items, f"{path}[]")
            return ArrayType(element, nullable), False
        if isinstance(node, Map):
            value, nullable = self.resolve(node.values, f"{path}{{}}")
            return MapType(value, nullable), False
        if node.type == "null":
            raise _fail(path, "type null holds nothing; Glue has no column type for it")
        return PrimitiveType(_PRIMITIVES[node.type]), False

    def union(self, node: Union, path: str) -> tuple[LakeType, bool]:
        inner, nullable = non_null(node)
        if isinstance(inner, Union):
            found = ", ".join(getattr(b, "name", b.type) for b in inner.branches)
            raise _fail(
                path,
                f"union of {len(inner.branches)} non-null types ({found}) has no safe Glue type; "
                'use ["null", T] or a record with one optional field per alternative',
            )
        lake_type, _ = self.resolve(inner, path)
        return lake_type, nullable

    def record(self, node: Record, path: str) -> StructType:
        if node.fullname in self.expanding:
            raise _fail(path, f"record {node.fullname} refers to itself; Glue and Parquet need a finite nesting")
        self.expanding.add(node.fullname)
        try:
            return StructType(self.fields(node.fields, path))
        finally:
            self.expanding.discard(node.fullname)

    def fields(self, fields: tuple[Field, ...], path: str) -> tuple[Column, ...]:
        columns = []
        seen: dict[str, str] = {}
        for field in fields:
            child = f"{path}.{field.name}" if path else field.name
            if field.name.lower() in seen:
                clash = seen[field.name.lower()]
                raise _fail(child, f"clashes with {clash!r}: Glue and Athena ignore the case of names")
            seen[field.name.lower()] = field.name
            lake_type, nullable = self.resolve(field.type, child)
            columns.append(Column(field.name, lake_type, nullable, field.doc))
        return tuple(columns)

    def logical(self, node: AvroType, path: str) -> LakeType:
        logical, base = str(node.logical_type), node.type
        if logical in _UNSAFE_LOGICAL:
            raise _fail(path, f"logicalType {logical} has no safe Glue type: {_UNSAFE_LOGICAL[logical]}")
        props = getattr(node, "props", {})
        if logical == "decimal" and base in ("bytes", "fixed"):
            return _decimal(props, path)
        if (base, logical) in _LOGICAL:
            if isinstance(node, Fixed) and node.size != 16:
                raise _fail(path, f"logicalType uuid on fixed needs size 16, got {node.size}")
            return PrimitiveType(_LOGICAL[(base, logical)])
        raise _fail(
            path,
            f"logicalType {logical!r} on {base} is unknown or misplaced; the lake would silently keep the plain "
            f"{base} (fix the spelling or remove the annotation)",
        )


def _decimal(props: Mapping[str, Any], path: str) -> DecimalType:
    precision, scale = props.get("precision"), props.get("scale", 0)
    if not isinstance(precision, int) or not isinstance(scale, int) or isinstance(precision, bool):
        raise _fail(path, f"decimal needs whole-number precision and scale, got {precision!r}, {scale!r}")
    if not 1 <= precision <= MAX_DECIMAL_PRECISION or not 0 <= scale <= precision:
        raise _fail(
            path,
            f"decimal({precision},{scale}) is invalid here: need 1 <= precision <= {MAX_DECIMAL_PRECISION} "
            "and 0 <= scale <= precision (Avro would silently fall back to binary)",
        )
    return DecimalType(precision, scale)


def _parsed(schema: Any) -> AvroSchema:
    try:
        return parse_schema(schema)
    except SchemaError as exc:
        raise CatalogError(str(exc)) from exc


def resolve_type(schema: Any, path: str = "value") -> tuple[LakeType, bool]:
    """Resolve one Avro type into the lake type Spark writes for it, and whether it is nullable.

    Args:
        schema: an Avro type: its parsed model node, or JSON (a name, a list for a union, or a dict).
        path: the field path, used in error messages.

    Raises:
        CatalogError: the type has no safe mapping; the message names ``path`` and says why.
    """
    node = schema if isinstance(schema, NODE_TYPES) else _parsed(json.dumps(schema)).root
    return _Resolver().resolve(node, path)


def record_columns(
    schema: Mapping[str, Any] | AvroSchema, extra_fields: tuple[Mapping[str, Any], ...] = ()
) -> list[Column]:
    """The columns of a top-level record schema, followed by ``extra_fields`` (e.g. the lake's metadata).

    Raises:
        CatalogError: a field has no safe mapping, or two column names differ only in case.
    """
    record = (schema if isinstance(schema, AvroSchema) else _parsed(schema)).record
    extra: tuple[Field, ...] = ()
    if extra_fields:
        extra = _parsed({"type": "record", "name": "Extra", "fields": list(extra_fields)}).record.fields
    resolver = _Resolver()
    resolver.expanding.add(record.fullname)
    return list(resolver.fields((*record.fields, *extra), ""))
