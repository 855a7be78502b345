"""The typed tree of a data rule, and the CEL type of each Avro field a rule may read.

A part of :mod:`core.cel_subset`: record fields map to CEL types (``long`` with a timestamp logical type
to ``timestamp``, an enum to ``string``, an optional ``["null", T]`` field to a nullable T).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from avro.schema import EnumSchema, FixedSchema, RecordSchema, Schema, UnionSchema

__all__ = ["Node", "Refused", "field_type", "refuse"]

_AVRO_TO_CEL = {
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "float": "double",
    "double": "double",
    "string": "string",
    "bytes": "bytes",
}


@dataclass(frozen=True)
class Node:
    """A typed node of a rule's expression.

    Attributes:
        kind: ``field``, ``literal``, ``now``, ``call``, ``unary``, ``binary``, ``cond`` or ``list``.
        type: its CEL type (``bool``, ``int``, ``double``, ``string``, ``bytes``, ``timestamp``,
            ``duration``, ``null``, ``list``).
        args: the operands.
        value: the operator or function name; the path of a field; the value of a literal.
        nullable: a field that may be null (an optional ``["null", T]`` field).
    """

    kind: str
    type: str
    args: tuple[Node, ...] = ()
    value: Any = None
    nullable: bool = False


class Refused(Exception):
    """The expression is outside the subset or ill-typed (the message says where and why)."""


def refuse(problem: str) -> NoReturn:
    """Give up on the expression: ``problem`` says where and why."""
    raise Refused(problem)


def _cel_type(schema: Schema) -> tuple[str, bool]:
    nullable = False
    if isinstance(schema, UnionSchema):
        branches = [b for b in schema.schemas if b.type != "null"]
        if len(branches) != 1:
            refuse("a union of several types has no single CEL type")
        schema, nullable = branches[0], True
    if isinstance(schema, RecordSchema):
        return "record", nullable
    if isinstance(schema, EnumSchema):
        return "string", nullable
    if isinstance(schema, FixedSchema):
        return "bytes", nullable
    if str(schema.get_prop("logicalType") or "").startswith("timestamp-"):
        return "timestamp", nullable
    if schema.type in _AVRO_TO_CEL:
        return _AVRO_TO_CEL[schema.type], nullable
    refuse(f"fields of Avro type {schema.type} are outside the rule subset")


def _field_schema(record: RecordSchema, path: tuple[str, ...]) -> Schema:
    current: Schema = record
    for i, name in enumerate(path):
        if isinstance(current, UnionSchema):
            # CEL fails a selection on a null record where Spark gives NULL, which stands for CEL's null too.
            where = ".".join(path[:i])
            refuse(f"message.{'.'.join(path)}: {where} is an optional record; rules read fields of required records")
        if not isinstance(current, RecordSchema) or name not in current.fields_dict:
            where = ".".join(path[:i]) or "the record"
            known = ", ".join(current.fields_dict) if isinstance(current, RecordSchema) else "none (not a record)"
            refuse(f"message.{'.'.join(path)}: {where} has no field {name!r} (fields: {known})")
        current = current.fields_dict[name].type
    return current


def field_type(record: RecordSchema, path: tuple[str, ...]) -> tuple[str, bool]:
    """The CEL type of ``message.<path>`` and whether it may be null; Refused when there is no such field."""
    return _cel_type(_field_schema(record, path))
