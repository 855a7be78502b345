"""The rules one schema must follow: evolvable, documented, consistently named, storable in the lake.

Pure logic over the schema's JSON: :func:`lint_schema` walks it and returns :class:`Violation`
objects. A violation with severity ``note`` informs and does not fail lint. Rules that span several
files live in :mod:`governance.lint`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.evolution import key_gaps
from core.lake import METADATA_FIELDS, PARTITION_COLUMN

__all__ = ["NAMED", "PRIMITIVES", "Violation", "errors", "fullname", "lint_schema"]

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED = frozenset({"record", "enum", "fixed"})
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_PASCAL = re.compile(r"^[A-Z][a-zA-Z0-9]*$")
_UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
_LOGICAL_BASE = {
    "timestamp-millis": {"long"},
    "timestamp-micros": {"long"},
    "local-timestamp-millis": {"long"},
    "local-timestamp-micros": {"long"},
    "time-micros": {"long"},
    "time-millis": {"int"},
    "date": {"int"},
    "uuid": {"string", "fixed"},
    "decimal": {"bytes", "fixed"},
}
_LAKE_COLUMNS = frozenset({PARTITION_COLUMN, *(f["name"] for f in METADATA_FIELDS)})


@dataclass(frozen=True)
class Violation:
    """One broken rule: where (file and field path), which rule, what is wrong and how to fix it."""

    file: str
    path: str
    rule: str
    problem: str
    fix: str
    severity: str = "error"

    def __str__(self) -> str:
        """``file: path: rule: problem; fix: ...`` on one line."""
        label = "" if self.severity == "error" else f" ({self.severity})"
        return f"{self.file}: {self.path}: {self.rule}{label}: {self.problem}; fix: {self.fix}"


def errors(violations: list[Violation]) -> list[Violation]:
    """The violations that fail lint (not notes)."""
    return [v for v in violations if v.severity == "error"]


@dataclass
class _Walk:
    """State of one schema's walk: the file, the namespace in scope, the records being defined."""

    file: str
    out: list[Violation] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    defined: dict[str, Any] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)

    def add(self, path: str, rule: str, problem: str, fix: str, severity: str = "error") -> None:
        self.out.append(Violation(self.file, path, rule, problem, fix, severity))


def fullname(name: str, namespace: str) -> str:
    """``namespace.name`` unless ``name`` is already qualified."""
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _walk_type(walk: _Walk, schema: Any, path: str, namespace: str) -> None:
    if isinstance(schema, str):
        if schema not in PRIMITIVES and fullname(schema, namespace) in walk.stack:
            walk.add(
                path,
                "lake-recursive",
                f"type {schema} contains itself",
                "flatten it; Spark and Glue cannot hold recursive types",
            )
        elif schema == "null":
            walk.add(path, "lake-null", "a field of type null holds no data", 'remove it, or make it ["null", T]')
        return
    if isinstance(schema, list):
        _walk_union(walk, schema, path, namespace)
        return
    kind = schema.get("type")
    if kind in NAMED:
        _walk_named(walk, schema, path, namespace)
    elif kind == "array":
        _walk_type(walk, schema["items"], f"{path}[]", namespace)
    elif kind == "map":
        walk.add(
            path,
            "lake-map",
            "an Avro map becomes a Glue map<string,...> column (keys are strings)",
            "query it in Athena with element_at(col, 'key'); use a record if the keys are a fixed set",
            "note",
        )
        _walk_type(walk, schema["values"], f"{path}{{}}", namespace)
    else:
        _check_logical(walk, schema, path)
        _walk_type(walk, kind, path, namespace)


def _check_logical(walk: _Walk, schema: Mapping[str, Any], path: str) -> None:
    logical = schema.get("logicalType")
    if logical is None:
        return
    bases = _LOGICAL_BASE.get(logical)
    if bases is not None and schema.get("type") not in bases:
        walk.add(
            path,
            "logical-type",
            f"logicalType {logical} on {schema.get('type')} is ignored by Avro readers",
            f"use it on {' or '.join(sorted(bases))}",
        )
    if str(logical).startswith("local-timestamp"):
        walk.add(path, "utc-time", f"{logical} has no time zone", "use timestamp-millis (UTC)")


def _walk_union(walk: _Walk, branches: list[Any], path: str, namespace: str) -> None:
    non_null = [b for b in branches if b != "null"]
    if len(non_null) > 1:
        walk.add(
            path,
            "lake-union",
            f"union of several non-null types {non_null} has no single column type",
            "split it into one optional field per type; Spark would write a struct of member0, member1...",
        )
    if "null" in branches and branches[0] != "null":
        walk.add(
            path,
            "optional-null-first",
            "optional type does not put null first",
            'write it as ["null", T] with "default": null',
        )
    for branch in non_null:
        _walk_type(walk, branch, path, namespace)


