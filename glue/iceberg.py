"""A table's Iceberg definition from its lake columns: schema, partition spec, and Glue's JSON of them.

Pure: pyiceberg's model objects only, no catalog calls (those are in :mod:`glue.apply`). Every column is
optional, nested fields too: Iceberg refuses a write that lacks a required column, and a field removed from a
schema later must leave a column that newer rows leave NULL (see :mod:`glue.plan`). Field ids are assigned in
column order here; the catalog assigns the table's own ids when it creates it, so columns are matched by name.

Types are Iceberg's: ``timestamptz`` for an instant (what Spark's ``TimestampType`` writes), ``timestamp``
for a local date-time, ``long`` for ``bigint``, ``list`` and ``map`` for arrays and maps.
"""

from __future__ import annotations

import json
from typing import Any

from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform

from core.iceberg_tables import PARTITION_FIELD_ID, day_spec, iceberg_type
from core.iceberg_tables import columns_schema as iceberg_schema
from glue.tables import TableDefinition

__all__ = [
    "PARTITION_FIELD_ID",
    "glue_iceberg_input",
    "iceberg_schema",
    "iceberg_type",
    "partition_fields",
    "partition_spec",
]


def partition_fields(table: TableDefinition) -> list[tuple[str, str]]:
    """The partition spec as ``(source column, transform)`` pairs: ``[("event_time", "day")]``."""
    return [(table.partition_source, str(DayTransform()))]


def partition_spec(table: TableDefinition, schema: Schema) -> PartitionSpec:
    """``days(<partition source>)`` on ``schema`` (the wanted schema, or the live table's)."""
    return day_spec(table.name, table.partition_source, schema)


def glue_iceberg_input(table: TableDefinition) -> dict[str, Any]:
    """Glue's ``OpenTableFormatInput`` that creates the table with its schema, partition spec and properties.

    For ``aws glue create-table --cli-input-json``; Glue then writes the table's first metadata file itself.
    """
    schema = iceberg_schema(table.columns)
    spec = json.loads(partition_spec(table, schema).model_dump_json(by_alias=True))
    return {
        "IcebergInput": {
            "MetadataOperation": "CREATE",
            "Version": "2",
            "CreateIcebergTableInput": {
                "Location": table.location,
                "Schema": {
                    "SchemaId": 0,
                    "Type": "struct",
                    "Fields": [
                        {
                            "Id": field.field_id,
                            "Name": field.name,
                            "Type": json.loads(field.field_type.model_dump_json(by_alias=True)),
                            "Required": field.required,
                            **({"Doc": field.doc} if field.doc else {}),
                        }
                        for field in schema.fields
                    ],
                },
                "PartitionSpec": {
                    "SpecId": 0,
                    "Fields": [
                        {
                            "SourceId": f["source-id"],
                            "Transform": f["transform"],
                            "Name": f["name"],
                            "FieldId": f["field-id"],
                        }
                        for f in spec["fields"]
                    ],
                },
                "Properties": dict(table.properties),
            },
        }
    }
