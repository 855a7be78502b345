"""Turn Avro's checker locations (``/fields/3/type/symbols``) into field paths and plain reasons.

Avro's result keeps its messages and locations in two unordered sets, so each reason is derived
again from its location: walk reader and writer side by side to the place, then say what differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from avro.compatibility import lookup_writer_field
from avro.schema import ArraySchema, EnumSchema, FixedSchema, MapSchema, NamedSchema, RecordSchema, Schema, UnionSchema

__all__ = ["describe", "explain", "field_path"]


@dataclass
class _Spot:
    """Where a location points: the path so far, the reader and writer schemas there, and what ends it."""

    path: list[str]
    reader: Schema | None
    writer: Schema | None
    tail: str = "type"
    branch: int = -1


def describe(schema: Schema | None) -> str:
    """A short, readable type: ``string``, ``long/timestamp-millis``, ``[null, double]``, ``Location``."""
    if schema is None:
        return "nothing"
    if isinstance(schema, UnionSchema):
        return "[" + ", ".join(describe(b) for b in schema.schemas) + "]"
    if isinstance(schema, NamedSchema):
        return f"{schema.type} {schema.name}"
    if isinstance(schema, ArraySchema):
        return f"array<{describe(schema.items)}>"
    if isinstance(schema, MapSchema):
        return f"map<{describe(schema.values)}>"
    logical = schema.get_prop("logicalType")
    return f"{schema.type}/{logical}" if logical else str(schema.type)


def _record(schema: Schema | None) -> RecordSchema | None:
    if isinstance(schema, RecordSchema):
        return schema
    if isinstance(schema, UnionSchema):
        return next((b for b in schema.schemas if isinstance(b, RecordSchema)), None)
    return None


def _locate(reader: Schema, writer: Schema, location: str) -> _Spot:
    parts = [t for t in location.split("/") if t]
    spot = _Spot([], reader, writer)
    i = 0
    while i < len(parts):
        part = parts[i]
        if part == "fields" and i + 1 < len(parts):
            record, other = _record(spot.reader), _record(spot.writer)
            if record is None:
                break
            fld = record.fields[int(parts[i + 1])]
            match = lookup_writer_field(other, fld) if other is not None else None
            spot.path.append(fld.name)
            spot.reader, spot.writer = fld.type, (match.type if match is not None else None)
            i += 2
            if i == len(parts):
                spot.tail = "missing-field"
            continue
        if part in ("items", "values") and spot.path:
            spot.path[-1] += "[]" if part == "items" else "{}"
            spot.reader = getattr(spot.reader, part, None)
            spot.writer = getattr(spot.writer, part, None)
        elif part in ("symbols", "name", "size"):
            spot.tail = part
            break
        elif part.isdigit():
            spot.tail, spot.branch = "union-branch", int(part)
            break
        i += 1
    return spot


def field_path(schema: Schema, location: str) -> str:
    """The field path (``location.latitude``) a checker location such as ``/fields/3/type/fields/0`` names."""
    path = ".".join(_locate(schema, schema, location).path)
    return path or (schema.fullname if isinstance(schema, NamedSchema) else "<root>")


def _unmatched_writer_fields(reader: Schema, writer: Schema, path: list[str]) -> list[str]:
    """Fields of the writer's record holding ``path`` that no reader field reads: rename candidates."""
    parent_r, parent_w = _record(reader), _record(writer)
    for name in path[:-1]:
        if parent_r is None or parent_w is None:
            return []
        fld = parent_r.fields_dict.get(name.rstrip("[]{}"))
        match = lookup_writer_field(parent_w, fld) if fld is not None else None
        parent_r, parent_w = _record(fld.type if fld else None), _record(match.type if match else None)
    if parent_r is None or parent_w is None:
        return []
    read = {m.name for f in parent_r.fields if (m := lookup_writer_field(parent_w, f)) is not None}
    return [f.name for f in parent_w.fields if f.name not in read]


def explain(reader: Schema, writer: Schema, location: str, *, reader_is_new: bool) -> tuple[str, str]:
    """The field path and a plain reason for one incompatibility Avro's checker reported at ``location``.

    Args:
        reader: the schema that reads.
        writer: the schema the data was written with.
        location: one of the checker's locations.
        reader_is_new: whether the reader is the new schema (BACKWARD) or an earlier one (FORWARD).
    """
    spot = _locate(reader, writer, location)
    path = ".".join(spot.path) or (reader.fullname if isinstance(reader, NamedSchema) else "<root>")
    new_role, old_role = "the new schema", "the earlier version"
    reader_role, writer_role = (new_role, old_role) if reader_is_new else (old_role, new_role)
    field_name = spot.path[-1] if spot.path else path
    if spot.tail == "missing-field":
        reason = (
            f"{reader_role} requires field {field_name} with no default, and data written with {writer_role} "
            'has no such field; give it a default (an optional field is ["null", T] with default null)'
        )
        renamed = _unmatched_writer_fields(reader, writer, spot.path) if reader_is_new else []
        if renamed:
            reason += (
                f"; if it was renamed from {' or '.join(renamed)}, keep that name: an alias would satisfy Avro, "
                "but the lake would read earlier rows as null"
            )
        return path, reason
    if spot.tail == "symbols" and isinstance(spot.reader, EnumSchema) and isinstance(spot.writer, EnumSchema):
        missing = sorted(set(spot.writer.symbols) - set(spot.reader.symbols))
        return path, (
            f"enum {spot.reader.name} of {reader_role} lacks symbol(s) {', '.join(missing)} that {writer_role} "
            "can write, and it has no default symbol; keep the symbols, or give the enum a default"
        )
    if spot.tail == "name" and isinstance(spot.reader, NamedSchema) and isinstance(spot.writer, NamedSchema):
        return path, (
            f"named type {spot.writer.fullname} of {writer_role} is called {spot.reader.fullname} in {reader_role}; "
            f'add "aliases": ["{spot.writer.fullname}"] to the type'
        )
    if spot.tail == "size" and isinstance(spot.reader, FixedSchema) and isinstance(spot.writer, FixedSchema):
        return (
            path,
            f"fixed {spot.reader.name} has size {spot.reader.size} in {reader_role}, "
            f"{spot.writer.size} in {writer_role}",
        )
    if spot.tail == "union-branch" and isinstance(spot.writer, UnionSchema):
        branch = describe(spot.writer.schemas[spot.branch]) if spot.branch < len(spot.writer.schemas) else "?"
        return path, f"the union of {reader_role} has no branch for {branch}, which {writer_role} can write"
    new, old = (spot.reader, spot.writer) if reader_is_new else (spot.writer, spot.reader)
    return path, (
        f"type changed from {describe(old)} to {describe(new)}, which is not an Avro promotion: "
        f"{reader_role} cannot read {describe(spot.writer)} written with {writer_role}; add a new field instead"
    )
