"""The rules one schema must follow: evolvable, documented, consistently named, storable in the lake.

Pure logic over the schema model (:mod:`core.avro_model`, named types resolved once):
:func:`lint_schema` walks it and returns :class:`Violation` objects.
A violation with severity ``note`` informs and does not fail lint. Rules that span several
files live in :mod:`governance.lint`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from core.avro_model import Array, AvroType, Enum, Field, Fixed, Map, Named, Primitive, Record, Union, parse_schema
from core.errors import SchemaError
from core.evolution import key_gaps
from core.lake import METADATA_FIELDS, PARTITION_COLUMN

__all__ = ["Violation", "errors", "lint_schema"]

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
    """State of one schema's walk: the file, the records being expanded, the named types already checked."""

    file: str
    out: list[Violation] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)

    def add(self, path: str, rule: str, problem: str, fix: str, severity: str = "error") -> None:
        self.out.append(Violation(self.file, path, rule, problem, fix, severity))


def _walk_type(walk: _Walk, node: AvroType, path: str) -> None:
    if isinstance(node, Record | Enum | Fixed):
        if node.fullname in walk.stack:
            walk.add(
                path,
                "lake-recursive",
                f"type {node.name} contains itself",
                "flatten it; Spark and Glue cannot hold recursive types",
            )
        elif node.fullname not in walk.checked:  # a named type used again is checked where it is defined
            walk.checked.add(node.fullname)
            _walk_named(walk, node, path)
    elif isinstance(node, Union):
        _walk_union(walk, node, path)
    elif isinstance(node, Array):
        _walk_type(walk, node.items, f"{path}[]")
    elif isinstance(node, Map):
        walk.add(
            path,
            "lake-map",
            "an Avro map becomes a Glue map<string,...> column (keys are strings)",
            "query it in Athena with element_at(col, 'key'); use a record if the keys are a fixed set",
            "note",
        )
        _walk_type(walk, node.values, f"{path}{{}}")
    else:
        _check_logical(walk, node, path)
        if node.type == "null":
            walk.add(path, "lake-null", "a field of type null holds no data", 'remove it, or make it ["null", T]')


def _check_logical(walk: _Walk, node: Primitive, path: str) -> None:
    logical = node.logical_type
    if logical is None:
        return
    bases = _LOGICAL_BASE.get(logical)
    if bases is not None and node.type not in bases:
        walk.add(
            path,
            "logical-type",
            f"logicalType {logical} on {node.type} is ignored by Avro readers",
            f"use it on {' or '.join(sorted(bases))}",
        )
    if logical.startswith("local-timestamp"):
        walk.add(path, "utc-time", f"{logical} has no time zone", "use timestamp-millis (UTC)")


def _walk_union(walk: _Walk, node: Union, path: str) -> None:
    non_null = [b for b in node.branches if b.type != "null"]
    if len(non_null) > 1:
        names = [getattr(b, "name", b.type) for b in non_null]
        walk.add(
            path,
            "lake-union",
            f"union of several non-null types {names} has no single column type",
            "split it into one optional field per type; Spark would write a struct of member0, member1...",
        )
    if len(non_null) < len(node.branches) and node.branches[0].type != "null":
        walk.add(
            path,
            "optional-null-first",
            "optional type does not put null first",
            'write it as ["null", T] with "default": null',
        )
    for branch in non_null:
        _walk_type(walk, branch, path)


def _walk_named(walk: _Walk, node: Named, path: str) -> None:
    where = path or node.name
    if not _PASCAL.match(node.name):
        walk.add(where, "type-name-case", f"type name {node.name} is not PascalCase", "rename it, e.g. VehicleEvent")
    if not node.doc.strip():
        walk.add(where, "doc-missing", f"type {node.name} has no doc", 'add "doc": what it is')
    if isinstance(node, Enum):
        _check_enum(walk, node, where)
    elif isinstance(node, Record):
        walk.stack.append(node.fullname)
        _walk_fields(walk, node, path)
        walk.stack.pop()


def _check_enum(walk: _Walk, node: Enum, where: str) -> None:
    for bad in (s for s in node.symbols if not _UPPER_SNAKE.match(s)):
        walk.add(where, "enum-symbol-case", f"symbol {bad} of {node.name} is not UPPER_SNAKE_CASE", "rename it")
    if node.default not in node.symbols:
        walk.add(
            where,
            "enum-default",
            f"enum {node.name} has no default symbol, so adding a symbol breaks old readers",
            'add a symbol such as UNKNOWN and "default": "UNKNOWN"',
        )


def _walk_fields(walk: _Walk, node: Record, path: str) -> None:
    if not node.fields:
        walk.add(
            path or node.name,
            "lake-empty-record",
            f"record {node.name} has no fields",
            "Parquet cannot store an empty struct; add a field",
        )
    lowered = Counter(f.name.lower() for f in node.fields)
    for fld in node.fields:
        name = fld.name
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
        if not fld.doc.strip():
            walk.add(
                where,
                "doc-missing",
                f"field {name} has no doc",
                'add "doc" with its meaning and unit (km/h, °C, mm, metres)',
            )
        _check_optional(walk, fld, where)
        _check_time(walk, fld, where)
        _walk_type(walk, fld.type, where)


def _check_optional(walk: _Walk, fld: Field, where: str) -> None:
    kind = fld.type
    if isinstance(kind, Union) and kind.branches[0].type == "null" and (not fld.has_default or fld.default is not None):
        walk.add(
            where,
            "optional-default",
            "optional field has no null default, so adding or removing it breaks readers",
            'add "default": null',
        )


def _check_time(walk: _Walk, fld: Field, where: str) -> None:
    if not (fld.name.endswith("_time") or fld.name.endswith("_at")):
        return
    branches = fld.type.branches if isinstance(fld.type, Union) else (fld.type,)
    if not any("timestamp-" in (b.logical_type or "") for b in branches):
        walk.add(
            where,
            "event-time",
            f"{fld.name} looks like a point in time but is not a timestamp",
            'use {"type": "long", "logicalType": "timestamp-millis"} in UTC',
        )


def lint_schema(file: str, schema: Any) -> tuple[list[Violation], dict[str, Named]]:
    """Lint one schema (parsed JSON); also return its named types (full name -> node), empty when it does not parse."""
    walk = _Walk(file)
    try:
        parsed = parse_schema(schema, what="the schema")
    except SchemaError as exc:
        walk.add("<schema>", "parse", str(exc), "fix the schema")
        return walk.out, {}
    if not isinstance(parsed.root, Record):
        walk.add(
            "<schema>", "top-level-record", "the top-level schema is not a record", 'make it {"type": "record", ...}'
        )
        return walk.out, {}
    _walk_type(walk, parsed.root, "")
    for name, gap in key_gaps(parsed.root).items():
        walk.add(name, "key-field", f"{name} is {gap}", f"add {name} as a required field (not a union with null)")
    return walk.out, dict(parsed.named)
