"""Glue table definitions, Athena DDL and the rendered build folder, generated from the schemas."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pyiceberg.types import StructType

from core.catalog import Catalog, load_catalog, project_root
from core.errors import CatalogError, ConfigError
from core.iceberg import IcebergCatalog
from core.lake import METADATA_FIELDS, QUARANTINE_FIELDS, LakeLocation
from glue.ddl import athena_properties, create_table_ddl
from glue.iceberg import iceberg_schema, partition_fields, partition_spec
from glue.render import create_table_input, render
from glue.settings import GlueSettings, storage_uri
from glue.tables import (
    TABLE_PROPERTIES,
    database_input,
    entity_table,
    glue_columns,
    quarantine_table,
    schema_fingerprint,
    table_definitions,
    table_input,
)

S3_SETTINGS = GlueSettings(lake="s3a://acme-lake/telemetry/lake")


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog(project_root() / "schemas")


def evolved_catalog(tmp_path: Path, entity: str = "gps") -> Catalog:
    """A copy of the schemas where ``entity`` gained an optional field."""
    root = tmp_path / "schemas"
    shutil.copytree(project_root() / "schemas", root)
    path = root / f"{entity}.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "battery_pct", "type": ["null", "int"], "default": None, "doc": "Battery."})
    path.write_text(json.dumps(schema))
    return load_catalog(root)


def test_one_table_per_entity_and_one_per_quarantine(catalog: Catalog) -> None:
    names = [t.name for t in table_definitions(catalog, S3_SETTINGS)]
    assert names == [*catalog.names, *(f"{n}_quarantine" for n in catalog.names)]


def test_table_input_shape(catalog: Catalog) -> None:
    stream = catalog.get("vehicle")
    table = entity_table(stream, S3_SETTINGS, version=3)
    payload = table_input(table)
    descriptor = payload["StorageDescriptor"]
    assert payload["Name"] == "vehicle"
    assert payload["TableType"] == "EXTERNAL_TABLE"
    assert payload["Parameters"]["table_type"] == "ICEBERG"
    assert "PartitionKeys" not in payload, "hidden partitioning: Glue has no partition key"
    assert descriptor["Location"] == table.location == "s3://acme-lake/telemetry/lake/smartcity/vehicle"
    assert descriptor["Columns"] == glue_columns(stream)
    assert [c["Name"] for c in descriptor["Columns"]] == [*stream.field_names, *(f["name"] for f in METADATA_FIELDS)]
    by_name = {c["Name"]: c for c in descriptor["Columns"]}
    assert by_name["location"]["Type"] == "struct<latitude:double,longitude:double>"
    assert by_name["event_time"]["Type"] == "timestamp"
    assert by_name["fuel_type"]["Type"] == "string"
    assert by_name["kafka_offset"]["Type"] == "bigint"
    assert by_name["speed_kmh"]["Comment"] == "Speed over ground in km/h."
    assert all(isinstance(v, str) for v in payload["Parameters"].values())


def test_the_iceberg_schema_and_spec(catalog: Catalog) -> None:
    table = entity_table(catalog.get("vehicle"), S3_SETTINGS, version=3)
    schema = iceberg_schema(table.columns)
    assert [f.name for f in schema.fields] == [c.name for c in table.columns]
    assert all(not f.required for f in schema.fields), "every column optional: a removed field leaves NULLs"
    assert str(schema.find_field("event_time").field_type) == "timestamptz"  # what Spark's TimestampType writes
    assert str(schema.find_field("kafka_offset").field_type) == "long"
    assert schema.find_field("speed_kmh").doc == "Speed over ground in km/h."
    location = schema.find_field("location").field_type
    assert isinstance(location, StructType)
    assert [(f.name, str(f.field_type), f.required) for f in location.fields] == [
        ("latitude", "double", False),
        ("longitude", "double", False),
    ]
    ids = [f.field_id for f in schema.fields] + [f.field_id for f in location.fields]
    assert len(ids) == len(set(ids))
    (field,) = partition_spec(table, schema).fields
    assert (field.source_id, str(field.transform), field.name) == (
        schema.find_field("event_time").field_id,
        "day",
        "event_time_day",
    )
    quarantine = quarantine_table(catalog.get("vehicle"), S3_SETTINGS)
    assert partition_fields(quarantine) == [("ingested_at", "day")]


def test_iceberg_properties_and_provenance(catalog: Catalog) -> None:
    stream = catalog.get("weather")
    properties = entity_table(stream, S3_SETTINGS, version=7).properties
    assert {k: properties[k] for k in TABLE_PROPERTIES} == dict(TABLE_PROPERTIES)
    assert properties["write.format.default"] == "parquet"
    assert properties["telemetry.subject"] == "weather_data-value"
    assert properties["telemetry.schema_version"] == "7"
    assert properties["telemetry.schema_fingerprint"] == schema_fingerprint(stream.schema)
    assert properties["telemetry.schema_fingerprint"].startswith("sha256:")
    assert properties["comment"].startswith(stream.model.doc)
    assert not any(k.startswith("projection.") for k in properties), "no partition projection on Iceberg tables"


def test_glue_create_table_input_carries_the_iceberg_definition(catalog: Catalog) -> None:
    table = entity_table(catalog.get("vehicle"), S3_SETTINGS, version=3)
    document = create_table_input("smartcity", table)
    assert document["DatabaseName"] == "smartcity"
    iceberg = document["OpenTableFormatInput"]["IcebergInput"]
    assert (iceberg["MetadataOperation"], iceberg["Version"]) == ("CREATE", "2")
    created = iceberg["CreateIcebergTableInput"]
    assert created["Location"] == table.location
    fields = {f["Name"]: f for f in created["Schema"]["Fields"]}
    assert fields["event_time"]["Type"] == "timestamptz"
    assert fields["location"]["Type"]["type"] == "struct"
    assert fields["speed_kmh"]["Doc"] == "Speed over ground in km/h."
    assert created["PartitionSpec"]["Fields"] == [
        {"SourceId": fields["event_time"]["Id"], "Transform": "day", "Name": "event_time_day", "FieldId": 1000}
    ]
    assert created["Properties"] == dict(table.properties)


def test_quarantine_table_lives_beside_the_entities(catalog: Catalog) -> None:
    tables = {t.name: table_input(t) for t in table_definitions(catalog, S3_SETTINGS)}
    quarantine = tables["traffic_quarantine"]
    assert quarantine["StorageDescriptor"]["Location"] == "s3://acme-lake/telemetry/lake/smartcity/traffic_quarantine"
    assert [c["Name"] for c in quarantine["StorageDescriptor"]["Columns"]] == [f["name"] for f in QUARANTINE_FIELDS]


def test_table_locations_follow_the_catalog_and_the_database(catalog: Catalog, tmp_path: Path) -> None:
    local = GlueSettings(lake=str(tmp_path / "lake"), database="city_dev")
    table = entity_table(catalog.get("gps"), local, version=None)
    assert table.location == (tmp_path / "lake" / "city_dev" / "gps").as_uri()
    assert table.location == IcebergCatalog.from_env(
        LakeLocation.parse(str(tmp_path / "lake")), "city_dev", {}
    ).table_location("gps")
    assert database_input(local)["LocationUri"] == (tmp_path / "lake" / "city_dev").as_uri()


def test_fingerprint_changes_when_the_schema_changes_and_only_then(catalog: Catalog, tmp_path: Path) -> None:
    evolved = evolved_catalog(tmp_path)
    assert schema_fingerprint(evolved.get("gps").schema) != schema_fingerprint(catalog.get("gps").schema)
    assert schema_fingerprint(evolved.get("vehicle").schema) == schema_fingerprint(catalog.get("vehicle").schema)
    columns = [c["Name"] for c in glue_columns(evolved.get("gps"))]
    assert columns.index("battery_pct") == len(evolved.get("gps").field_names) - 1  # before the metadata columns


def test_a_partition_source_that_is_no_timestamp_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(project_root() / "schemas", root)
    path = root / "gps.avsc"
    schema = json.loads(path.read_text())
    for field in schema["fields"]:
        if field["name"] == "event_time":
            field["type"] = "string"
    path.write_text(json.dumps(schema))
    with pytest.raises(
        CatalogError, match=r"table gps is partitioned by days\(event_time\), which must be a timestamp"
    ):
        entity_table(load_catalog(root).get("gps"), S3_SETTINGS, version=None)


def test_a_field_named_like_the_partition_column_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(project_root() / "schemas", root)
    path = root / "gps.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "DT", "type": "string"})
    path.write_text(json.dumps(schema))
    with pytest.raises(CatalogError, match="table gps: field 'DT' clashes with the partition column 'dt'"):
        glue_columns(load_catalog(root).get("gps"))


def test_locations_use_s3_scheme_or_an_absolute_file_uri(tmp_path: Path) -> None:
    assert storage_uri("s3a://b/p/", "x") == "s3://b/p/x/"
    assert storage_uri("s3://b", "x") == "s3://b/x/"
    assert storage_uri(str(tmp_path / "lake"), "_quarantine", "x") == (tmp_path / "lake/_quarantine/x").as_uri() + "/"


@pytest.mark.parametrize("database", ["Smart-City", "1city", "x y"])
def test_bad_database_names_are_refused(database: str) -> None:
    with pytest.raises(ConfigError):
        GlueSettings.from_env({}, lake="lake", database=database)


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        "TELEMETRY_LAKE": "s3a://bucket/lake",
        "TELEMETRY_GLUE_DATABASE": "city_dev",
        "TELEMETRY_BUILD_DIR": str(tmp_path),
        "AWS_REGION": "eu-west-1",
    }
    settings = GlueSettings.from_env(env)
    assert (settings.lake, settings.database, settings.build_dir, settings.region) == (
        "s3a://bucket/lake",
        "city_dev",
        tmp_path,
        "eu-west-1",
    )
    assert GlueSettings.from_env(env, database="other").database == "other"
    assert GlueSettings.from_env({"TELEMETRY_LAKE": "/x", "AWS_CONFIG_FILE": os.devnull}).region is None


def test_ddl_declares_an_iceberg_table_with_hidden_partitioning(catalog: Catalog) -> None:
    table = entity_table(catalog.get("emergency"), S3_SETTINGS, version=1)
    ddl = create_table_ddl("smartcity", table)
    assert ddl.startswith("CREATE TABLE IF NOT EXISTS `smartcity`.`emergency` (\n")  # Athena refuses EXTERNAL here
    assert "`location`" in ddl and "struct<latitude:double,longitude:double>" in ddl
    assert "`incident_type` string COMMENT 'Incident type; UNKNOWN for a symbol this reader does not know.'" in (
        " ".join(ddl.split())
    )
    assert "PARTITIONED BY (day(`event_time`))\n" in ddl
    assert "LOCATION 's3://acme-lake/telemetry/lake/smartcity/emergency/'\n" in ddl
    assert "'table_type'='ICEBERG'" in ddl
    assert "'format'='parquet'" in ddl and "'write_compression'='zstd'" in ddl
    assert "'vacuum_max_snapshot_age_seconds'='21600'" in ddl  # history.expire.max-snapshot-age-ms in seconds
    assert "projection" not in ddl and "STORED AS" not in ddl
    assert ddl.count("COMMENT") == len(table.columns)
    assert (
        athena_properties(table)["vacuum_max_metadata_files_to_keep"]
        == TABLE_PROPERTIES["write.metadata.previous-versions-max"]
    )


def test_ddl_escapes_quotes_in_docs(catalog: Catalog) -> None:
    table = entity_table(catalog.get("gps"), S3_SETTINGS, version=1)
    quoted = replace(table, columns=(replace(table.columns[0], doc="The receiver's id."), *table.columns[1:]))
    assert "COMMENT 'The receiver\\'s id.'" in create_table_ddl("smartcity", quoted)


def test_render_writes_every_document_and_removes_stale_ones(catalog: Catalog, tmp_path: Path) -> None:
    settings = GlueSettings(lake="s3://acme-lake/lake", build_dir=tmp_path / "build", account_id="123456789012")
    stale = tmp_path / "build" / "glue" / "tables" / "removed_entity.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    rendered = render(catalog, settings, {"vehicle_data-value": 2})
    relative = {p.relative_to(tmp_path / "build").as_posix() for p in rendered.files}
    assert not stale.exists()
    assert {f"glue/tables/{n}.json" for n in rendered.tables} <= relative
    assert {f"athena/{n}.sql" for n in rendered.tables} <= relative
    assert {
        "glue/database.json",
        "athena/all.sql",
        "athena/workgroup.json",
        "iam/streaming-writer-policy.json",
        "iam/catalog-applier-policy.json",
        "iam/analyst-policy.json",
        "iam/bucket-policy-acme-lake.json",
        "iam/public-access-block.json",
    } <= relative
    vehicle = json.loads((tmp_path / "build/glue/tables/vehicle.json").read_text())
    assert vehicle["TableInput"]["Parameters"]["telemetry.schema_version"] == "2"
    assert (
        vehicle["OpenTableFormatInput"]["IcebergInput"]["CreateIcebergTableInput"]["Properties"][
            "telemetry.schema_version"
        ]
        == "2"
    )
    gps = json.loads((tmp_path / "build/glue/tables/gps.json").read_text())
    assert gps["TableInput"]["Parameters"]["telemetry.schema_version"] == "unregistered"
    assert not rendered.placeholder_lake
