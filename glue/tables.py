"""Glue table definitions generated from the schemas: one table per entity, one per entity's quarantine.

Pure: everything here is computed from the lake's tables (:mod:`core.tables`) and
:class:`~glue.settings.GlueSettings`; boto3 is only in :mod:`glue.apply`. Columns are the schema's fields
followed by :data:`core.lake.METADATA_FIELDS`, exactly as the streaming job writes them; the table is partitioned
by :data:`core.lake.PARTITION_COLUMN` and uses Athena partition projection, so neither a crawler nor
``MSCK REPAIR TABLE`` is ever needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fastavro.schema import fingerprint, to_parsing_canonical_form

from core.catalog import Catalog, Stream
from core.data_rules import DataRule, rules_of
from core.lake import PARTITION_COLUMN, projection_range
from core.lake_types import Column
from core.tables import QUARANTINE_RECORD, LakeTable, entity_lake_table, quarantine_lake_table
from glue.glue_types import glue_type
from glue.settings import GlueSettings, storage_uri

__all__ = [
    "INPUT_FORMAT",
    "OUTPUT_FORMAT",
    "PARTITION_COMMENT",
    "SERDE",
    "TableDefinition",
    "database_input",
    "entity_table",
    "glue_columns",
    "quarantine_table",
    "schema_fingerprint",
    "table_definitions",
    "table_input",
]

SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARTITION_COMMENT = "Event date in UTC, YYYY-MM-DD (partition; projected by Athena, no crawler needed)."
QUARANTINE_PARTITION_COMMENT = "Date the record was quarantined, UTC, YYYY-MM-DD (partition)."
UNREGISTERED = "unregistered"
_COMMENT_MAX = 255  # Glue refuses longer column comments
_DESCRIPTION_MAX = 2048  # ... and longer table descriptions


@dataclass(frozen=True)
class TableDefinition:
    """One Glue table: its columns, where its files are, and what it was generated from.

    ``location`` is the catalog's URI (``s3://...`` or ``file://...``); ``path`` is the folder under the lake.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    location: str
    path: str
    partition_comment: str
    parameters: Mapping[str, str] = field(default_factory=dict)


