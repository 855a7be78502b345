"""The lake's Iceberg tables from the schemas: columns, partition spec and properties, created and evolved.

One table per entity and one per entity's quarantine (:mod:`core.tables`), each an Iceberg table of format
v2 with Parquet files, partitioned by the UTC day of its event time (``days(event_time)``; a quarantine by
``days(ingested_at)``, the only time a record that did not decode has), so a query that filters on that
time reads only the files of its days. The columns are the ones every other engine's column list is
derived from (:func:`core.tables.lake_tables`), with the fields' docs as column comments.

Every column is optional in Iceberg, whatever the Avro field says: Iceberg can only add optional columns to
an existing table, and a record's nullability is the schema registry's business (the job decodes with the
writer's schema and quarantines what does not fit). :func:`ensure_tables` is idempotent: it creates a
missing table and evolves an existing one to the schema (added columns, and the promotions Iceberg allows:
int to long, float to double, decimal widening); anything else (a narrowed or changed type) is refused
with a :class:`~core.errors.CatalogError` naming the table and column. Old snapshots keep their schema, so
time travel still reads them. Do not use this to drop columns: a field removed from a schema stays a column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

from pyiceberg.catalog import Catalog as PyIcebergCatalog
from pyiceberg.catalog import load_catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
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

from core import lake_types as lt
from core.errors import CatalogError
from core.iceberg import CATALOG_NAME, IcebergCatalog
from core.tables import LakeTable

__all__ = [
    "DEFAULT_RETENTION_HOURS",
    "ENTITY_PARTITION_SOURCE",
    "PARTITION_FIELD_ID",
    "QUARANTINE_PARTITION_SOURCE",
    "TABLE_PROPERTIES",
    "columns_schema",
    "day_spec",
    "ensure_tables",
    "iceberg_schema",
    "iceberg_type",
    "open_catalog",
    "partition_source",
    "partition_spec",
    "table_properties",
]

ENTITY_PARTITION_SOURCE = "event_time"
"""An entity's table is partitioned by ``days(event_time)``: queries filter on when things happened."""
QUARANTINE_PARTITION_SOURCE = "ingested_at"
"""A quarantine is partitioned by ``days(ingested_at)``: a bad record may have no readable event time."""
PARTITION_FIELD_ID = 1000
"""Iceberg numbers partition fields from 1000."""

DEFAULT_RETENTION_HOURS = 6
"""How long snapshots are kept for time travel (``TELEMETRY_SNAPSHOT_RETENTION_HOURS``, the job's maintenance)."""

TABLE_PROPERTIES: dict[str, str] = {
    "write.format.default": "parquet",
    "write.parquet.compression-codec": "zstd",
    # No dictionary pages: most columns are measurements and ids whose values are all distinct, and Parquet hashes
    # every value of a column's first page before it finds a dictionary does not pay; the few repeated strings
    # (make, model, status) compress as well with zstd. A fifth of the job's JVM time went to dictionaries, for
    # files of the same size (docs/benchmarks.md, "Streaming: where the time goes").
    "parquet.enable.dictionary": "false",
    "write.target-file-size-bytes": str(128 * 1024 * 1024),
    # The job, maintenance and `glue apply` commit to one table; a lost race retries on the new metadata.
    "commit.retry.num-retries": "20",
    "commit.retry.min-wait-ms": "100",
    "commit.retry.max-wait-ms": "10000",
    # Every commit writes a metadata file: keep the last 100, delete older ones at commit.
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "100",
    # What snapshot expiry keeps where no setting says otherwise (Athena's VACUUM reads these two): the job's
    # default retention, and at least one snapshot.
    "history.expire.max-snapshot-age-ms": str(DEFAULT_RETENTION_HOURS * 3600 * 1000),
    "history.expire.min-snapshots-to-keep": "1",
}
"""The Iceberg table properties every table gets (format version 2 is the table's, not a property)."""

