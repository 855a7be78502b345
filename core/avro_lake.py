"""Avro schemas to lake column types: what Spark's ``from_avro`` writes into Parquet for each field.

An Avro type is resolved into a small engine-neutral tree (:data:`~core.lake_types.LakeType`);
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

from collections.abc import Mapping
from typing import Any

from core.errors import CatalogError
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
    """Walks one schema, remembering named types (records, enums, fixed) for later references."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}
        self.expanding: set[str] = set()

    def fullname(self, schema: Mapping[str, Any], namespace: str) -> str:
        name = str(schema.get("name", ""))
        if "." in name:
            return name
        space = schema.get("namespace", namespace) or ""
        return f"{space}.{name}" if space else name

    def resolve(self, schema: Any, path: str, namespace: str) -> tuple[LakeType, bool]:
        if isinstance(schema, list):
            return self.union(schema, path, namespace)
        if isinstance(schema, str):
            return self.reference(schema, path, namespace)
        if not isinstance(schema, Mapping) or "type" not in schema:
            raise _fail(path, f"not an Avro type: {schema!r}")
        kind = schema["type"]
        if not isinstance(kind, str):  # {"type": {...}} or {"type": [...]}: a wrapped type
            return self.resolve(kind, path, namespace)
        if kind in ("record", "enum", "fixed"):
            self.named.setdefault(self.fullname(schema, namespace), schema)
        if "logicalType" in schema:
            return self.logical(schema, path), False
        if kind in ("record", "enum", "fixed"):
            return self.named_type(schema, path, namespace), False
        if kind == "array":
            element, nullable = self.resolve(schema.get("items"), f"{path}[]", namespace)
            return ArrayType(element, nullable), False
        if kind == "map":
            value, nullable = self.resolve(schema.get("values"), f"{path}{{}}", namespace)
            return MapType(value, nullable), False
        return self.reference(kind, path, namespace)

    def reference(self, name: str, path: str, namespace: str) -> tuple[LakeType, bool]:
        if name == "null":
            raise _fail(path, "type null holds nothing; Glue has no column type for it")
        if name in _PRIMITIVES:
            return PrimitiveType(_PRIMITIVES[name]), False
        candidates = [name] if "." in name else [f"{namespace}.{name}", name]
        for candidate in candidates:
            if candidate in self.expanding:
                raise _fail(path, f"record {candidate} refers to itself; Glue and Parquet need a finite nesting")
            if candidate in self.named:
                return self.resolve(self.named[candidate], path, candidate.rpartition(".")[0])
        raise _fail(path, f"unknown Avro type {name!r}")

    def union(self, branches: list[Any], path: str, namespace: str) -> tuple[LakeType, bool]:
        others = [b for b in branches if b != "null"]
        if len(others) != 1:
            found = ", ".join(str(b if isinstance(b, str) else b.get("name", b.get("type"))) for b in others)
            raise _fail(
                path,
                f"union of {len(others)} non-null types ({found}) has no safe Glue type; "
                'use ["null", T] or a record with one optional field per alternative',
            )
        lake_type, _ = self.resolve(others[0], path, namespace)
        return lake_type, len(others) != len(branches)

    def named_type(self, schema: Mapping[str, Any], path: str, namespace: str) -> LakeType:
        fullname = self.fullname(schema, namespace)
        kind = schema["type"]
        if kind == "enum":
            return PrimitiveType("string")
        if kind == "fixed":
            return PrimitiveType("binary")
        self.expanding.add(fullname)
        try:
            fields = self.fields(schema.get("fields", []), path, fullname.rpartition(".")[0])
        finally:
            self.expanding.discard(fullname)
        return StructType(fields)

    def fields(self, fields: list[Mapping[str, Any]], path: str, namespace: str) -> tuple[Column, ...]:
        columns = []
        seen: dict[str, str] = {}
        for field in fields:
            name = str(field["name"])
            child = f"{path}.{name}" if path else name
            if name.lower() in seen:
                raise _fail(child, f"clashes with {seen[name.lower()]!r}: Glue and Athena ignore the case of names")
            seen[name.lower()] = name
            lake_type, nullable = self.resolve(field["type"], child, namespace)
            columns.append(Column(name, lake_type, nullable, str(field.get("doc", ""))))
        return tuple(columns)

    def logical(self, schema: Mapping[str, Any], path: str) -> LakeType:
        logical, base = str(schema["logicalType"]), str(schema["type"])
        if logical in _UNSAFE_LOGICAL:
            raise _fail(path, f"logicalType {logical} has no safe Glue type: {_UNSAFE_LOGICAL[logical]}")
        if logical == "decimal" and base in ("bytes", "fixed"):
            return _decimal(schema, path)
        if (base, logical) in _LOGICAL:
            if base == "fixed" and schema.get("size") != 16:
                raise _fail(path, f"logicalType uuid on fixed needs size 16, got {schema.get('size')}")
            return PrimitiveType(_LOGICAL[(base, logical)])
        raise _fail(
            path,
            f"logicalType {logical!r} on {base} is unknown or misplaced; the lake would silently keep the plain "
            f"{base} (fix the spelling or remove the annotation)",
        )


def _decimal(schema: Mapping[str, Any], path: str) -> DecimalType:
    precision, scale = schema.get("precision"), schema.get("scale", 0)
    if not isinstance(precision, int) or not isinstance(scale, int) or isinstance(precision, bool):
        raise _fail(path, f"decimal needs whole-number precision and scale, got {precision!r}, {scale!r}")
    if not 1 <= precision <= MAX_DECIMAL_PRECISION or not 0 <= scale <= precision:
        raise _fail(
            path,
            f"decimal({precision},{scale}) is invalid here: need 1 <= precision <= {MAX_DECIMAL_PRECISION} "
            "and 0 <= scale <= precision (Avro would silently fall back to binary)",
        )
    return DecimalType(precision, scale)


def resolve_type(schema: Any, path: str = "value") -> tuple[LakeType, bool]:
    """Resolve one Avro type into the lake type Spark writes for it, and whether it is nullable.

    Args:
        schema: an Avro type as parsed JSON (a name, a list for a union, or a dict).
        path: the field path, used in error messages.

    Raises:
        CatalogError: the type has no safe mapping; the message names ``path`` and says why.
    """
    return _Resolver().resolve(schema, path, "")


def record_columns(schema: Mapping[str, Any], extra_fields: tuple[Mapping[str, Any], ...] = ()) -> list[Column]:
    """The columns of a top-level record schema, followed by ``extra_fields`` (e.g. the lake's metadata).

    Raises:
        CatalogError: a field has no safe mapping, or two column names differ only in case.
    """
    resolver = _Resolver()
    fullname = resolver.fullname(schema, "")
    resolver.named[fullname] = schema
    resolver.expanding.add(fullname)
    fields = [*schema.get("fields", []), *extra_fields]
    return list(resolver.fields(fields, "", fullname.rpartition(".")[0]))
