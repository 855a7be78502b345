"""The plan's diff of a wanted table against a live Iceberg table says exactly what an update would change."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadata, new_table_metadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER
from pyiceberg.types import IntegerType, LongType, NestedField, StringType

from core.catalog import load_catalog
from core.errors import CatalogError
from core.lake_types import PrimitiveType
from glue.existing import newest_metadata, same_location
from glue.iceberg import iceberg_schema, partition_spec
from glue.plan import DEPRECATED, Change, deprecated_doc, describe, diff_table
from glue.settings import GlueSettings
from glue.tables import TableDefinition, entity_table

SETTINGS = GlueSettings(lake="s3://acme-lake/lake")


def wanted() -> TableDefinition:
    return entity_table(load_catalog().get("gps"), SETTINGS, version=1)


def live_of(
    table: TableDefinition,
    schema: Schema | None = None,
    spec: PartitionSpec | None = None,
    properties: dict[str, Any] | None = None,
) -> TableMetadata:
    """The metadata of a table created from ``table`` (or with the given schema, spec, properties)."""
    schema = schema or iceberg_schema(table.columns)
    return new_table_metadata(
        schema,
        spec if spec is not None else partition_spec(table, schema),
        UNSORTED_SORT_ORDER,
        table.location,
        dict(table.properties) if properties is None else properties,
    )


def with_fields(schema: Schema, drop: tuple[str, ...] = (), change: dict[str, Any] | None = None) -> Schema:
    change = change or {}
    fields = [replace_field(f, change[f.name]) if f.name in change else f for f in schema.fields if f.name not in drop]
    return Schema(*fields)


def replace_field(field: NestedField, field_type: Any) -> NestedField:
    return NestedField(field.field_id, field.name, field_type, required=field.required, doc=field.doc)


def test_an_identical_table_has_no_changes() -> None:
    assert diff_table(wanted(), live_of(wanted())) == ()


def test_added_changed_and_removed_columns_are_named() -> None:
    want = wanted()
    schema = with_fields(iceberg_schema(want.columns), drop=("altitude_m",), change={"satellites": LongType()})
    legacy = NestedField(999, "legacy", StringType(), required=False, doc="Old field.")
    live = live_of(want, Schema(*schema.fields, legacy))
    assert diff_table(want, live) == (
        "change column satellites: long -> int",
        "add column altitude_m double",
        "deprecate column legacy string (removed from the schema; kept so older rows stay queryable)",
    )


def test_a_widening_iceberg_allows_is_a_promotion() -> None:
    want = wanted()
    columns = tuple(replace(c, type=PrimitiveType("long")) if c.name == "satellites" else c for c in want.columns)
    promoted = replace(want, columns=columns)
    live = live_of(want)
    assert str(live.schema().find_field("satellites").field_type) == str(IntegerType())
    assert diff_table(promoted, live) == ("promote column satellites: int -> long",)


def test_property_drift_is_reported_foreign_properties_are_not_and_stale_owned_ones_go() -> None:
    want = wanted()
    properties = {
        **want.properties,
        "telemetry.schema_version": "0",
        "write.target-file-size-bytes": "1",
        "owner_team": "mobility",
        "telemetry.obsolete": "x",
    }
    assert diff_table(want, live_of(want, properties=properties)) == (
        "property write.target-file-size-bytes: '1' -> '134217728'",
        "property telemetry.schema_version: '0' -> '1'",
        "remove stale property telemetry.obsolete",
    )


def test_a_table_without_the_day_partitioning_is_repartitioned() -> None:
    want = wanted()
    assert diff_table(want, live_of(want, spec=UNPARTITIONED_PARTITION_SPEC)) == (
        "partition spec: unpartitioned -> day(event_time)",
    )


def test_describe_lines() -> None:
    assert describe(Change("create database", "smartcity"), "smartcity") == ["+ create database smartcity"]
    created = describe(Change("create table", "gps", table=wanted()), "smartcity")
    assert created == ["+ create table smartcity.gps (15 columns, partitioned by day(event_time))"]
    updated = describe(Change("update table", "gps", ("add column x int",)), "smartcity")
    assert updated == ["~ update table smartcity.gps", "    add column x int"]


def test_a_deprecated_column_is_no_change_and_a_returning_field_drops_the_mark() -> None:
    want = wanted()
    legacy = NestedField(999, "legacy", StringType(), required=False, doc=deprecated_doc("Old field."))
    live = live_of(want, Schema(*iceberg_schema(want.columns).fields, legacy))
    assert diff_table(want, live) == ()
    assert deprecated_doc("Old field.") == f"{DEPRECATED} Old field."
    assert len(deprecated_doc("x" * 300)) == 255
    fields = [
        NestedField(f.field_id, f.name, f.field_type, required=False, doc=deprecated_doc(f.doc))
        if f.name == "altitude_m"
        else f
        for f in iceberg_schema(want.columns).fields
    ]
    assert diff_table(want, live_of(want, Schema(*fields))) == ("change comment of column altitude_m",)


def test_a_required_column_becomes_optional() -> None:
    want = wanted()
    fields = [
        NestedField(f.field_id, f.name, f.field_type, required=f.name == "vehicle_id", doc=f.doc)
        for f in iceberg_schema(want.columns).fields
    ]
    assert diff_table(want, live_of(want, Schema(*fields))) == ("make column vehicle_id optional",)


def test_the_newest_metadata_at_a_location_is_found_and_a_fork_is_refused(tmp_path: Path) -> None:
    location = (tmp_path / "weather").as_uri()
    assert newest_metadata(location) is None  # no folder: nothing to register
    folder = tmp_path / "weather" / "metadata"
    folder.mkdir(parents=True)
    for name in ("00000-1f0e.metadata.json", "00002-a1b2-c3.metadata.json", "00001-77.metadata.json", "snap-1.avro"):
        (folder / name).write_text("{}")
    assert newest_metadata(location) == f"{location}/metadata/00002-a1b2-c3.metadata.json"
    (folder / "00002-d4e5.metadata.json").write_text("{}")
    with pytest.raises(CatalogError, match=r"holds 2 metadata files of version 2 .* two catalogs committed to one"):
        newest_metadata(location)
    hadoop = tmp_path / "hadoop" / "metadata"
    hadoop.mkdir(parents=True)
    for name in ("v1.metadata.json", "v10.metadata.json", "v9.metadata.json", "version-hint.text"):
        (hadoop / name).write_text("{}")
    assert (
        newest_metadata((tmp_path / "hadoop").as_uri())
        == f"{(tmp_path / 'hadoop').as_uri()}/metadata/v10.metadata.json"
    )


def test_locations_are_compared_as_places_not_strings() -> None:
    assert same_location("file:/lake/smartcity/gps", "file:///lake/smartcity/gps/")
    assert same_location("s3a://acme/lake/smartcity/gps", "s3://acme/lake/smartcity/gps")
    assert not same_location("s3://acme/lake/smartcity/gps", "s3://acme/lake/smartcity.db/gps")
