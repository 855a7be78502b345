"""The lake's tables, as the schemas define them: one per entity and one per entity's quarantine.

Engine-neutral: a table's name, its folder under the lake and its typed columns (the schema's fields
followed by :data:`core.lake.METADATA_FIELDS`, exactly as the streaming job writes them). The Glue
catalog (:mod:`glue.tables`), the DuckDB views (:mod:`lakesql.views`) and the dashboards all build on
these, so none of them spells out a column of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.avro_lake import record_columns
from core.catalog import Catalog, Stream
from core.errors import CatalogError
from core.lake import METADATA_FIELDS, PARTITION_COLUMN, QUARANTINE_DIR, QUARANTINE_FIELDS
from core.lake_types import Column

__all__ = ["QUARANTINE_RECORD", "LakeTable", "entity_lake_table", "lake_tables", "quarantine_lake_table"]

QUARANTINE_RECORD: dict[str, Any] = {"type": "record", "name": "Quarantine", "fields": list(QUARANTINE_FIELDS)}
"""The quarantine's columns as an Avro record, so one type mapping serves them too."""


@dataclass(frozen=True)
class LakeTable:
    """One table of the lake.

    Attributes:
        name: the table name (``vehicle``, ``vehicle_quarantine``).
        path: its folder under the lake root (``vehicle``, ``_quarantine/vehicle``); files are in ``dt=*/``.
        description: what it holds (the schema's doc for an entity).
        columns: its columns in file order, the partition column ``dt`` excluded.
        stream: the entity's stream.
        quarantine: whether this is the entity's quarantine.
    """

    name: str
    path: str
    description: str
    columns: tuple[Column, ...]
    stream: Stream
    quarantine: bool = False

    def column(self, name: str) -> Column:
        """The column called ``name``; a clear error lists the table's columns otherwise."""
        for column in self.columns:
            if column.name == name:
                return column
        msg = f"table {self.name} has no column {name!r}; it has {', '.join(c.name for c in self.columns)}"
        raise CatalogError(msg)


def _columns(table: str, schema: Mapping[str, Any], extra: tuple[dict[str, Any], ...]) -> tuple[Column, ...]:
    try:
        columns = record_columns(schema, extra)
    except CatalogError as exc:
        msg = f"table {table}: {exc}"
        raise CatalogError(msg) from exc
    for column in columns:
        if column.name.lower() == PARTITION_COLUMN:
            msg = f"table {table}: field {column.name!r} clashes with the partition column {PARTITION_COLUMN!r}"
            raise CatalogError(msg)
    return tuple(columns)


def entity_lake_table(stream: Stream) -> LakeTable:
    """The table of one entity, at ``<lake>/<entity>/``."""
    return LakeTable(
        name=stream.name,
        path=stream.name,
        description=stream.model.doc,
        columns=_columns(stream.name, stream.schema, METADATA_FIELDS),
        stream=stream,
    )


def quarantine_lake_table(stream: Stream) -> LakeTable:
    """The quarantine of one entity, ``<entity>_quarantine`` at ``<lake>/_quarantine/<entity>/``."""
    name = f"{stream.name}_quarantine"
    return LakeTable(
        name=name,
        path=f"{QUARANTINE_DIR}/{stream.name}",
        description=(
            f"Records of {stream.topic} that could not be decoded or broke a data rule, "
            "with the reason and the raw bytes."
        ),
        columns=_columns(name, QUARANTINE_RECORD, ()),
        stream=stream,
        quarantine=True,
    )


def lake_tables(catalog: Catalog) -> list[LakeTable]:
    """Every table: each entity's, then each entity's quarantine, in catalog order."""
    return [*map(entity_lake_table, catalog.streams), *map(quarantine_lake_table, catalog.streams)]
