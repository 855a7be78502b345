"""The one model of an Avro schema that every stage reads: parsed once, named types resolved.

Apache Avro's parser reads the JSON (it resolves short and full names against the namespace in
scope, and refuses what Avro refuses); its result is turned into a small tree of frozen nodes. A
named type used several times, by short name inside its namespace or by full name outside, is
*one* node, so ``record.fields[0].type is record.fields[1].type`` when both fields use the same
record; two types with the same short name in different namespaces are two nodes. A recursive
record holds itself: walk with a set of the records being expanded.

Nodes compare by identity (a recursive tree has no finite value). What a schema property holds
that Avro does not interpret (``"rules"``, ``precision``, a custom key) is in ``props``, verbatim;
a logical type is kept as written even when Avro would ignore it, so checks can name it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

import avro.errors
import avro.schema

from core.errors import SchemaError

__all__ = [
    "NODE_TYPES",
    "PRIMITIVES",
    "Array",
    "AvroSchema",
    "AvroType",
    "Enum",
    "Field",
    "Fixed",
    "Map",
    "Named",
    "Primitive",
    "Record",
    "Union",
    "non_null",
    "parse_schema",
    "to_json",
]

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_STRUCTURAL = frozenset(
    {"type", "name", "namespace", "fields", "items", "values", "symbols", "size", "doc", "default", "aliases"}
)


@dataclass(frozen=True, eq=False)
class Primitive:
    """``null``, ``boolean``, ``int``, ``long``, ``float``, ``double``, ``bytes`` or ``string``, maybe logical."""

    type: str
    logical_type: str | None = None
    props: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Enum:
    """A named set of symbols."""

    name: str
    namespace: str
    fullname: str
    symbols: tuple[str, ...]
    default: str | None
    doc: str
    props: Mapping[str, Any]
    type: str = "enum"
    logical_type: str | None = None


@dataclass(frozen=True, eq=False)
class Fixed:
    """A named run of ``size`` bytes (``decimal`` or ``uuid`` when ``logical_type`` says so)."""

    name: str
    namespace: str
    fullname: str
    size: int
    doc: str
    props: Mapping[str, Any]
    logical_type: str | None = None
    type: str = "fixed"


@dataclass(frozen=True, eq=False)
class Array:
    """A list of ``items``."""

    items: AvroType
    props: Mapping[str, Any] = field(default_factory=dict)
    type: str = "array"
    logical_type: str | None = None


@dataclass(frozen=True, eq=False)
class Map:
    """String keys to ``values``."""

    values: AvroType
    props: Mapping[str, Any] = field(default_factory=dict)
    type: str = "map"
    logical_type: str | None = None


@dataclass(frozen=True, eq=False)
class Union:
    """One of ``branches``, in the order written (``["null", T]`` is an optional T)."""

    branches: tuple[AvroType, ...]
    type: str = "union"
    logical_type: str | None = None


@dataclass(frozen=True, eq=False)
class Field:
    """A record field; ``has_default`` tells a ``null`` default from none."""

    name: str
    type: AvroType
    doc: str
    has_default: bool
    default: Any
    aliases: tuple[str, ...]
    props: Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Record:
    """A named list of fields (filled in once the record exists, so that it may contain itself)."""

    name: str
    namespace: str
    fullname: str
    doc: str
    props: Mapping[str, Any]
    fields: tuple[Field, ...] = ()
    type: str = "record"
    logical_type: str | None = None

    def field(self, name: str) -> Field | None:
        """The field called ``name``, or None."""
        return next((f for f in self.fields if f.name == name), None)


Named = Record | Enum | Fixed
AvroType = Primitive | Record | Enum | Fixed | Array | Map | Union
"""Any node of the model."""
NODE_TYPES = (Primitive, Record, Enum, Fixed, Array, Map, Union)
"""The node classes, for ``isinstance`` checks that tell a node from schema JSON."""


@dataclass(frozen=True, eq=False)
class AvroSchema:
    """A parsed schema: its root type, its named types by full name, and Avro's own parse.

    Attributes:
        root: the top-level type.
        named: every named type by full name, in order of definition.
        avro: Apache Avro's schema object, for Avro's own compatibility checker only.
    """

    root: AvroType
    named: Mapping[str, Named]
    avro: avro.schema.Schema

    @property
    def record(self) -> Record:
        """The root as a record; SchemaError when it is not one."""
        if not isinstance(self.root, Record):
            msg = "the top-level schema must be an Avro record"
            raise SchemaError(msg)
        return self.root


def _props(schema: Any) -> dict[str, Any]:
    return {k: v for k, v in schema.props.items() if k not in _STRUCTURAL and k != "logicalType"}


class _Builder:
    def __init__(self) -> None:
        self.named: dict[str, Named] = {}

    def node(self, schema: avro.schema.Schema) -> AvroType:
        if isinstance(schema, avro.schema.NamedSchema) and schema.fullname in self.named:
            return self.named[schema.fullname]
        logical = schema.get_prop("logicalType")
        logical = str(logical) if logical is not None else None
        doc = str(schema.props.get("doc") or "")
        if isinstance(schema, avro.schema.RecordSchema):
            record = Record(schema.name, schema.namespace or "", schema.fullname, doc, _props(schema))
            self.named[schema.fullname] = record
            object.__setattr__(record, "fields", tuple(self.field(f) for f in schema.fields))
            return record
        if isinstance(schema, avro.schema.EnumSchema):
            default = schema.props.get("default")
            node: Named = Enum(
                schema.name, schema.namespace or "", schema.fullname, tuple(schema.symbols),
                None if default is None else str(default), doc, _props(schema),
            )  # fmt: skip
        elif isinstance(schema, avro.schema.FixedSchema):
            node = Fixed(
                schema.name, schema.namespace or "", schema.fullname, int(schema.size), doc, _props(schema), logical
            )
        elif isinstance(schema, avro.schema.ArraySchema):
            return Array(self.node(schema.items), _props(schema))
        elif isinstance(schema, avro.schema.MapSchema):
            return Map(self.node(schema.values), _props(schema))
        elif isinstance(schema, avro.schema.UnionSchema):
            return Union(tuple(self.node(b) for b in schema.schemas))
        else:
            return Primitive(str(schema.type), logical, _props(schema))
        self.named[node.fullname] = node
        return node

    def field(self, fld: avro.schema.Field) -> Field:
        return Field(
            name=fld.name,
            type=self.node(fld.type),
            doc=str(fld.doc or ""),
            has_default=bool(fld.has_default),
            default=fld.default if fld.has_default else None,
            aliases=tuple(str(a) for a in cast("list[Any]", fld.props.get("aliases") or [])),
            props={k: v for k, v in fld.props.items() if k not in _STRUCTURAL},
        )


@lru_cache(maxsize=256)
def _parse_text(text: str) -> AvroSchema:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Avro warns of logical types it ignores; the model keeps them as written
        parsed = avro.schema.parse(text)
    builder = _Builder()
    root = builder.node(parsed)
    return AvroSchema(root, dict(builder.named), parsed)


def parse_schema(schema: str | Mapping[str, Any] | list[Any], *, what: str = "schema") -> AvroSchema:
    """Parse schema JSON text, or JSON already loaded, into the model (cached by its text).

    Raises:
        SchemaError: the text is not JSON or not a valid Avro schema; the message names ``what``.
    """
    text = schema if isinstance(schema, str) else json.dumps(schema)
    try:
        return _parse_text(text)
    except (avro.errors.AvroException, json.JSONDecodeError, TypeError, ValueError) as exc:
        msg = f"{what} is not a valid Avro schema: {exc}"
        raise SchemaError(msg) from exc


def non_null(node: AvroType) -> tuple[AvroType, bool]:
    """The type a value of ``node`` has when it is there, and whether it may be null.

    An optional ``["null", T]`` is ``(T, True)``; a union of several non-null types stays a union.
    """
    if isinstance(node, Union):
        others = [b for b in node.branches if b.type != "null"]
        nullable = len(others) != len(node.branches)
        return (others[0] if len(others) == 1 else Union(tuple(others))), nullable
    return node, node.type == "null"


def to_json(node: AvroType, *, nested_by_name: bool = False) -> Any:
    """The node as self-contained Avro JSON, every name fully qualified.

    A named type is written out where it first occurs and by full name after that; with
    ``nested_by_name`` every named type below ``node`` is written by name only (to compare one
    type's own definition across files).
    """
    return _json(node, set(), nested_by_name, top=True)


def _json(node: AvroType, seen: set[str], by_name: bool, *, top: bool = False) -> Any:
    if isinstance(node, Union):
        return [_json(b, seen, by_name) for b in node.branches]
    if isinstance(node, Primitive) and not node.props and node.logical_type is None:
        return node.type
    out: dict[str, Any] = {"type": node.type}
    if isinstance(node, Record | Enum | Fixed):
        if node.fullname in seen or (by_name and not top):
            return node.fullname
        seen.add(node.fullname)
        out["name"] = node.fullname
        if node.doc:
            out["doc"] = node.doc
    if node.logical_type is not None:
        out["logicalType"] = node.logical_type
    if isinstance(node, Record):
        out["fields"] = [_field_json(f, seen, by_name) for f in node.fields]
    elif isinstance(node, Enum):
        out["symbols"] = list(node.symbols)
        if node.default is not None:
            out["default"] = node.default
    elif isinstance(node, Fixed):
        out["size"] = node.size
    elif isinstance(node, Array):
        out["items"] = _json(node.items, seen, by_name)
    elif isinstance(node, Map):
        out["values"] = _json(node.values, seen, by_name)
    return {**out, **node.props}


def _field_json(fld: Field, seen: set[str], by_name: bool) -> dict[str, Any]:
    out: dict[str, Any] = {**fld.props, "name": fld.name, "type": _json(fld.type, seen, by_name)}
    if fld.doc:
        out["doc"] = fld.doc
    if fld.has_default:
        out["default"] = fld.default
    if fld.aliases:
        out["aliases"] = list(fld.aliases)
    return out