def _walk_named(walk: _Walk, schema: Mapping[str, Any], path: str, namespace: str) -> None:
    name = str(schema.get("name", ""))
    namespace = str(schema.get("namespace", namespace)) if "." not in name else name.rsplit(".", 1)[0]
    full = fullname(name, namespace)
    short = full.rsplit(".", 1)[-1]
    where = path or short
    walk.defined[full] = schema
    walk.namespaces[full] = namespace
    if not _PASCAL.match(short):
        walk.add(where, "type-name-case", f"type name {short} is not PascalCase", "rename it, e.g. VehicleEvent")
    if not str(schema.get("doc", "")).strip():
        walk.add(where, "doc-missing", f"type {short} has no doc", 'add "doc": what it is')
    if schema["type"] == "enum":
        _check_enum(walk, schema, where, short)
    elif schema["type"] == "record":
        walk.stack.append(full)
        _walk_fields(walk, schema, path, namespace, short)
        walk.stack.pop()


def _check_enum(walk: _Walk, schema: Mapping[str, Any], where: str, short: str) -> None:
    symbols = list(schema.get("symbols", []))
    for bad in (s for s in symbols if not _UPPER_SNAKE.match(s)):
        walk.add(where, "enum-symbol-case", f"symbol {bad} of {short} is not UPPER_SNAKE_CASE", "rename it")
    if schema.get("default") not in symbols:
        walk.add(
            where,
            "enum-default",
            f"enum {short} has no default symbol, so adding a symbol breaks old readers",
            'add a symbol such as UNKNOWN and "default": "UNKNOWN"',
        )


def _walk_fields(walk: _Walk, schema: Mapping[str, Any], path: str, namespace: str, short: str) -> None:
    fields = list(schema.get("fields", []))
    if not fields:
        walk.add(
            path or short,
            "lake-empty-record",
            f"record {short} has no fields",
            "Parquet cannot store an empty struct; add a field",
        )
    lowered = Counter(str(f.get("name", "")).lower() for f in fields)
    for fld in fields:
        name = str(fld.get("name", ""))
        where = f"{path}.{name}" if path else name
        if not _SNAKE.match(name):
            walk.add(
                where,
                "field-name-case",
                f"field name {name} is not snake_case",
                "rename it before it is first registered (a later rename breaks the lake columns)",
            )
        if lowered[name.lower()] > 1:
            walk.add(
                where,
                "lake-case-clash",
                f"another field differs from {name} only in case",
                "rename one; Glue and Athena column names are case-insensitive",
            )
        if not path and name in _LAKE_COLUMNS:
            walk.add(
                where,
                "lake-column-clash",
                f"{name} is a column the streaming job adds to every table",
                "rename the field",
            )
        if not str(fld.get("doc", "")).strip():
            walk.add(
                where,
                "doc-missing",
                f"field {name} has no doc",
                'add "doc" with its meaning and unit (km/h, °C, mm, metres)',
            )
        _check_optional(walk, fld, where)
        _check_time(walk, fld, where)
        _walk_type(walk, fld["type"], where, namespace)


def _check_optional(walk: _Walk, fld: Mapping[str, Any], where: str) -> None:
    kind = fld["type"]
    if isinstance(kind, list) and kind and kind[0] == "null" and ("default" not in fld or fld["default"] is not None):
        walk.add(
            where,
            "optional-default",
            "optional field has no null default, so adding or removing it breaks readers",
            'add "default": null',
        )


def _check_time(walk: _Walk, fld: Mapping[str, Any], where: str) -> None:
    name = str(fld.get("name", ""))
    if not (name.endswith("_time") or name.endswith("_at")):
        return
    kind = fld["type"]
    branches = kind if isinstance(kind, list) else [kind]
    if not any(isinstance(b, dict) and "timestamp-" in str(b.get("logicalType", "")) for b in branches):
        walk.add(
            where,
            "event-time",
            f"{name} looks like a point in time but is not a timestamp",
            'use {"type": "long", "logicalType": "timestamp-millis"} in UTC',
        )


def lint_schema(file: str, schema: Any) -> tuple[list[Violation], dict[str, Any], dict[str, str]]:
    """Lint one parsed schema; also return its named types (full name -> definition) and their namespaces."""
    walk = _Walk(file)
    if not isinstance(schema, dict) or schema.get("type") != "record":
        walk.add(
            "<schema>", "top-level-record", "the top-level schema is not a record", 'make it {"type": "record", ...}'
        )
        return walk.out, {}, {}
    _walk_type(walk, schema, "", str(schema.get("namespace", "")))
    for name, gap in key_gaps(schema).items():
        walk.add(name, "key-field", f"{name} is {gap}", f"add {name} as a required field (not a union with null)")
    return walk.out, walk.defined, walk.namespaces
