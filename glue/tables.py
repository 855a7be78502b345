"""The lake's Iceberg tables as the catalog declares them, generated from the schemas.

Pure: everything here is computed from the lake's tables (:mod:`core.tables`) and
:class:`~glue.settings.GlueSettings`; pyiceberg and boto3 calls are in :mod:`glue.apply`. Columns are the
schema's fields followed by :data:`core.lake.METADATA_FIELDS`, exactly as the streaming job writes them. Each
table is an Iceberg table (format v2, Parquet files) at ``<warehouse>/<database>/<table>``
(:meth:`core.iceberg.IcebergCatalog.table_location`), partitioned by the UTC day of its event time
(``days(event_time)``; a quarantine by ``days(ingested_at)``). The partitioning is hidden: there is no
partition column, and a filter on the timestamp prunes the files, in Athena, Redshift, Spark and DuckDB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fastavro.schema import fingerprint, to_parsing_canonical_form

from core.catalog import Catalog, Stream
from core.data_rules import DataRule, rules_of
from core.errors import CatalogError
from core.iceberg import IcebergCatalog
from core.iceberg_tables import ENTITY_PARTITION_SOURCE, QUARANTINE_PARTITION_SOURCE, TABLE_PROPERTIES
from core.lake import LakeLocation
from core.lake_types import Column, PrimitiveType
from core.tables import QUARANTINE_RECORD, LakeTable, entity_lake_table, quarantine_lake_table
from glue.glue_types import glue_type
from glue.settings import GlueSettings

__all__ = [
    "ENTITY_PARTITION_SOURCE",
    "OWNED_PREFIX",
    "QUARANTINE_PARTITION_SOURCE",
    "TABLE_PROPERTIES",
    "TableDefinition",
    "database_input",
    "entity_table",
    "glue_columns",
    "iceberg_catalog",
    "quarantine_table",
    "schema_fingerprint",
    "table_definitions",
    "table_input",
]

OWNED_PREFIX = "telemetry."
"""Provenance properties (subject, schema version, fingerprint, data rules) are ``telemetry.*``."""

UNREGISTERED = "unregistered"
_COMMENT_MAX = 255  # Glue refuses longer column comments
_DESCRIPTION_MAX = 2048  # ... and longer table descriptions


@dataclass(frozen=True)
class TableDefinition:
    """One Iceberg table: its columns, where it lives, how it is partitioned, and its properties.

    Attributes:
        name: the table name (``vehicle``, ``vehicle_quarantine``).
        description: what it holds, with its data rules' names (the rendered Glue description).
        columns: its columns in file order.
        location: ``<warehouse>/<database>/<table>``: ``s3://...`` or a ``file://`` URI, no trailing ``/``.
        partition_source: the timestamp column whose UTC day partitions the table.
        properties: the Iceberg table properties, ``telemetry.*`` provenance and ``comment`` included.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    location: str
    partition_source: str
    properties: Mapping[str, str] = field(default_factory=dict)


def iceberg_catalog(settings: GlueSettings) -> IcebergCatalog:
    """The Glue catalog of the lake and database in ``settings``."""
    return IcebergCatalog("glue", LakeLocation.parse(settings.lake), settings.database, None)


