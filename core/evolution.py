"""What a schema change does to the lake: the key fields, and type changes Avro allows but Iceberg cannot apply.

The lake's tables are Iceberg tables: a column's type can be promoted in place (int to long, float to double,
a decimal's precision widened at the same scale), and data files written before keep reading, in the new type,
in every engine. Those promotions are applied to the tables (:mod:`core.iceberg_tables`), not refused. Other
changes that Avro resolves (int or long to float or double, string and bytes, a logical type added or dropped,
a decimal's scale) Iceberg cannot make: files already in the table keep the old type. Governance refuses them
before they are registered (:mod:`governance.compat`); the streaming job refuses a latest schema that has them
anyway (registered by another tool), before it writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.avro_model import Array, AvroType, Map, Record, non_null

__all__ = ["KEY_FIELDS", "key_gaps", "key_reason", "lake_changes"]

KEY_FIELDS = ("id", "vehicle_id", "event_time")
"""Required top-level fields of every entity: its identity, its vehicle, and the time that partitions it."""

_PARQUET = {
    "int": "INT32 (Glue int)",
    "long": "INT64 (Glue bigint)",
    "float": "FLOAT (Glue float)",
    "double": "DOUBLE (Glue double)",
    "string": "BINARY/UTF8 (Glue string)",
    "bytes": "BINARY (Glue binary)",
}
# Avro promotions Iceberg cannot apply; int -> long and float -> double are Iceberg promotions, so not here.
_PROMOTIONS = frozenset(
    {
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    }
)


def key_gaps(record: Record) -> dict[str, str]:
    """Key fields that a top-level record lacks (``missing``) or lets be null (``optional``)."""
    gaps = {}
    for name in KEY_FIELDS:
        found = record.field(name)
        if found is None:
            gaps[name] = "missing"
        elif non_null(found.type)[1]:
            gaps[name] = "optional"
    return gaps


def key_reason(name: str, gap: str) -> str:
    """Why a key field may not be missing or optional, and what to do instead."""
    done = "removed" if gap == "missing" else "optional"
    return (
        f"{name} is {done}, but every record needs id, vehicle_id and event_time (the streaming job "
        "partitions each table by event_time's date; queries and dashboards key on id and vehicle_id); "
        "keep it a required field"
    )


def _lake_type(node: AvroType) -> AvroType:
    """The column's type: an optional ``["null", T]`` is stored as a nullable T."""
    return non_null(node)[0]


def _lake_walk(new: AvroType, old: AvroType, path: str, out: list[tuple[str, str]], seen: set[tuple[int, int]]) -> None:
    new, old = _lake_type(new), _lake_type(old)
    if isinstance(new, Record) and isinstance(old, Record):
        if (id(new), id(old)) in seen:
            return
        seen.add((id(new), id(old)))
        for fld in new.fields:
            match = next((m for m in map(old.field, (fld.name, *fld.aliases)) if m is not None), None)
            where = f"{path}.{fld.name}" if path else fld.name
            if match is not None and match.name != fld.name:
                out.append((where, _rename_reason(match.name, fld.name)))
            if match is not None:
                _lake_walk(fld.type, match.type, where, out, seen)
    elif isinstance(new, Array) and isinstance(old, Array):
        _lake_walk(new.items, old.items, f"{path}[]", out, seen)
    elif isinstance(new, Map) and isinstance(old, Map):
        _lake_walk(new.values, old.values, f"{path}{{}}", out, seen)
    elif (old.type, new.type) in _PROMOTIONS:
        out.append((path, _promotion_reason(old.type, new.type)))
    elif old.logical_type == new.logical_type == "decimal":
        reason = _decimal_reason(getattr(old, "props", {}), getattr(new, "props", {}))
        if reason:
            out.append((path, reason))
    elif old.type == new.type and old.logical_type != new.logical_type:
        before, after = old.logical_type or "none", new.logical_type or "none"
        out.append(
            (
                path,
                f"logical type changed from {before} to {after} on {new.type}; Avro ignores it but the "
                "lake column type changes (e.g. timestamp vs bigint) and old Parquet files keep the old one; "
                "add a new field instead",
            )
        )


def _rename_reason(old: str, new: str) -> str:
    return (
        f"renamed from {old} (an alias lets Avro readers follow), but Parquet files already in the lake "
        f"have a column {old}, and Glue/Athena match Parquet columns by name, so every earlier row reads "
        f"null for {new}; keep the name, or add {new} beside {old} and fill both for a while"
    )


def _promotion_reason(old: str, new: str) -> str:
    return (
        f"{old} -> {new} is a legal Avro promotion, but not one Iceberg can apply (it promotes int -> long and "
        f"float -> double only): data files already in the table keep {_PARQUET[old]} while new ones would write "
        f"{_PARQUET[new]}; add a new field with the new type instead (and deprecate the old one)"
    )


def _decimal_reason(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """Why a decimal's new precision or scale cannot be applied, or None when Iceberg widens it."""
    before = (int(old.get("precision", 0)), int(old.get("scale", 0)))
    after = (int(new.get("precision", 0)), int(new.get("scale", 0)))
    if after[1] != before[1]:
        return (
            f"decimal scale changed from {before[1]} to {after[1]}: Avro reads the stored digits with the reader's "
            "scale, so every earlier value would read scaled wrongly, and Iceberg keeps a decimal's scale; "
            "add a new field instead"
        )
    if after[0] < before[0]:
        return (
            f"decimal precision narrowed from {before[0]} to {after[0]}: values already in the table may not fit; "
            "Iceberg only widens a decimal's precision"
        )
    return None


def lake_changes(new: AvroType, old: AvroType) -> list[tuple[str, str]]:
    """(field path, why) for each type change between ``old`` and ``new`` that Avro resolves but the lake cannot."""
    found: list[tuple[str, str]] = []
    _lake_walk(new, old, "", found, set())
    return found