_PRIMITIVES: dict[str, IcebergType] = {
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


def iceberg_type(kind: lt.LakeType, ids: Iterator[int]) -> IcebergType:
    """The Iceberg type of a lake type; nested fields, list elements and map entries take ids from ``ids``."""
    if isinstance(kind, lt.PrimitiveType):
        return _PRIMITIVES[kind.name]
    if isinstance(kind, lt.DecimalType):
        return DecimalType(kind.precision, kind.scale)
    if isinstance(kind, lt.StructType):
        return StructType(*_fields(kind.fields, ids))
    if isinstance(kind, lt.ArrayType):
        element_id = next(ids)
        return ListType(element_id, iceberg_type(kind.element, ids), element_required=False)
    key_id, value_id = next(ids), next(ids)
    return MapType(key_id, StringType(), value_id, iceberg_type(kind.value, ids), value_required=False)


def _fields(columns: tuple[lt.Column, ...], ids: Iterator[int]) -> list[NestedField]:
    field_ids = [next(ids) for _ in columns]  # a struct's own fields first, as Iceberg numbers them
    return [
        NestedField(field_id, column.name, iceberg_type(column.type, ids), required=False, doc=column.doc or None)
        for field_id, column in zip(field_ids, columns, strict=True)
    ]


def columns_schema(columns: tuple[lt.Column, ...]) -> Schema:
    """The Iceberg schema of columns: every field optional, the docs as field docs (ids in column order)."""
    return Schema(*_fields(columns, count(1)))


def iceberg_schema(table: LakeTable) -> Schema:
    """The table's Iceberg schema (the catalog assigns the table's own ids when it creates it)."""
    return columns_schema(table.columns)


def partition_source(table: LakeTable) -> str:
    """The column whose UTC day partitions the table: ``event_time``, or ``ingested_at`` for a quarantine."""
    return QUARANTINE_PARTITION_SOURCE if table.quarantine else ENTITY_PARTITION_SOURCE


def day_spec(table: str, source: str, schema: Schema) -> PartitionSpec:
    """``days(<source>)`` over ``schema`` (the wanted schema, or the live table's).

    Raises:
        CatalogError: the schema has no such column.
    """
    try:
        field = schema.find_field(source)
    except ValueError as exc:
        msg = f"table {table} has no column {source!r} to partition by"
        raise CatalogError(msg) from exc
    return PartitionSpec(PartitionField(field.field_id, PARTITION_FIELD_ID, DayTransform(), f"{source}_day"))


def partition_spec(table: LakeTable, schema: Schema) -> PartitionSpec:
    """``days(<partition_source>)`` over ``schema`` (the table's schema as the catalog numbered it)."""
    return day_spec(table.name, partition_source(table), schema)


def table_properties(table: LakeTable) -> dict[str, str]:
    """The table's properties: :data:`TABLE_PROPERTIES` and its description as ``comment``."""
    return {**TABLE_PROPERTIES, "comment": table.description}


def open_catalog(catalog: IcebergCatalog) -> PyIcebergCatalog:
    """The pyiceberg client of the lake's catalog (a local catalog's folder is created, private).

    Raises:
        CatalogError: the catalog cannot be opened.
    """
    if catalog.sqlite_path is not None:
        Path(catalog.sqlite_path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        return load_catalog(CATALOG_NAME, **catalog.pyiceberg_properties())
    except Exception as exc:  # pyiceberg raises several types (SQLAlchemy, boto3, its own)
        msg = f"cannot open the Iceberg catalog ({catalog.kind}): {exc}"
        raise CatalogError(msg) from exc


def _evolve(table: Table, wanted: LakeTable) -> bool:
    """Add the missing columns and apply allowed promotions; True when the schema changed."""
    before = table.schema()
    try:
        with table.update_schema() as update:
            update.union_by_name(iceberg_schema(wanted))
    except (ValueError, TypeError) as exc:  # pyiceberg's ValidationError is a ValueError
        msg = f"table {wanted.name}: the schema cannot evolve as the registered schema asks: {exc}"
        raise CatalogError(msg) from exc
    return table.refresh().schema() != before


def _set_properties(table: Table, wanted: dict[str, str]) -> None:
    current: dict[str, Any] = table.properties
    changed = {k: v for k, v in wanted.items() if current.get(k) != v}
    if changed:
        with table.transaction() as tx:
            tx.set_properties(changed)


def ensure_tables(catalog: IcebergCatalog, tables: Iterable[LakeTable]) -> list[str]:
    """Create the missing tables and evolve the others to the schemas; what was done, one line each.

    Idempotent: a second run with the same schemas changes nothing and returns an empty list.

    Raises:
        CatalogError: the catalog cannot be reached, or a table cannot evolve to its schema.
    """
    client = open_catalog(catalog)
    done: list[str] = []
    try:
        client.create_namespace_if_not_exists(catalog.namespace)
        for table in tables:
            identifier = catalog.table_id(table.name)
            try:
                existing = client.load_table(identifier)
            except NoSuchTableError:
                schema = iceberg_schema(table)
                client.create_table(
                    identifier,
                    schema=schema,
                    location=catalog.table_location(table.name),
                    partition_spec=partition_spec(table, schema),
                    properties={**table_properties(table), "format-version": "2"},
                )
                done.append(f"created {identifier}")
                continue
            if _evolve(existing, table):
                done.append(f"evolved {identifier}")
            _set_properties(existing, table_properties(table))
    except CatalogError:
        raise
    except Exception as exc:  # SQLAlchemy, boto3 and pyiceberg errors: one line with the table's catalog
        msg = f"the Iceberg catalog ({catalog.kind}) refused a change: {exc}"
        raise CatalogError(msg) from exc
    return done
