"""Glue table definitions, Athena DDL and the rendered build folder, generated from the schemas."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from core.catalog import Catalog, load_catalog, project_root
from core.errors import CatalogError, ConfigError
from core.lake import METADATA_FIELDS, QUARANTINE_FIELDS
from glue.ddl import create_table_ddl
from glue.render import render
from glue.settings import GlueSettings, storage_uri
from glue.tables import (
    INPUT_FORMAT,
    OUTPUT_FORMAT,
    SERDE,
    entity_table,
    glue_columns,
    schema_fingerprint,
    table_definitions,
    table_input,
)

S3_SETTINGS = GlueSettings(lake="s3a://acme-lake/telemetry/lake", projection_start="2025-03-01")


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
    payload = table_input(entity_table(stream, S3_SETTINGS, version=3))
    descriptor = payload["StorageDescriptor"]
    assert payload["Name"] == "vehicle"
    assert payload["TableType"] == "EXTERNAL_TABLE"
    assert payload["PartitionKeys"][0]["Name"] == "dt"
    assert payload["PartitionKeys"][0]["Type"] == "string"
    assert descriptor["Location"] == "s3://acme-lake/telemetry/lake/vehicle/"
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == SERDE
    assert (descriptor["InputFormat"], descriptor["OutputFormat"]) == (INPUT_FORMAT, OUTPUT_FORMAT)
    assert descriptor["Columns"] == glue_columns(stream)
    assert [c["Name"] for c in descriptor["Columns"]] == [*stream.field_names, *(f["name"] for f in METADATA_FIELDS)]
    by_name = {c["Name"]: c for c in descriptor["Columns"]}
    assert by_name["location"]["Type"] == "struct<latitude:double,longitude:double>"
    assert by_name["event_time"]["Type"] == "timestamp"
    assert by_name["fuel_type"]["Type"] == "string"
    assert by_name["kafka_offset"]["Type"] == "bigint"
    assert by_name["speed_kmh"]["Comment"] == "Speed over ground in km/h."
    assert all(isinstance(v, str) for v in payload["Parameters"].values())


def test_the_job_and_the_catalog_read_one_projection_start(catalog: Catalog, tmp_path: Path) -> None:
    from streaming.settings import StreamingSettings

    env = {"TELEMETRY_PROJECTION_START": "2025-02-01", "TELEMETRY_HOME": str(tmp_path)}
    table = entity_table(catalog.get("gps"), GlueSettings.from_env(env), version=1)
    assert table_input(table)["Parameters"]["projection.dt.range"] == "2025-02-01,NOW+1DAYS"
    assert StreamingSettings.from_env(env).projection_start == "2025-02-01"  # the job's first day
    with pytest.raises(ConfigError, match="projection start must be a date"):
        StreamingSettings.from_env({**env, "TELEMETRY_PROJECTION_START": "last year"})


def test_partition_projection_and_provenance_parameters(catalog: Catalog) -> None:
    stream = catalog.get("weather")
    parameters = table_input(entity_table(stream, S3_SETTINGS, version=7))["Parameters"]
    assert parameters["classification"] == "parquet"
    assert parameters["EXTERNAL"] == "TRUE"
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.dt.type"] == "date"
    assert parameters["projection.dt.format"] == "yyyy-MM-dd"
    assert parameters["projection.dt.range"] == "2025-03-01,NOW+1DAYS"
    assert parameters["projection.dt.interval"] == "1"
    assert parameters["projection.dt.interval.unit"] == "DAYS"
    assert parameters["storage.location.template"] == "s3://acme-lake/telemetry/lake/weather/dt=${dt}/"
    assert parameters["telemetry.subject"] == "weather_data-value"
    assert parameters["telemetry.schema_version"] == "7"
    assert parameters["telemetry.schema_fingerprint"] == schema_fingerprint(stream.schema)
    assert parameters["telemetry.schema_fingerprint"].startswith("sha256:")


def test_quarantine_table_reads_the_quarantine_folder(catalog: Catalog) -> None:
    tables = {t.name: table_input(t) for t in table_definitions(catalog, S3_SETTINGS)}
    quarantine = tables["traffic_quarantine"]
    assert quarantine["StorageDescriptor"]["Location"] == "s3://acme-lake/telemetry/lake/_quarantine/traffic/"
    assert [c["Name"] for c in quarantine["StorageDescriptor"]["Columns"]] == [f["name"] for f in QUARANTINE_FIELDS]


def test_fingerprint_changes_when_the_schema_changes_and_only_then(catalog: Catalog, tmp_path: Path) -> None:
    evolved = evolved_catalog(tmp_path)
    assert schema_fingerprint(evolved.get("gps").schema) != schema_fingerprint(catalog.get("gps").schema)
    assert schema_fingerprint(evolved.get("vehicle").schema) == schema_fingerprint(catalog.get("vehicle").schema)
    columns = [c["Name"] for c in glue_columns(evolved.get("gps"))]
    assert columns.index("battery_pct") == len(evolved.get("gps").field_names) - 1  # before the metadata columns


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


def test_ddl_declares_columns_partition_storage_and_projection(catalog: Catalog) -> None:
    table = entity_table(catalog.get("emergency"), S3_SETTINGS, version=1)
    ddl = create_table_ddl("smartcity", table)
    assert ddl.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `smartcity`.`emergency` (\n")
    assert "`location`" in ddl and "struct<latitude:double,longitude:double>" in ddl
    assert "`incident_type` string COMMENT 'Incident type; UNKNOWN for a symbol this reader does not know.'" in (
        " ".join(ddl.split())
    )
    assert "PARTITIONED BY (`dt` string COMMENT" in ddl
    assert "STORED AS PARQUET\nLOCATION 's3://acme-lake/telemetry/lake/emergency/'\n" in ddl
    assert "'projection.dt.range'='2025-03-01,NOW+1DAYS'" in ddl
    assert "'storage.location.template'='s3://acme-lake/telemetry/lake/emergency/dt=${dt}/'" in ddl
    assert ddl.count("COMMENT") == len(table.columns) + 2  # every column, the table, the partition key


def test_ddl_escapes_quotes_in_docs(catalog: Catalog) -> None:
    ddl = create_table_ddl("smartcity", entity_table(catalog.get("gps"), S3_SETTINGS, version=1))
    assert "COMMENT 'A GPS fix from the vehicle\\'s receiver, with its accuracy. Data rules: " in ddl


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
    assert vehicle["Parameters"]["telemetry.schema_version"] == "2"
    gps = json.loads((tmp_path / "build/glue/tables/gps.json").read_text())
    assert gps["Parameters"]["telemetry.schema_version"] == "unregistered"
    assert not rendered.placeholder_lake