def schema_fingerprint(schema: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the schema's Avro Parsing Canonical Form (docs and defaults excluded)."""
    return "sha256:" + fingerprint(to_parsing_canonical_form(dict(schema)), "SHA-256")


def glue_columns(stream: Stream) -> list[dict[str, str]]:
    """The Glue columns (``Name``, ``Type``, ``Comment``) of an entity's table, partition column excluded.

    This is what the streaming job writes into each Parquet file, in order: the contract test
    compares it with the files' schema.
    """
    return [_glue_column(c) for c in entity_lake_table(stream).columns]


def _glue_column(column: Column) -> dict[str, str]:
    comment = column.doc if len(column.doc) <= _COMMENT_MAX else column.doc[: _COMMENT_MAX - 1] + "…"
    return {"Name": column.name, "Type": glue_type(column.type), "Comment": comment}


def _projection(location: str, start: str) -> dict[str, str]:
    return {
        "projection.enabled": "true",
        f"projection.{PARTITION_COLUMN}.type": "date",
        f"projection.{PARTITION_COLUMN}.format": "yyyy-MM-dd",
        f"projection.{PARTITION_COLUMN}.range": projection_range(start),
        f"projection.{PARTITION_COLUMN}.interval": "1",
        f"projection.{PARTITION_COLUMN}.interval.unit": "DAYS",
        "storage.location.template": f"{location}{PARTITION_COLUMN}=${{{PARTITION_COLUMN}}}/",
    }


def _definition(table: LakeTable, location: str, comment: str, parameters: dict[str, str]) -> TableDefinition:
    return TableDefinition(
        name=table.name,
        description=table.description,
        columns=table.columns,
        location=location,
        path=table.path,
        partition_comment=comment,
        parameters=parameters,
    )


def entity_table(stream: Stream, settings: GlueSettings, version: int | None) -> TableDefinition:
    """The table of one entity, at ``<lake>/<entity>/``.

    Args:
        stream: the entity's stream (schema, subject).
        settings: lake location, projection start.
        version: the registry version of the schema, or None when it was not looked up.
    """
    table = entity_lake_table(stream)
    location = storage_uri(settings.lake, table.path)
    rules = rules_of(stream.schema, what=stream.schema_path.name)
    parameters = {
        **_projection(location, settings.projection_start),
        "telemetry.subject": stream.subject,
        "telemetry.schema_name": stream.model.fullname,
        "telemetry.schema_version": str(version) if version is not None else UNREGISTERED,
        "telemetry.schema_fingerprint": schema_fingerprint(stream.schema),
        **_rule_parameters(rules),
    }
    described = replace(table, description=_with_rules(table.description, stream.name, rules))
    return _definition(described, location, PARTITION_COMMENT, parameters)


def _rule_parameters(rules: tuple[DataRule, ...]) -> dict[str, str]:
    """``telemetry.rules`` (the names) and, per rule, ``telemetry.rule.<name>``: expression, action and doc."""
    out = {"telemetry.rules": ", ".join(r.name for r in rules)} if rules else {}
    for rule in rules:
        out[f"telemetry.rule.{rule.name}"] = f"{rule.expr} | on failure: {rule.on_failure} | {rule.doc}"
    return out


def _with_rules(description: str, entity: str, rules: tuple[DataRule, ...]) -> str:
    """The table's description followed by its rules' names (their text is in the parameters)."""
    if not rules:
        return description
    text = (
        f"{description} Data rules: {', '.join(r.name for r in rules)} (telemetry.rule.* parameters; "
        f"a record that breaks one is in {entity}_quarantine with reason rule-violation: <rule>)."
    )
    return text if len(text) <= _DESCRIPTION_MAX else text[: _DESCRIPTION_MAX - 1] + "…"


def quarantine_table(stream: Stream, settings: GlueSettings) -> TableDefinition:
    """The quarantine of one entity, ``<entity>_quarantine`` at ``<lake>/_quarantine/<entity>/``."""
    table = quarantine_lake_table(stream)
    location = storage_uri(settings.lake, table.path)
    parameters = {
        **_projection(location, settings.projection_start),
        "telemetry.subject": stream.subject,
        "telemetry.schema_fingerprint": schema_fingerprint(QUARANTINE_RECORD),
    }
    return _definition(table, location, QUARANTINE_PARTITION_COMMENT, parameters)


def table_definitions(
    catalog: Catalog, settings: GlueSettings, versions: Mapping[str, int] | None = None
) -> list[TableDefinition]:
    """Every table: each entity's, then each entity's quarantine, in catalog order.

    Args:
        catalog: the schema catalog.
        settings: lake location, projection start.
        versions: registry version per subject (as declared in streams.toml), when looked up.
    """
    versions = versions or {}
    tables = [entity_table(s, settings, versions.get(s.subject)) for s in catalog.streams]
    tables += [quarantine_table(s, settings) for s in catalog.streams]
    return tables


def database_input(settings: GlueSettings) -> dict[str, Any]:
    """The Glue ``DatabaseInput`` of the catalog's database."""
    return {
        "Name": settings.database,
        "Description": "Vehicle telemetry lake; tables generated from the Avro schemas (do not edit by hand).",
    }


def table_input(table: TableDefinition) -> dict[str, Any]:
    """The Glue ``TableInput`` of a table (for ``CreateTable`` / ``UpdateTable``)."""
    return {
        "Name": table.name,
        "Description": table.description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE", **table.parameters},
        "PartitionKeys": [{"Name": PARTITION_COLUMN, "Type": "string", "Comment": table.partition_comment}],
        "StorageDescriptor": {
            "Columns": [_glue_column(c) for c in table.columns],
            "Location": table.location,
            "InputFormat": INPUT_FORMAT,
            "OutputFormat": OUTPUT_FORMAT,
            "Compressed": False,
            "StoredAsSubDirectories": False,
            "SerdeInfo": {"SerializationLibrary": SERDE, "Parameters": {"serialization.format": "1"}},
        },
    }
