"""What applying the generated catalog would change: a pure diff of a wanted table against a live Iceberg table.

Only what the generator owns is compared: the columns (by name: Iceberg gives each its own id), their types and
docs, the partition spec, the format version and the owned table properties (:data:`glue.tables.TABLE_PROPERTIES`,
``comment`` and ``telemetry.*``). A property someone else set (the job's, a tag) is neither reported as drift nor
removed. Type changes go through Iceberg's schema evolution: it promotes ``int`` to ``long``, ``float`` to
``double`` and widens decimals, and refuses anything else when applied.

A column whose field was removed from the schema is never dropped: snapshots written before still hold it, and
time travel reads them with their columns. It stays in the table (every column is optional, so newer rows leave it
NULL), its doc starting with :data:`DEPRECATED`. Should the field come back, the schema's doc replaces the mark.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.typedef import TableVersion
from pyiceberg.types import DecimalType, DoubleType, FloatType, IcebergType, IntegerType, ListType, LongType, MapType
from pyiceberg.types import StructType as IcebergStruct

from glue.iceberg import iceberg_schema, partition_fields
from glue.tables import OWNED_PREFIX, TABLE_PROPERTIES, TableDefinition

__all__ = [
    "DEPRECATED",
    "FORMAT_VERSION",
    "Change",
    "deprecated_doc",
    "describe",
    "diff_table",
    "live_partition_fields",
    "owned_property",
    "type_name",
]

DEPRECATED = "DEPRECATED (removed from the schema; rows written before keep their values, later rows are NULL)."
FORMAT_VERSION: TableVersion = 2
_DOC_MAX = 255  # Glue shows a column's doc as its comment, and refuses longer ones


@dataclass(frozen=True)
class Change:
    """One thing to do to the catalog.

    Attributes:
        action: ``create database``, ``create table``, ``register table`` or ``update table``.
        name: the database or table name.
        details: what differs, one human-readable line each (empty for creations).
        table: the wanted table (None for the database).
        metadata: for ``register table``, the metadata file of the table already at the table's location.
    """

    action: str
    name: str
    details: tuple[str, ...] = ()
    table: TableDefinition | None = None
    metadata: str = ""


def owned_property(key: str) -> bool:
    """Whether a table property is written by the generator (and so compared and replaced)."""
    return key in TABLE_PROPERTIES or key == "comment" or key.startswith(OWNED_PREFIX)


def type_name(kind: IcebergType) -> str:
    """An Iceberg type as a reader says it, without field ids: ``struct<latitude:double,longitude:double>``."""
    if isinstance(kind, IcebergStruct):
        return "struct<" + ",".join(f"{f.name}:{type_name(f.field_type)}" for f in kind.fields) + ">"
    if isinstance(kind, ListType):
        return f"list<{type_name(kind.element_type)}>"
    if isinstance(kind, MapType):
        return f"map<{type_name(kind.key_type)},{type_name(kind.value_type)}>"
    return str(kind)


def _promotable(old: IcebergType, new: IcebergType) -> bool:
    if isinstance(old, IntegerType) and isinstance(new, LongType):
        return True
    if isinstance(old, FloatType) and isinstance(new, DoubleType):
        return True
    return (
        isinstance(old, DecimalType)
        and isinstance(new, DecimalType)
        and old.scale == new.scale
        and old.precision <= new.precision
    )


def deprecated_doc(doc: str | None) -> str:
    """The doc of a column whose field was removed: the mark, then the old doc, within Glue's limit."""
    text = f"{DEPRECATED} {doc or ''}".strip()
    return text if len(text) <= _DOC_MAX else text[: _DOC_MAX - 1] + "…"


def _column_changes(wanted: Schema, live: Schema) -> list[str]:
    have = {f.name: f for f in live.fields}
    want_names = {f.name for f in wanted.fields}
    changes = []
    for field in wanted.fields:
        found = have.get(field.name)
        if found is None:
            changes.append(f"add column {field.name} {type_name(field.field_type)}")
        elif type_name(found.field_type) != type_name(field.field_type):
            verb = "promote" if _promotable(found.field_type, field.field_type) else "change"
            changes.append(
                f"{verb} column {field.name}: {type_name(found.field_type)} -> {type_name(field.field_type)}"
            )
        elif found.required:
            changes.append(f"make column {field.name} optional")
        elif (found.doc or "") != (field.doc or ""):
            changes.append(f"change comment of column {field.name}")
    for field in live.fields:
        if field.name not in want_names and not (field.doc or "").startswith(DEPRECATED):
            changes.append(
                f"deprecate column {field.name} {type_name(field.field_type)} "
                "(removed from the schema; kept so older rows stay queryable)"
            )
    return changes


def live_partition_fields(metadata: TableMetadata) -> list[tuple[str, str]]:
    """A live table's current partition spec as ``(source column, transform)`` pairs."""
    schema = metadata.schema()
    return [(schema.find_column_name(f.source_id) or "?", str(f.transform)) for f in metadata.spec().fields]


def _spec_text(fields: list[tuple[str, str]]) -> str:
    return ", ".join(f"{transform}({source})" for source, transform in fields) or "unpartitioned"


def diff_table(wanted: TableDefinition, live: TableMetadata) -> tuple[str, ...]:
    """What differs between a wanted table and a live one (its current metadata)."""
    details = _column_changes(iceberg_schema(wanted.columns), live.schema())
    have_spec, want_spec = live_partition_fields(live), partition_fields(wanted)
    if have_spec != want_spec:
        details.append(f"partition spec: {_spec_text(have_spec)} -> {_spec_text(want_spec)}")
    if live.format_version != FORMAT_VERSION:
        details.append(f"format version: {live.format_version} -> {FORMAT_VERSION}")
    for key, value in wanted.properties.items():
        if live.properties.get(key) != value:
            details.append(f"property {key}: {live.properties.get(key)!r} -> {value!r}")
    details += [
        f"remove stale property {key}"
        for key in live.properties
        if key.startswith(OWNED_PREFIX) and key not in wanted.properties
    ]
    return tuple(details)


def describe(change: Change, database: str) -> list[str]:
    """Human-readable lines for one change, as ``plan`` and ``apply`` print them."""
    if change.action == "create database":
        return [f"+ create database {change.name}"]
    target = f"{database}.{change.name}"
    if change.action == "create table" and change.table is not None:
        spec = _spec_text(partition_fields(change.table))
        return [f"+ create table {target} ({len(change.table.columns)} columns, partitioned by {spec})"]
    if change.action == "register table":
        head = f"+ register table {target} (the table already at its location: {change.metadata})"
        return [head, *(f"    {line}" for line in change.details)]
    return [f"~ update table {target}", *(f"    {line}" for line in change.details)]
