"""What applying the generated catalog would change: a pure diff of wanted against live Glue tables.

Only what the generator owns is compared (columns, partition keys, storage, location, its own
parameters), so a parameter someone else set on a table (a tag, a Lake Formation flag) is neither
reported as drift nor dropped by an update.

A column whose field was removed from the schema is never dropped: Parquet files written before still
hold it, and Athena reads Parquet columns by name, so the column stays in the table, its comment
starting with :data:`DEPRECATED` (:func:`keep_removed_columns`). Old rows keep their values; rows
written after the removal read NULL. Should the field come back, the schema's comment replaces the mark.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.lake import PARTITION_COLUMN

__all__ = ["DEPRECATED", "Change", "describe", "diff_table", "keep_removed_columns", "merged_input", "owned_parameter"]

DEPRECATED = "DEPRECATED (removed from the schema; rows written before keep their values, later rows are NULL)."
_COMMENT_MAX = 255  # Glue refuses longer column comments

_OWNED_PREFIXES = ("telemetry.", "projection.")
_OWNED_KEYS = frozenset({"classification", "EXTERNAL", "storage.location.template"})


@dataclass(frozen=True)
class Change:
    """One thing to do to the catalog.

    Attributes:
        action: ``create database``, ``create table`` or ``update table``.
        name: the database or table name.
        details: what differs, one human-readable line each (empty for creations).
        payload: the ``DatabaseInput`` or ``TableInput`` to send.
    """

    action: str
    name: str
    details: tuple[str, ...] = ()
    payload: Mapping[str, Any] = field(default_factory=dict)


def owned_parameter(key: str) -> bool:
    """Whether a table parameter is written by the generator (and so compared and replaced)."""
    return key in _OWNED_KEYS or key.startswith(_OWNED_PREFIXES)


def _columns(columns: list[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    return [(str(c["Name"]), str(c.get("Type", "")), str(c.get("Comment", ""))) for c in columns]


def _column_changes(wanted: list[Mapping[str, Any]], live: list[Mapping[str, Any]]) -> list[str]:
    want, have = _columns(wanted), _columns(live)
    have_by_name = {name: (kind, comment) for name, kind, comment in have}
    want_names = {name for name, _, _ in want}
    changes = []
    for name, kind, comment in want:
        if name not in have_by_name:
            changes.append(f"add column {name} {kind}")
        elif have_by_name[name][0] != kind:
            changes.append(f"change column {name}: {have_by_name[name][0]} -> {kind}")
        elif comment.startswith(DEPRECATED) and not have_by_name[name][1].startswith(DEPRECATED):
            changes.append(
                f"deprecate column {name} {kind} (removed from the schema; kept so older rows stay queryable)"
            )
        elif have_by_name[name][1] != comment:
            changes.append(f"change comment of column {name}")
    changes += [f"drop column {name} {kind}" for name, kind, _ in have if name not in want_names]
    if not changes and [c[0] for c in want] != [c[0] for c in have]:
        changes.append("reorder columns as the schema declares them")
    return changes


def keep_removed_columns(wanted: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """The wanted ``TableInput`` plus every live column the schema no longer has, marked deprecated, at the end."""
    columns = list(wanted["StorageDescriptor"]["Columns"])
    known = {str(c["Name"]).lower() for c in columns}
    known |= {str(k["Name"]).lower() for k in wanted.get("PartitionKeys", [])}
    for column in live.get("StorageDescriptor", {}).get("Columns", []):
        if str(column["Name"]).lower() in known:
            continue
        comment = str(column.get("Comment", ""))
        if not comment.startswith(DEPRECATED):
            comment = f"{DEPRECATED} {comment}".strip()
        if len(comment) > _COMMENT_MAX:
            comment = comment[: _COMMENT_MAX - 1] + "…"
        columns.append({"Name": column["Name"], "Type": column.get("Type", ""), "Comment": comment})
    return {**wanted, "StorageDescriptor": {**wanted["StorageDescriptor"], "Columns": columns}}


def _storage(descriptor: Mapping[str, Any]) -> dict[str, Any]:
    serde = descriptor.get("SerdeInfo", {})
    return {
        "location": descriptor.get("Location", ""),
        "input format": descriptor.get("InputFormat", ""),
        "output format": descriptor.get("OutputFormat", ""),
        "serde": serde.get("SerializationLibrary", ""),
        "serde parameters": dict(serde.get("Parameters", {})),
        "compressed": bool(descriptor.get("Compressed", False)),
    }


def diff_table(wanted: Mapping[str, Any], live: Mapping[str, Any]) -> tuple[str, ...]:
    """What differs between a wanted ``TableInput`` and a live table (``GetTable``'s ``Table``)."""
    want_sd, live_sd = wanted["StorageDescriptor"], live.get("StorageDescriptor", {})
    details = _column_changes(want_sd["Columns"], live_sd.get("Columns", []))
    want_storage, live_storage = _storage(want_sd), _storage(live_sd)
    details += [
        f"{key}: {live_storage[key]!r} -> {value!r}"
        for key, value in want_storage.items()
        if live_storage[key] != value
    ]
    if _columns(wanted["PartitionKeys"]) != _columns(live.get("PartitionKeys", [])):
        details.append(f"partition keys -> {', '.join(k['Name'] + ' ' + k['Type'] for k in wanted['PartitionKeys'])}")
    for key in ("TableType", "Description"):
        if wanted.get(key, "") != live.get(key, ""):
            details.append(f"{key.lower()}: {live.get(key, '')!r} -> {wanted.get(key, '')!r}")
    want_params, live_params = wanted["Parameters"], live.get("Parameters", {})
    for key, value in want_params.items():
        if live_params.get(key) != value:
            details.append(f"parameter {key}: {live_params.get(key)!r} -> {value!r}")
    details += [
        f"remove stale parameter {key}" for key in live_params if owned_parameter(key) and key not in want_params
    ]
    return tuple(details)


def merged_input(wanted: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """The ``TableInput`` for ``UpdateTable``: the wanted one, keeping parameters the generator does not own."""
    kept = {k: v for k, v in live.get("Parameters", {}).items() if not owned_parameter(k)}
    return {**wanted, "Parameters": {**kept, **wanted["Parameters"]}}


def describe(change: Change, database: str) -> list[str]:
    """Human-readable lines for one change, as ``plan`` and ``apply`` print them."""
    if change.action == "create database":
        return [f"+ create database {change.name}"]
    target = f"{database}.{change.name}"
    if change.action == "create table":
        columns = change.payload.get("StorageDescriptor", {}).get("Columns", [])
        return [f"+ create table {target} ({len(columns)} columns, partitioned by {PARTITION_COLUMN})"]
    return [f"~ update table {target}", *(f"    {line}" for line in change.details)]