def schema_fingerprint(schema: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the schema's Avro Parsing Canonical Form (docs and defaults excluded)."""
    return "sha256:" + fingerprint(to_parsing_canonical_form(dict(schema)), "SHA-256")


def glue_columns(stream: Stream) -> list[dict[str, str]]:
    """The Glue columns (``Name``, ``Type``, ``Comment``) of an entity's table, as Glue shows an Iceberg table.

    This is what the streaming job writes into each Parquet file, in order: the contract test
    compares it with the files' schema.
    """
    return [_glue_column(c) for c in entity_lake_table(stream).columns]


def _glue_column(column: Column) -> dict[str, str]:
    return {"Name": column.name, "Type": glue_type(column.type), "Comment": _clip(column.doc, _COMMENT_MAX)}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _definition(table: LakeTable, settings: GlueSettings, source: str, provenance: dict[str, str]) -> TableDefinition:
    column = next((c for c in table.columns if c.name == source), None)
    if column is None or not (isinstance(column.type, PrimitiveType) and column.type.name.startswith("timestamp")):
        found = "no such column" if column is None else f"it is {glue_type(column.type)}"
        msg = f"table {table.name} is partitioned by days({source}), which must be a timestamp column; {found}"
        raise CatalogError(msg)
    description = _clip(table.description, _DESCRIPTION_MAX)
    properties = {**TABLE_PROPERTIES, "comment": description, **provenance}
    return TableDefinition(
        name=table.name,
        description=description,
        columns=table.columns,
        location=iceberg_catalog(settings).table_location(table.name),
        partition_source=source,
        properties=properties,
    )


def entity_table(stream: Stream, settings: GlueSettings, version: int | None) -> TableDefinition:
    """The table of one entity, partitioned by ``days(event_time)``.

    Args:
        stream: the entity's stream (schema, subject).
        settings: lake location and database.
        version: the registry version of the schema, or None when it was not looked up.
    """
    table = entity_lake_table(stream)
    rules = rules_of(stream.schema, what=stream.schema_path.name)
    provenance = {
        "telemetry.subject": stream.subject,
        "telemetry.schema_name": stream.model.fullname,
        "telemetry.schema_version": str(version) if version is not None else UNREGISTERED,
        "telemetry.schema_fingerprint": schema_fingerprint(stream.schema),
        **_rule_properties(rules),
    }
    described = replace(table, description=_with_rules(table.description, stream.name, rules))
    # the table's `comment` is the schema's doc alone, as the job sets it when it creates or evolves a table;
    # the rules are in their own properties
    provenance["comment"] = _clip(table.description, _DESCRIPTION_MAX)
    return _definition(described, settings, ENTITY_PARTITION_SOURCE, provenance)


def _rule_properties(rules: tuple[DataRule, ...]) -> dict[str, str]:
    """``telemetry.rules`` (the names) and, per rule, ``telemetry.rule.<name>``: expression, action and doc."""
    out = {"telemetry.rules": ", ".join(r.name for r in rules)} if rules else {}
    for rule in rules:
        out[f"telemetry.rule.{rule.name}"] = f"{rule.expr} | on failure: {rule.on_failure} | {rule.doc}"
    return out


def _with_rules(description: str, entity: str, rules: tuple[DataRule, ...]) -> str:
    """The table's description followed by its rules' names (their text is in the properties)."""
    if not rules:
        return description
    return (
        f"{description} Data rules: {', '.join(r.name for r in rules)} (telemetry.rule.* properties; "
        f"a record that breaks one is in {entity}_quarantine with reason rule-violation: <rule>)."
    )


def quarantine_table(stream: Stream, settings: GlueSettings) -> TableDefinition:
    """The quarantine of one entity, ``<entity>_quarantine``, partitioned by ``days(ingested_at)``."""
    provenance = {
        "telemetry.subject": stream.subject,
        "telemetry.schema_fingerprint": schema_fingerprint(QUARANTINE_RECORD),
    }
    return _definition(quarantine_lake_table(stream), settings, QUARANTINE_PARTITION_SOURCE, provenance)


def table_definitions(
    catalog: Catalog, settings: GlueSettings, versions: Mapping[str, int] | None = None
) -> list[TableDefinition]:
    """Every table: each entity's, then each entity's quarantine, in catalog order.

    Args:
        catalog: the schema catalog.
        settings: lake location and database.
        versions: registry version per subject (as declared in streams.toml), when looked up.
    """
    versions = versions or {}
    tables = [entity_table(s, settings, versions.get(s.subject)) for s in catalog.streams]
    tables += [quarantine_table(s, settings) for s in catalog.streams]
    return tables


def database_input(settings: GlueSettings) -> dict[str, Any]:
    """The Glue ``DatabaseInput``: its location is its tables' parent, so every Glue client puts them there.

    Iceberg's Glue catalog (Java and pyiceberg) puts a table at ``<database location>/<table>``, or at
    ``<warehouse>/<database>.db/<table>`` when the database has none; with this location its default is
    :meth:`core.iceberg.IcebergCatalog.table_location`, where the tables are created (location given).
    """
    catalog = iceberg_catalog(settings)
    return {
        "Name": settings.database,
        "Description": "Vehicle telemetry lake: Iceberg tables generated from the Avro schemas (do not edit by hand).",
        "LocationUri": f"{catalog.warehouse_uri()}/{catalog.namespace}",
    }


def table_input(table: TableDefinition) -> dict[str, Any]:
    """The Glue ``TableInput`` of an Iceberg table as Glue shows it once created (columns, properties).

    Iceberg's Glue catalog writes this shape at every commit (``table_type=ICEBERG``, the table properties as
    parameters, the columns with their comments); ``metadata_location`` is added by the commit itself.
    """
    return {
        "Name": table.name,
        "Description": table.description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"table_type": "ICEBERG", **table.properties},
        "StorageDescriptor": {"Columns": [_glue_column(c) for c in table.columns], "Location": table.location},
    }
