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
from collections.abc import Iterator
from itertools import count
from typing import Any

from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestampType,
    TimestamptzType,
)

from core.lake_types import ArrayType, Column, LakeType, PrimitiveType
from core.lake_types import DecimalType as LakeDecimal
from core.lake_types import MapType as LakeMap
from glue.tables import TableDefinition

__all__ = [
    "PARTITION_FIELD_ID",
    "glue_iceberg_input",
    "iceberg_schema",
    "iceberg_type",
    "partition_fields",
    "partition_spec",
]

PARTITION_FIELD_ID = 1000
"""Iceberg numbers partition fields from 1000."""

_PRIMITIVE: dict[str, IcebergType] = {
    "boolean": BooleanType(),
    "int": IntegerType(),
    "long": LongType(),
    "float": FloatType(),
    "double": DoubleType(),
    "string": StringType(),
    "binary": BinaryType(),
    "date": DateType(),
    "timestamp": TimestamptzType(),
    "timestamp_ntz": TimestampType(),
}


def iceberg_type(lake_type: LakeType, ids: Iterator[int]) -> IcebergType:
    """The Iceberg type of a lake type; nested fields, list elements and map entries take ids from ``ids``."""
    if isinstance(lake_type, PrimitiveType):
        return _PRIMITIVE[lake_type.name]
    if isinstance(lake_type, LakeDecimal):
        return DecimalType(lake_type.precision, lake_type.scale)
    if isinstance(lake_type, ArrayType):
        element_id = next(ids)
        return ListType(element_id, iceberg_type(lake_type.element, ids), element_required=False)
    if isinstance(lake_type, LakeMap):
        key_id, value_id = next(ids), next(ids)
        return MapType(key_id, StringType(), value_id, iceberg_type(lake_type.value, ids), value_required=False)
    return StructType(*_fields(lake_type.fields, ids))


def _fields(columns: tuple[Column, ...], ids: Iterator[int]) -> list[NestedField]:
    field_ids = [next(ids) for _ in columns]  # a struct's own fields first, as Iceberg numbers them
    return [
        NestedField(field_id, column.name, iceberg_type(column.type, ids), required=False, doc=column.doc or None)
        for field_id, column in zip(field_ids, columns, strict=True)
    ]


def iceberg_schema(columns: tuple[Column, ...]) -> Schema:
    """The Iceberg schema of a table's columns, every field optional, the docs as field docs."""
    return Schema(*_fields(columns, count(1)))


def partition_fields(table: TableDefinition) -> list[tuple[str, str]]:
    """The partition spec as ``(source column, transform)`` pairs: ``[("event_time", "day")]``."""
    return [(table.partition_source, str(DayTransform()))]


def partition_spec(table: TableDefinition, schema: Schema) -> PartitionSpec:
    """``days(<partition source>)`` on ``schema`` (the wanted schema, or the live table's)."""
    fields = [
        PartitionField(
            source_id=schema.find_field(source).field_id,
            field_id=PARTITION_FIELD_ID + index,
            transform=DayTransform(),
            name=f"{source}_{transform}",
        )
        for index, (source, transform) in enumerate(partition_fields(table))
    ]
    return PartitionSpec(*fields)


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
